package models

import (
	"context"
	"sync"
	"time"

	"github.com/kilnhq/kiln/models/driver"
)

// The planner's statistics of the jobs table (PostgreSQL) are refreshed when they fall far
// behind the jobs waiting. Autovacuum analyzes a table once a tenth of its rows changed: at 10
// million jobs, a million changes. Statistics taken while no job waited, followed by a burst
// of 200,000, had every claim read the 200,000 through the state index and sort them, 359 ms
// a claim, and kiln bench's burn-down fell to 37 jobs/s beside the dashboard; after ANALYZE
// (0.25 s), a claim reads the claim index's first fifty.

const (
	// staleStatsMin is how many more waiting jobs than the planner expects it takes to
	// refresh its statistics, and staleStatsFactor how many times more.
	staleStatsMin    = 10_000
	staleStatsFactor = 10
	// analyzeEvery bounds how often one store analyzes, whatever the estimates say.
	analyzeEvery = time.Minute
)

// plannerStats remembers when this store last analyzed.
type plannerStats struct {
	mu   sync.Mutex
	last time.Time
}

// RefreshJobStatistics refreshes the planner's statistics of the jobs table when it expects
// far fewer jobs waiting (enqueued or scheduled) than the counters hold: at least staleStatsMin
// more, and staleStatsFactor times as many. It reports whether it did (not when another node
// was at it). On a database whose
// planner needs no help (SQLite) it does nothing.
func (s jobStore) RefreshJobStatistics(ctx context.Context) (bool, error) {
	ps, ok := s.drv.(driver.PlannerStatistics)
	if !ok {
		return false, nil
	}
	s.planner.mu.Lock()
	defer s.planner.mu.Unlock()
	if time.Since(s.planner.last) < analyzeEvery {
		return false, nil
	}
	counts, err := jobQueries{s.conn}.CountJobsByState(ctx)
	if err != nil {
		return false, err
	}
	stale := false
	for _, st := range []JobState{JobEnqueued, JobScheduled} {
		n := counts[st]
		if n < staleStatsMin {
			continue
		}
		planned, err := ps.PlannedJobs(ctx, s.db, string(st))
		if err != nil {
			return false, err
		}
		if float64(n) >= staleStatsFactor*planned {
			stale = true
		}
	}
	if !stale {
		return false, nil
	}
	analyzed, err := ps.AnalyzeJobs(ctx, s.db)
	if analyzed {
		s.planner.last = time.Now()
	}
	return analyzed, err
}
