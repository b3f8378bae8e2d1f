package models

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
)

// Every function here changes job states together with their JobEvent rows in one transaction,
// so a crash at any point leaves each job in a state it can recover from.

// PromoteScheduled moves Scheduled jobs whose RunAt has come to Enqueued, at most limit of them,
// and returns the queues that got jobs.
func (s jobStore) PromoteScheduled(ctx context.Context, now time.Time, limit int) (int, []string, error) {
	now = now.UTC().Truncate(time.Microsecond)
	query := s.sql.Promote
	var (
		n      int
		queues []string
	)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []struct {
			ID      int64
			Queue   string
			Kind    string
			Attempt int
		}
		if err := tx.Raw(query, now, limit).Scan(&rows).Error; err != nil {
			return fmt.Errorf("models: promote scheduled jobs: %w", err)
		}
		n, queues = len(rows), nil
		if n == 0 {
			return nil
		}
		events := make([]JobEvent, len(rows))
		for i, r := range rows {
			events[i] = JobEvent{JobID: r.ID, From: JobScheduled, To: JobEnqueued, At: now, Attempt: r.Attempt, Reason: "due"}
			if !slices.Contains(queues, r.Queue) {
				queues = append(queues, r.Queue)
			}
		}
		if err := tx.Create(&events).Error; err != nil {
			return fmt.Errorf("models: promote events: %w", err)
		}
		counts := countDelta{}
		for _, r := range rows {
			counts.move(r.Queue, r.Kind, JobScheduled, JobEnqueued, 1)
		}
		if err := s.notifyEnqueued(tx, queues...); err != nil {
			return err
		}
		return s.writeCounts(tx, counts)
	})
	return n, queues, err
}
