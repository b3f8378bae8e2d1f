package models_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
)

// stepJob is the job id of the named step of run id.
func stepJob(t *testing.T, s *models.Store, id int64, name string) int64 {
	t.Helper()
	steps, err := s.Workflows.WorkflowSteps(ctx, id)
	require.NoError(t, err)
	for _, st := range steps {
		if st.Step == name {
			return st.JobID
		}
	}
	t.Fatalf("no step %s", name)
	return 0
}

// A step that waits for others is stored without an event (a fan-out's thousands of steps
// stored as many rows fewer), yet its history still begins with it awaiting them, then shows
// its release, its run and its end, each leaving the state the one before entered.
func TestWorkflowStepHistoryFromRow(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		wf := workflow(t, s, step("a"), step("b", "a"), step("skipped", "b"), onStep("cleanup", models.ContinueOnFailure, "b"))
		b := stepJob(t, s, wf.ID, "b")
		require.Zero(t, storedEvents(t, s, b), "an awaiting step stores no event")

		events, err := s.JobQueries.JobEvents(ctx, b)
		require.NoError(t, err)
		require.Len(t, events, 1)
		require.Equal(t, models.JobAwaiting, events[0].To)
		require.Equal(t, "awaiting the steps it depends on", events[0].Reason)
		requirePath(t, events)

		runStep(t, s, wf.ID, "a", models.JobSucceeded)
		runStep(t, s, wf.ID, "b", models.JobFailed)
		events, err = s.JobQueries.JobEvents(ctx, b)
		require.NoError(t, err)
		requirePath(t, events)
		var path []models.JobState
		for _, e := range events {
			path = append(path, e.To)
		}
		require.Equal(t, []models.JobState{models.JobAwaiting, models.JobEnqueued, models.JobProcessing, models.JobFailed}, path)

		// A step skipped, and one that runs on failure: each history begins awaiting, too.
		for _, name := range []string{"skipped", "cleanup"} {
			events, err := s.JobQueries.JobEvents(ctx, stepJob(t, s, wf.ID, name))
			require.NoError(t, err)
			requirePath(t, events)
			require.Equal(t, models.JobAwaiting, events[0].To, "%s: %v", name, events)
			require.Len(t, events, 2, "%s: %v", name, events)
		}
	})
}
