package models

import (
	"context"
	"fmt"
	"github.com/kilnhq/kiln/models/driver"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// What only models' own tests use: setting one of a kind's limits alone (people and the code set
// both at once, through SetKindLimits) and counting a user's sessions. These are methods of *Store
// in test builds only, so they are not the store's API.

// SetKindLimit caps the running jobs of kind at max across every node; 0 removes the cap. The
// kind's rate stays.
func (s *Store) SetKindLimit(ctx context.Context, kind string, max int) error {
	if max < 0 {
		return Errorf(EINVALID, "A cap on running jobs is at least 0, not %d.", max)
	}
	return s.setKindLimit(ctx, kind, "max_running", map[string]any{"max_running": max})
}

// SetKindRate lets at most n jobs of kind start per period across every node, counted in
// windows of period aligned to the Unix epoch; n = 0 removes the limit. The kind's cap stays.
func (s *Store) SetKindRate(ctx context.Context, kind string, n int, per time.Duration) error {
	if n < 0 || (n > 0 && per < time.Second) {
		return Errorf(EINVALID, "A rate is at least 0 jobs per at least 1s, not %d per %s.", n, per)
	}
	secs := int64(per / time.Second)
	if n == 0 {
		secs = 0
	}
	return s.setKindLimit(ctx, kind, "rate", map[string]any{"rate_n": n, "rate_per_seconds": secs})
}

// CountSessions counts the user's live sessions.
func (s *Store) CountSessions(ctx context.Context, userID int64) (int64, error) {
	var n int64
	err := s.rdb.WithContext(ctx).Model(&Session{}).Where("user_id = ? AND expires_at > ?", userID, time.Now().UTC()).Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("models: count sessions: %w", err)
	}
	return n, nil
}

// AuditHashForTest is an entry's hash, for tests that forge one as someone who knows how.
func AuditHashForTest(e *AuditEntry) string { return auditHash(e) }

// ReadyStepsSQL is the read of the steps a release may start, for its plan's test.
const ReadyStepsSQL = readyStepsSQL

// InsertRowsForTest stores rows (WorkflowStep, JobEvent or JobDepForTest values) as the store
// writes steps, events and edges in bulk.
func InsertRowsForTest[T any](s *Store, rows []T) error {
	return s.change(context.Background(), func(tx *gorm.DB) error { return insertRows(s.conn, tx, rows) })
}

// JobDepForTest is an edge of a run's graph.
type JobDepForTest = jobDep

// IDInForTest is the store's driver's IDIn.
func (s *Store) IDInForTest(column string, ids []int64) clause.Expr { return s.drv.IDIn(column, ids) }

// PlannedJobsForTest is the planner's estimate of the jobs in state (PostgreSQL), or -1.
func (s *Store) PlannedJobsForTest(state JobState) (float64, error) {
	ps, ok := s.drv.(driver.PlannerStatistics)
	if !ok {
		return -1, nil
	}
	return ps.PlannedJobs(context.Background(), s.db, string(state))
}
