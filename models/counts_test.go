package models_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// forEachJobStore runs fn against each dialect, then checks that the job counters agree with
// a count of the jobs table, before and after folding: whatever fn did to jobs, every state
// change was counted.
func forEachJobStore(t *testing.T, fn func(t *testing.T, s *models.Store)) {
	t.Helper()
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		fn(t, s)
		requireCountsMatch(t, s)
		require.NoError(t, s.Jobs.FoldJobCounts(ctx))
		requireCountsMatch(t, s)
	})
}

func requireCountsMatch(t *testing.T, s *models.Store) {
	t.Helper()
	counted, err := s.JobQueries.CountJobsByQueue(ctx)
	require.NoError(t, err)
	scanned := modeltest.CountJobsByQueueScan(t, s)
	require.Equal(t, scanned, counted, "the job counters drifted from the jobs table")
	byKind, err := s.JobQueries.CountJobsByKind(ctx)
	require.NoError(t, err)
	require.Equal(t, modeltest.CountJobsByKindScan(t, s), byKind, "the job counters per kind drifted from the jobs table")
}

func TestCountersFoldAndRecount(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		insert(t, s, newJob("a"), newJob("b"), newJob("c"))
		require.NoError(t, s.Jobs.FoldJobCounts(ctx))
		require.NoError(t, s.Jobs.FoldJobCounts(ctx), "folding nothing is fine")
		claim(t, s, "srv", 2)
		counts, err := s.JobQueries.CountJobsByState(ctx)
		require.NoError(t, err)
		require.Equal(t, map[models.JobState]int64{models.JobEnqueued: 1, models.JobProcessing: 2}, counts, "folded totals plus pending deltas")

		// A job written around the store is repaired by a recount.
		require.NoError(t, modeltest.DB(s).Create(&models.Job{Kind: "raw", Queue: "default", Args: "{}", State: models.JobFailed, MaxAttempts: 1}).Error)
		modeltest.RecountJobs(t, s)
		counts, err = s.JobQueries.CountJobsByState(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 1, counts[models.JobFailed])
	})
}

// A database from before the counters (jobs, no counts) is counted once when first opened.
func TestCountersStartFromExistingJobs(t *testing.T) {
	dsn := modeltest.SQLiteDSN(t)
	s := modeltest.Open(t, dsn)
	require.NoError(t, modeltest.DB(s).Create(&[]models.Job{
		{Kind: "old", Queue: "default", Args: "{}", State: models.JobSucceeded, MaxAttempts: 1},
		{Kind: "old", Queue: "default", Args: "{}", State: models.JobSucceeded, MaxAttempts: 1},
		{Kind: "old", Queue: "default", Args: "{}", State: models.JobFailed, MaxAttempts: 1},
	}).Error)
	for _, q := range []string{"DELETE FROM job_queue_counts", "DELETE FROM job_queue_count_deltas", "DELETE FROM settings WHERE name = 'job-queue-counts-ready'"} {
		require.NoError(t, modeltest.DB(s).Exec(q).Error)
	}
	require.NoError(t, s.Close())
	s = modeltest.Open(t, dsn)
	counts, err := s.JobQueries.CountJobsByState(ctx)
	require.NoError(t, err)
	require.Equal(t, map[models.JobState]int64{models.JobSucceeded: 2, models.JobFailed: 1}, counts)
	s2 := modeltest.Open(t, dsn) // a second start counts nothing twice
	counts, err = s2.JobQueries.CountJobsByState(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 2, counts[models.JobSucceeded])
}
