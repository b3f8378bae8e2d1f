package models_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

func TestStatsFollowFinishedJobs(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		var batch []*models.Job
		for range 5 {
			batch = append(batch, newJob("x"))
		}
		insert(t, s, batch...)
		claimed := claim(t, s, "srv", 5)
		at := time.Date(2026, 11, 21, 10, 15, 30, 400_000_000, time.UTC)
		finish := func(j *models.Job, st models.JobState) models.JobFinish {
			return models.JobFinish{JobID: j.ID, ServerID: "srv", Attempt: 1, Run: 1, State: st, At: at, RunAt: at.Add(time.Hour)}
		}
		_, _, err := s.Jobs.FinishJobs(ctx, []models.JobFinish{finish(claimed[0], models.JobSucceeded), finish(claimed[1], models.JobSucceeded), finish(claimed[2], models.JobFailed)})
		require.NoError(t, err)
		_, _, err = s.Jobs.FinishJobs(ctx, []models.JobFinish{finish(claimed[3], models.JobSucceeded), finish(claimed[4], models.JobScheduled)})
		require.NoError(t, err)

		secs, err := s.JobQueries.Stats(ctx, models.PeriodSecond, at.Add(-time.Minute))
		require.NoError(t, err)
		require.Len(t, secs, 1)
		require.True(t, secs[0].Bucket.Equal(at.Truncate(time.Second)))
		require.EqualValues(t, 3, secs[0].Succeeded, "two batches add up in one bucket")
		require.EqualValues(t, 1, secs[0].Failed, "a retry is not a failure")
		hours, err := s.JobQueries.Stats(ctx, models.PeriodHour, at.Add(-24*time.Hour))
		require.NoError(t, err)
		require.Len(t, hours, 1)
		require.True(t, hours[0].Bucket.Equal(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)))
		require.EqualValues(t, 3, hours[0].Succeeded)

		n, err := s.JobQueries.RetriesPending(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)

		require.NoError(t, s.Jobs.CleanupStats(ctx, at.Add(20*time.Minute)))
		secs, err = s.JobQueries.Stats(ctx, models.PeriodSecond, at.Add(-time.Minute))
		require.NoError(t, err)
		require.Empty(t, secs, "second counters last minutes")
		hours, err = s.JobQueries.Stats(ctx, models.PeriodHour, at.Add(-24*time.Hour))
		require.NoError(t, err)
		require.Len(t, hours, 1, "hour counters last days")
	})
}

// Nodes sharing a PostgreSQL database add to counter rows of their own, so that no node waits
// for another's row lock; Stats sums them.
func TestStatsOfSeveralNodesAddUp(t *testing.T) {
	dsn := modeltest.PostgresDSN(t)
	a, b := modeltest.Open(t, dsn), modeltest.Open(t, dsn)
	at := time.Date(2026, 11, 27, 9, 30, 15, 0, time.UTC)
	for i, s := range []*models.Store{a, b, a} {
		j := newJob("x")
		insert(t, s, j)
		server := fmt.Sprintf("srv-%d", i)
		jobs, err := s.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "default", ServerID: server, Limit: 1, Lease: time.Minute, Now: time.Now()})
		require.NoError(t, err)
		require.Len(t, jobs, 1)
		state := models.JobSucceeded
		if i == 1 {
			state = models.JobFailed
		}
		_, _, err = s.Jobs.FinishJobs(ctx, []models.JobFinish{{JobID: jobs[0].ID, ServerID: server, Attempt: 1, Run: 1, State: state, At: at}})
		require.NoError(t, err)
	}
	var rows int64
	require.NoError(t, modeltest.DB(a).Model(&models.JobStat{}).Where("period = ?", models.PeriodSecond).Count(&rows).Error)
	require.EqualValues(t, 2, rows, "a row per node")
	for _, s := range []*models.Store{a, b} {
		secs, err := s.JobQueries.Stats(ctx, models.PeriodSecond, at.Add(-time.Minute))
		require.NoError(t, err)
		require.Len(t, secs, 1)
		require.True(t, secs[0].Bucket.Equal(at))
		require.EqualValues(t, [2]int64{2, 1}, [2]int64{secs[0].Succeeded, secs[0].Failed})
	}
}
