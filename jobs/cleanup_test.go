package jobs_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// jobs.cleanup deletes finished jobs past the retention, and failed ones past theirs when one
// is set; a job that is not old enough, or not finished, stays.
func TestCleanupKeepsWhatItShould(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		require.NoError(t, e.RegisterBuiltins(jobs.BuiltinConfig{FailedRetention: 2 * time.Hour}))
		require.ErrorIs(t, e.RegisterBuiltins(jobs.BuiltinConfig{FailedRetention: time.Second}), jobs.ErrInvalidConfig)
		start(t, e)
		old := time.Now().Add(-3 * time.Hour)
		for range 4 {
			_, err := e.Enqueue(ctx, "gone.soon", nil, jobs.Queue("idle"))
			require.NoError(t, err)
		}
		claimed, err := s.ClaimJobs(ctx, models.ClaimParams{Queue: "idle", ServerID: "old", Limit: 3, Lease: time.Minute, Now: old})
		require.NoError(t, err)
		require.Len(t, claimed, 3)
		var batch []models.JobFinish
		for i, j := range claimed {
			st := models.JobSucceeded
			if i == 1 {
				st = models.JobFailed
			}
			at := old
			if i == 2 {
				at = time.Now() // too young
			}
			batch = append(batch, models.JobFinish{JobID: j.ID, ServerID: "old", Attempt: 1, Run: 1, State: st, At: at})
		}
		_, _, err = s.FinishJobs(ctx, batch)
		require.NoError(t, err)

		run, err := e.Enqueue(ctx, jobs.KindCleanup, jobs.CleanupArgs{OlderThan: "1h", FailedOlderThan: "2h"})
		require.NoError(t, err)
		waitState(t, s, run.ID, models.JobSucceeded)
		left, err := s.CountJobs(ctx, models.JobFilter{Kind: "gone.soon"})
		require.NoError(t, err)
		require.EqualValues(t, 2, left, "the young finished job and the waiting one stay")
		for _, id := range []int64{claimed[0].ID, claimed[1].ID} {
			_, err := s.GetJob(ctx, id)
			require.Equal(t, models.ENOTFOUND, models.ErrorCode(err), "job %d deleted", id)
		}
	})
}
