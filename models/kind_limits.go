package models

import (
	"context"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/kilnhq/kiln/models/driver"
)

// KindLimit caps how many jobs of a kind run at once, across every node.
type KindLimit struct {
	Kind       string `gorm:"primaryKey;size:100"`
	MaxRunning int    `gorm:"not null"`
	UpdatedAt  time.Time
}

// limitsTTL is how long a store trusts its copy of the limits before reading them again: a
// limit set on another node holds here within that time (one set here, at once).
const limitsTTL = time.Second

type limitCache struct {
	mu     sync.Mutex
	at     time.Time
	limits map[string]int
}

// SetKindLimit caps the running jobs of kind at max across every node; 0 removes the cap.
func (s *Store) SetKindLimit(ctx context.Context, kind string, max int) error {
	if !ValidKindName(kind) || max < 0 {
		return Errorf(EINVALID, "A limit needs a kind and a number of jobs of at least 0, not %q and %d.", kind, max)
	}
	db := s.db.WithContext(ctx)
	var err error
	if max == 0 {
		err = db.Where("kind = ?", kind).Delete(&KindLimit{}).Error
	} else {
		err = db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "kind"}},
			DoUpdates: clause.AssignmentColumns([]string{"max_running", "updated_at"})}).
			Create(&KindLimit{Kind: kind, MaxRunning: max, UpdatedAt: time.Now().UTC()}).Error
	}
	if err != nil {
		return fmt.Errorf("models: limit of kind %q: %w", kind, err)
	}
	s.kindLimits.mu.Lock()
	s.kindLimits.at = time.Time{} // read again at the next claim
	s.kindLimits.mu.Unlock()
	return nil
}

// KindLimits returns every kind's cap on running jobs.
func (s *Store) KindLimits(ctx context.Context) (map[string]int, error) {
	var rows []KindLimit
	if err := s.rdb.WithContext(ctx).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("models: kind limits: %w", err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.Kind] = r.MaxRunning
	}
	return out, nil
}

// limits is KindLimits, read at most once per limitsTTL.
func (s *Store) limits(ctx context.Context) (map[string]int, error) {
	c := &s.kindLimits
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.limits != nil && time.Since(c.at) < limitsTTL {
		return c.limits, nil
	}
	l, err := s.KindLimits(ctx)
	if err != nil {
		return nil, err
	}
	c.limits, c.at = l, time.Now()
	return l, nil
}

// claimLimited is a claim while kinds have limits: in one transaction it locks the limits (so
// claims on every node take turns), counts the running jobs of limited kinds, and claims in
// the queue's order only as many of each limited kind as it has free slots. Jobs of other
// kinds, and of kinds with slots, are not held up by a full one.
func (s *Store) claimLimited(ctx context.Context, p ClaimParams, now time.Time) ([]*Job, error) {
	var jobs []*Job
	err := s.db.WithContext(ctx).Transaction(func(gtx *gorm.DB) error {
		jobs = nil
		_, tx := runToEnd(ctx, gtx)
		var limits []KindLimit
		if err := s.drv.LockRows(tx.Model(&KindLimit{}), "UPDATE").Order("kind").Find(&limits).Error; err != nil {
			return fmt.Errorf("models: lock kind limits: %w", err)
		}
		slots := map[string]int{}
		var kinds []string
		for _, l := range limits {
			slots[l.Kind], kinds = l.MaxRunning, append(kinds, l.Kind)
		}
		if len(kinds) > 0 {
			var running []struct {
				Kind string
				N    int
			}
			if err := tx.Model(&Job{}).Select("kind, COUNT(*) AS n").Where("state = ? AND kind IN ?", JobProcessing, kinds).
				Group("kind").Scan(&running).Error; err != nil {
				return fmt.Errorf("models: count running jobs: %w", err)
			}
			for _, r := range running {
				slots[r.Kind] -= r.N
			}
		}
		var full []string
		for _, k := range kinds {
			if slots[k] <= 0 {
				full = append(full, k)
			}
		}
		q := tx.Model(&Job{}).Select("id, kind").
			Where("state = 'enqueued' AND queue = ? AND NOT EXISTS (SELECT 1 FROM queue_settings WHERE name = ? AND paused = ?)", p.Queue, p.Queue, true)
		if len(full) > 0 {
			q = q.Where("kind NOT IN ?", full)
		}
		q = q.Order("priority DESC, run_at, id").Limit(2*p.Limit + 10)
		if s.drv.Shared() {
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		}
		var candidates []struct {
			ID   int64
			Kind string
		}
		if err := q.Scan(&candidates).Error; err != nil {
			return fmt.Errorf("models: claim jobs: %w", err)
		}
		var ids []int64
		for _, c := range candidates {
			if len(ids) == p.Limit {
				break
			}
			if n, limited := slots[c.Kind]; limited {
				if n <= 0 {
					continue
				}
				slots[c.Kind] = n - 1
			}
			ids = append(ids, c.ID)
		}
		if len(ids) == 0 {
			return nil
		}
		rows, err := tx.Raw(`UPDATE jobs SET state = 'processing', attempt = attempt + 1, runs = runs + 1, started_at = ?, lease_until = ?,
			server_id = ?, progress = 0, finished_at = NULL WHERE id IN ? AND state = 'enqueued' RETURNING `+driver.ClaimColumns,
			now, now.Add(p.Lease), p.ServerID, ids).Rows()
		if err != nil {
			return fmt.Errorf("models: claim jobs: %w", err)
		}
		for rows.Next() {
			j, err := scanClaimed(rows, p, now)
			if err != nil {
				_ = rows.Close()
				return fmt.Errorf("models: claim jobs: %w", err)
			}
			jobs = append(jobs, j)
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("models: claim jobs: %w", err)
		}
		if len(jobs) == 0 {
			return nil
		}
		counts := countDelta{}
		counts.move(p.Queue, JobEnqueued, JobProcessing, int64(len(jobs)))
		return s.writeCounts(tx, counts)
	})
	if err != nil {
		return nil, err
	}
	sortClaimed(jobs)
	return jobs, nil
}

// limited says whether kind has a cap on its running jobs (as last read).
func (s *Store) limited(ctx context.Context, kind string) (bool, error) {
	l, err := s.limits(ctx)
	if err != nil {
		return false, err
	}
	_, ok := l[kind]
	return ok, nil
}
