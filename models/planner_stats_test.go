package models_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// Statistics taken while no job waited, then a burst: the store refreshes them, once, and the
// claim reads the claim index again. SQLite's planner needs no help.
func TestRefreshJobStatisticsAfterABurst(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		if s.Dialect() != models.DialectPostgres {
			refreshed, err := s.Jobs.RefreshJobStatistics(ctx)
			require.NoError(t, err)
			require.False(t, refreshed)
			return
		}
		db := modeltest.DB(s)
		// 30,000 finished jobs, then statistics that see no job waiting.
		require.NoError(t, db.Exec(`INSERT INTO jobs (kind, queue, args, state, max_attempts, run_at, created_at, finished_at)
			SELECT 'old', 'default', '{}', 'succeeded', 1, now(), now(), now() FROM generate_series(1, 30000)`).Error)
		require.NoError(t, db.Exec("ANALYZE jobs").Error)
		refreshed, err := s.Jobs.RefreshJobStatistics(ctx)
		require.NoError(t, err)
		require.False(t, refreshed, "nothing waits: the statistics are right")

		for range 12 { // the burst
			batch := make([]*models.Job, 1000)
			for i := range batch {
				batch[i] = &models.Job{Kind: "burst", Queue: "default", Args: "{}", MaxAttempts: 1}
			}
			_, err := s.Jobs.InsertJobs(ctx, batch, time.Now())
			require.NoError(t, err)
		}
		planned, err := s.PlannedJobsForTest(models.JobEnqueued)
		require.NoError(t, err)
		require.Less(t, planned, 1000.0, "the statistics predate the burst")

		// Another node analyzing: this one leaves it to it.
		sqlDB, err := db.DB()
		require.NoError(t, err)
		other, err := sqlDB.Conn(ctx)
		require.NoError(t, err)
		_, err = other.ExecContext(ctx, "SELECT pg_advisory_lock(hashtext(current_schema() || '.kiln-analyze-jobs'))")
		require.NoError(t, err)
		refreshed, err = s.Jobs.RefreshJobStatistics(ctx)
		require.NoError(t, err)
		require.False(t, refreshed, "another node holds the lock")
		planned, err = s.PlannedJobsForTest(models.JobEnqueued)
		require.NoError(t, err)
		require.Less(t, planned, 1000.0, "nothing analyzed meanwhile")
		_, err = other.ExecContext(ctx, "SELECT pg_advisory_unlock(hashtext(current_schema() || '.kiln-analyze-jobs'))")
		require.NoError(t, err)
		require.NoError(t, other.Close())

		refreshed, err = s.Jobs.RefreshJobStatistics(ctx)
		require.NoError(t, err)
		require.True(t, refreshed)
		planned, err = s.PlannedJobsForTest(models.JobEnqueued)
		require.NoError(t, err)
		require.Greater(t, planned, 6000.0, "the planner sees the burst")
		var plan []string
		require.NoError(t, db.Raw(`EXPLAIN SELECT id FROM jobs WHERE state = 'enqueued' AND queue = 'default'
			ORDER BY priority DESC, run_at, id LIMIT 50`).Pluck("QUERY PLAN", &plan).Error)
		require.Contains(t, strings.Join(plan, "\n"), "idx_jobs_claim", "a claim reads the claim index")

		refreshed, err = s.Jobs.RefreshJobStatistics(ctx)
		require.NoError(t, err)
		require.False(t, refreshed, "once is enough")
	})
}
