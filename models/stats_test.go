package models_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
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
		_, _, err := s.FinishJobs(ctx, []models.JobFinish{finish(claimed[0], models.JobSucceeded), finish(claimed[1], models.JobSucceeded), finish(claimed[2], models.JobFailed)})
		require.NoError(t, err)
		_, _, err = s.FinishJobs(ctx, []models.JobFinish{finish(claimed[3], models.JobSucceeded), finish(claimed[4], models.JobScheduled)})
		require.NoError(t, err)

		secs, err := s.Stats(ctx, models.PeriodSecond, at.Add(-time.Minute))
		require.NoError(t, err)
		require.Len(t, secs, 1)
		require.True(t, secs[0].Bucket.Equal(at.Truncate(time.Second)))
		require.EqualValues(t, 3, secs[0].Succeeded, "two batches add up in one bucket")
		require.EqualValues(t, 1, secs[0].Failed, "a retry is not a failure")
		hours, err := s.Stats(ctx, models.PeriodHour, at.Add(-24*time.Hour))
		require.NoError(t, err)
		require.Len(t, hours, 1)
		require.True(t, hours[0].Bucket.Equal(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)))
		require.EqualValues(t, 3, hours[0].Succeeded)

		n, err := s.RetriesPending(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)

		require.NoError(t, s.CleanupStats(ctx, at.Add(20*time.Minute)))
		secs, err = s.Stats(ctx, models.PeriodSecond, at.Add(-time.Minute))
		require.NoError(t, err)
		require.Empty(t, secs, "second counters last minutes")
		hours, err = s.Stats(ctx, models.PeriodHour, at.Add(-24*time.Hour))
		require.NoError(t, err)
		require.Len(t, hours, 1, "hour counters last days")
	})
}
