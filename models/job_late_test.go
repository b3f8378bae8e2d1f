package models_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
)

// A server cut off from the database past its lease has its jobs rescued; its outcomes arrive
// once it reaches the database again. A job still waiting from that rescue takes the outcome
// (the run did end: a one-attempt job must not run twice), with an event that says how long
// the run took; a job claimed again keeps running, and its log says what the earlier run did.
func TestLateOutcomeOfARescuedRun(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		require.NoError(t, s.Servers.UpsertServer(ctx, &models.Server{ID: "other", Host: "h", PID: 1, StartedAt: time.Now()})) // alive
		again, waiting, failed := newJob("again"), newJob("waiting"), newJob("failed")
		waiting.MaxAttempts = 1
		insert(t, s, again, waiting, failed)
		runs := claim(t, s, "cut-off", 3)
		require.Len(t, runs, 3)
		require.Equal(t, 3, rescue(t, s, time.Now().Add(2*time.Minute)).Requeued)
		reclaimed := claim(t, s, "other", 1) // the first in line
		require.Len(t, reclaimed, 1)
		byKind := map[string]*models.Job{}
		for _, j := range runs {
			byKind[j.Kind] = j
		}
		require.Equal(t, again.ID, reclaimed[0].ID)
		at := time.Now()
		outcome := func(j *models.Job, state models.JobState, errText string) models.JobFinish {
			return models.JobFinish{JobID: j.ID, ServerID: "cut-off", Attempt: j.Attempt, Run: j.Runs, State: state,
				Error: errText, Result: `{"ok":true}`, Reason: string(state), At: at, Duration: 60 * time.Millisecond}
		}
		n, _, err := s.Jobs.FinishJobs(ctx, []models.JobFinish{
			outcome(byKind["again"], models.JobSucceeded, ""),   // claimed again by "other" (the first in line)
			outcome(byKind["waiting"], models.JobSucceeded, ""), // still waiting from the rescue
			outcome(byKind["failed"], models.JobFailed, "boom\nstack"),
		})
		require.NoError(t, err)
		require.Equal(t, 2, n, "the two jobs still waiting from the rescue take their outcomes")

		got, err := s.JobQueries.GetJob(ctx, byKind["waiting"].ID)
		require.NoError(t, err)
		require.Equal(t, models.JobSucceeded, got.State)
		require.Equal(t, `{"ok":true}`, got.Result)
		require.Equal(t, 1, got.Attempt, "the run counts: it did run")
		require.Zero(t, got.Rescues, "it was not a crash")
		events, err := s.JobQueries.JobEvents(ctx, got.ID)
		require.NoError(t, err)
		last := events[len(events)-1]
		require.True(t, last.IsLateOutcome(), "%+v", last)
		require.Equal(t, models.JobEnqueued, last.From)
		require.Equal(t, models.JobSucceeded, last.To)
		require.Equal(t, 60*time.Millisecond, last.Duration, "how long the run really took")
		require.Contains(t, last.Reason, "run 1 on server cut-off succeeded after 60ms")
		require.True(t, events[len(events)-2].IsRescue())
		var path []string
		for _, e := range events { // JobEvents is the whole history, with what the row implies
			path = append(path, string(e.From)+">"+string(e.To))
		}
		require.Equal(t, []string{">enqueued", "enqueued>processing", "processing>enqueued", "enqueued>succeeded"}, path,
			"the run, its rescue, and its outcome, once")

		got, err = s.JobQueries.GetJob(ctx, byKind["failed"].ID)
		require.NoError(t, err)
		require.Equal(t, models.JobFailed, got.State)
		require.Equal(t, "boom\nstack", got.LastError)
		require.NotNil(t, got.FinishedAt)

		got, err = s.JobQueries.GetJob(ctx, byKind["again"].ID)
		require.NoError(t, err)
		require.Equal(t, models.JobProcessing, got.State, "claimed again: the late outcome does not touch the new run")
		require.Equal(t, "other", got.ServerID)
		logs, err := s.JobQueries.JobLogs(ctx, got.ID)
		require.NoError(t, err)
		require.Len(t, logs, 1, "%+v", logs)
		require.Contains(t, logs[0].Message, "outcome arrived late: run 1 on server cut-off succeeded after 60ms")

		// A late retry of a rescued run changes nothing (the rescue put the job back already),
		// but its log says what the run did.
		insert(t, s, newJob("retry"))
		r := claim(t, s, "cut-off", 1)[0]
		require.Equal(t, 1, rescue(t, s, time.Now().Add(2*time.Minute)).Requeued)
		retry := outcome(r, models.JobScheduled, "flaky")
		retry.RunAt = at.Add(time.Minute)
		n, _, err = s.Jobs.FinishJobs(ctx, []models.JobFinish{retry})
		require.NoError(t, err)
		require.Zero(t, n)
		got, err = s.JobQueries.GetJob(ctx, r.ID)
		require.NoError(t, err)
		require.Equal(t, models.JobEnqueued, got.State)
		logs, err = s.JobQueries.JobLogs(ctx, r.ID)
		require.NoError(t, err)
		require.Len(t, logs, 1)
		require.Contains(t, logs[0].Message, "failed (to be retried) after 60ms")
		require.Contains(t, logs[0].Message, "flaky")
	})
}
