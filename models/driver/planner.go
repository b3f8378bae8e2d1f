package driver

import (
	"context"

	"gorm.io/gorm"
)

// PlannerStatistics is a Driver whose planner picks plans from statistics that ANALYZE
// samples, and a burst of jobs can leave stale (PostgreSQL): statistics taken while no job
// waited say none does, and a claim then reads every waiting job through the state index and
// sorts them, where the claim index gives the first fifty.
type PlannerStatistics interface {
	// PlannedJobs is the planner's estimate of the jobs in state (0 when it has none).
	PlannedJobs(ctx context.Context, db *gorm.DB, state string) (float64, error)
	// AnalyzeJobs refreshes the statistics of the jobs table, and reports whether it did: not
	// when another node is doing so (then it returns at once).
	AnalyzeJobs(ctx context.Context, db *gorm.DB) (bool, error)
}
