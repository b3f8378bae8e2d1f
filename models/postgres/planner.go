package postgres

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/kilnhq/kiln/models/driver"
)

var _ driver.PlannerStatistics = (*Driver)(nil)

// plannedJobsSQL is the planner's estimate of the jobs in state $1: the table's rows times the
// state's share among the most common values ANALYZE last saw (a handful of states: all of
// them are common ones), 0 when it saw none.
const plannedJobsSQL = `SELECT greatest(coalesce((SELECT c.reltuples FROM pg_class c WHERE c.oid = 'jobs'::regclass), 0), 0) *
	coalesce((SELECT m.freq FROM pg_stats s, unnest(s.most_common_vals::text::text[], s.most_common_freqs) AS m(val, freq)
		WHERE s.schemaname = current_schema() AND s.tablename = 'jobs' AND s.attname = 'state' AND m.val = $1), 0)`

// PlannedJobs implements driver.PlannerStatistics.
func (*Driver) PlannedJobs(ctx context.Context, db *gorm.DB, state string) (float64, error) {
	var n float64
	if err := db.WithContext(ctx).Raw(plannedJobsSQL, state).Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("models: the planner's estimate of %s jobs: %w", state, err)
	}
	return n, nil
}

// AnalyzeJobs implements driver.PlannerStatistics: ANALYZE samples the table (30,000 rows by
// default, 0.25 s at 10 million jobs here) and blocks no read or write; a transaction's
// advisory lock keeps two nodes from sampling it at once.
func (*Driver) AnalyzeJobs(ctx context.Context, db *gorm.DB) (analyzed bool, err error) {
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Raw("SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || '.kiln-analyze-jobs'))").Scan(&analyzed).Error; err != nil {
			return fmt.Errorf("models: analyze jobs: %w", err)
		}
		if !analyzed {
			return nil
		}
		if err := tx.Exec("ANALYZE jobs").Error; err != nil {
			return fmt.Errorf("models: analyze jobs: %w", err)
		}
		return nil
	})
	return analyzed && err == nil, err
}
