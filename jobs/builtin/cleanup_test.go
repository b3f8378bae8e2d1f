package builtin_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// Retention cleanup is housekeeping, which the dashboard hides by default; the kinds that do
// users' work are not.
func TestCleanupIsHousekeeping(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	e, err := jobs.New(s, jobs.Config{NoWorkers: true})
	require.NoError(t, err)
	require.NoError(t, builtin.Register(e, s.Jobs, builtin.Config{}))
	got := map[string]bool{}
	for _, k := range e.Kinds() {
		got[k.Name] = k.Housekeeping
	}
	require.Equal(t, map[string]bool{builtin.KindCleanup: true, builtin.KindHTTPRequest: false, builtin.KindExec: false, builtin.KindWorkflowStart: false}, got)
}

// jobs.cleanup deletes finished jobs past the retention, and failed ones past theirs when one
// is set (without one, failed jobs stay); a job that is not old enough, or not finished, stays.
func TestCleanupKeepsWhatItShould(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		require.NoError(t, builtin.Register(e, s.Jobs, builtin.Config{FailedRetention: 2 * time.Hour}))
		require.ErrorIs(t, builtin.Register(e, s.Jobs, builtin.Config{FailedRetention: time.Second}), jobs.ErrInvalidConfig)
		start(t, e)
		// The recurring cleanup carries the failed jobs' retention.
		def, err := s.Recurring.GetRecurring(ctx, builtin.KindCleanup)
		require.NoError(t, err)
		var scheduled builtin.CleanupArgs
		require.NoError(t, json.Unmarshal([]byte(def.Args), &scheduled))
		require.Equal(t, "2h0m0s", scheduled.FailedOlderThan)

		now := time.Now()
		for range 5 {
			_, err := e.Enqueue(ctx, "gone.soon", nil, jobs.Queue("idle"))
			require.NoError(t, err)
		}
		claimed, err := s.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "idle", ServerID: "old", Limit: 4, Lease: time.Minute, Now: now.Add(-4 * time.Hour)})
		require.NoError(t, err)
		require.Len(t, claimed, 4)
		// Finished: a success 3h ago, a failure 3h ago, a success just now, a failure 90 min ago.
		ends := []struct {
			state models.JobState
			ago   time.Duration
		}{{models.JobSucceeded, 3 * time.Hour}, {models.JobFailed, 3 * time.Hour}, {models.JobSucceeded, 0}, {models.JobFailed, 90 * time.Minute}}
		var batch []models.JobFinish
		for i, j := range claimed {
			batch = append(batch, models.JobFinish{JobID: j.ID, ServerID: "old", Attempt: 1, Run: 1, State: ends[i].state, At: now.Add(-ends[i].ago)})
		}
		_, _, err = s.Jobs.FinishJobs(ctx, batch)
		require.NoError(t, err)

		kept := func(args builtin.CleanupArgs, want ...int) {
			t.Helper()
			run, err := e.Enqueue(ctx, builtin.KindCleanup, args)
			require.NoError(t, err)
			waitState(t, s, run.ID, models.JobSucceeded)
			for i, j := range claimed {
				_, err := s.JobQueries.GetJob(ctx, j.ID)
				if slices.Contains(want, i) {
					require.NoError(t, err, "job %d (%s %s ago) stays", i, ends[i].state, ends[i].ago)
				} else {
					require.Equal(t, models.ENOTFOUND, models.ErrorCode(err), "job %d (%s %s ago) deleted", i, ends[i].state, ends[i].ago)
				}
			}
		}
		kept(builtin.CleanupArgs{OlderThan: "1h"}, 1, 2, 3)                     // failed jobs have no retention
		kept(builtin.CleanupArgs{OlderThan: "1h", FailedOlderThan: "2h"}, 2, 3) // the 90-minute failure is young enough
		left, err := s.JobQueries.CountJobs(ctx, models.JobFilter{Kind: "gone.soon"})
		require.NoError(t, err)
		require.EqualValues(t, 3, left, "the young finished jobs and the waiting one stay")
	})
}
