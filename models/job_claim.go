package models

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/kilnhq/kiln/models/driver"
)

// Every function here changes job states together with their JobEvent rows in one transaction,
// so a crash at any point leaves each job in a state it can recover from.

// ClaimParams says what a worker pool asks for.
type ClaimParams struct {
	Queue    string
	ServerID string
	Limit    int
	Lease    time.Duration
	Now      time.Time
	// Idle, for InsertAndClaimJob, says the caller knows of no job of Queue waiting (its last
	// claim came back short and nothing since said jobs arrived), so the store may skip its own
	// look for one. On PostgreSQL that look walks the claim index, whose entries for jobs
	// claimed since the last VACUUM stay in it: 1.1 ms after a burst of 200,000 jobs. A pause
	// is always checked.
	Idle bool
}

// ClaimJobs atomically moves up to p.Limit enqueued jobs of p.Queue to Processing on
// p.ServerID, with a lease until Now+Lease, and returns them by priority, then RunAt, then ID.
// It claims nothing from a paused queue.
func (s jobStore) ClaimJobs(ctx context.Context, p ClaimParams) ([]*Job, error) {
	if p.Limit <= 0 {
		return nil, nil
	}
	now := p.Now.UTC().Truncate(time.Microsecond)
	if limits, err := s.limits(ctx); err != nil {
		return nil, err
	} else if len(limits) > 0 {
		return s.claimLimited(ctx, p, now)
	}
	claimed, err := s.ops.Claim(ctx, s.db, driver.ClaimParams{Queue: p.Queue, ServerID: p.ServerID, Limit: p.Limit,
		StartedAt: now, LeaseUntil: now.Add(p.Lease), Record: func(tx *gorm.DB, claimed []driver.ClaimedJob) error {
			counts := countDelta{}
			for _, j := range claimed {
				counts.move(p.Queue, j.Kind, JobEnqueued, JobProcessing, 1)
			}
			return s.writeCounts(tx, counts)
		}})
	if err != nil {
		return nil, fmt.Errorf("models: claim jobs: %w", err)
	}
	return claimedJobs(claimed, p, now), nil
}

// sortClaimed puts claimed jobs in the order they are to run: priority, then RunAt, then ID.
func sortClaimed(jobs []*Job) {
	slices.SortFunc(jobs, func(a, b *Job) int {
		switch {
		case a.Priority != b.Priority:
			return b.Priority - a.Priority
		case !a.RunAt.Equal(b.RunAt):
			return a.RunAt.Compare(b.RunAt)
		}
		return int(a.ID - b.ID)
	})
}

// TraceParents returns the trace parents of the jobs ids that have one.
func (s jobStore) TraceParents(ctx context.Context, ids []int64) (map[int64]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []struct {
		ID          int64
		TraceParent string
	}
	err := s.rdb.WithContext(ctx).Model(&Job{}).Select("id, trace_parent").
		Where("id IN ? AND trace_parent IS NOT NULL", ids).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("models: read trace parents: %w", err)
	}
	out := make(map[int64]string, len(rows))
	for _, r := range rows {
		out[r.ID] = r.TraceParent
	}
	return out, nil
}
