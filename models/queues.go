package models

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// QueueSetting is what a user set about a queue: whether workers take its jobs.
type QueueSetting struct {
	Name      string `gorm:"primaryKey"`
	Paused    bool
	UpdatedBy string
	UpdatedAt time.Time
}

// SetQueuePaused pauses or resumes a queue for every server, recording who did it.
func (s queueStore) SetQueuePaused(ctx context.Context, name string, paused bool, by string) error {
	if err := QueueName.Check(name); err != nil {
		return err
	}
	err := s.change(ctx, func(tx *gorm.DB) error {
		var was []bool
		if err := tx.Model(&QueueSetting{}).Where("name = ?", name).Pluck("paused", &was).Error; err != nil {
			return err
		}
		noteChange(ctx, "queue "+name, map[string]any{"paused": AuditChange{Before: len(was) > 0 && was[0], After: paused}})
		return tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "name"}},
			DoUpdates: clause.AssignmentColumns([]string{"paused", "updated_by", "updated_at"}),
		}).Create(&QueueSetting{Name: name, Paused: paused, UpdatedBy: by, UpdatedAt: time.Now().UTC()}).Error
	})
	if err != nil {
		return fmt.Errorf("models: set queue %s paused: %w", name, err)
	}
	return nil
}

// PausedQueues returns the names of the paused queues.
func (s queueStore) PausedQueues(ctx context.Context) (map[string]bool, error) {
	var names []string
	if err := s.rdb.WithContext(ctx).Model(&QueueSetting{}).Where("paused = ?", true).Pluck("name", &names).Error; err != nil {
		return nil, fmt.Errorf("models: paused queues: %w", err)
	}
	out := make(map[string]bool, len(names))
	for _, n := range names {
		out[n] = true
	}
	return out, nil
}

// QueueStat is one queue as the dashboard shows it.
type QueueStat struct {
	Name                                    string
	Enqueued, Scheduled, Processing, Failed int64
	// OldestEnqueued is the due time of the job that has waited longest, if any waits.
	OldestEnqueued *time.Time
	Paused         bool
	PausedBy       string
}

// QueueStats returns every queue that has jobs waiting, running or failed, or a setting, by name.
func (s queueStore) QueueStats(ctx context.Context) ([]QueueStat, error) {
	db := s.rdb.WithContext(ctx)
	counts, err := jobQueries{s.conn}.CountJobsByQueue(ctx)
	if err != nil {
		return nil, fmt.Errorf("models: queue stats: %w", err)
	}
	byName := map[string]*QueueStat{}
	get := func(name string) *QueueStat {
		if q, ok := byName[name]; ok {
			return q
		}
		q := &QueueStat{Name: name}
		byName[name] = q
		return q
	}
	for name, c := range counts {
		if c[JobEnqueued]+c[JobScheduled]+c[JobProcessing]+c[JobFailed] == 0 {
			continue
		}
		q := get(name)
		q.Enqueued, q.Scheduled, q.Processing, q.Failed = c[JobEnqueued], c[JobScheduled], c[JobProcessing], c[JobFailed]
	}
	var settings []QueueSetting
	if err := db.Find(&settings).Error; err != nil {
		return nil, fmt.Errorf("models: queue settings: %w", err)
	}
	for _, st := range settings {
		if st.Paused || byName[st.Name] != nil {
			q := get(st.Name)
			q.Paused = st.Paused
			if st.Paused {
				q.PausedBy = st.UpdatedBy
			}
		}
	}
	out := make([]QueueStat, 0, len(byName))
	for _, q := range byName {
		if q.Enqueued > 0 {
			var oldest Job
			// The literal state lets both databases use the partial index idx_jobs_waiting.
			err := db.Select("run_at").Where("state = 'enqueued' AND queue = ?", q.Name).Order("run_at").Take(&oldest).Error
			if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
				return nil, fmt.Errorf("models: oldest job of queue %s: %w", q.Name, err)
			}
			if err == nil {
				q.OldestEnqueued = &oldest.RunAt
			}
		}
		out = append(out, *q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
