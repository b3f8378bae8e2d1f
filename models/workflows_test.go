package models_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// step is a NewStep of kind "wf" that depends on deps.
func step(name string, deps ...string) models.NewStep {
	return models.NewStep{Name: name, Job: newJob("wf"), DependsOn: deps}
}

// onStep is step, running on the given outcome of its dependencies.
func onStep(name, on string, deps ...string) models.NewStep {
	st := step(name, deps...)
	st.Job.ContinueOn = on
	return st
}

// stepStates are the states of a run's steps, by name.
func stepStates(t *testing.T, s *models.Store, id int64) map[string]models.JobState {
	t.Helper()
	steps, err := s.Workflows.WorkflowSteps(ctx, id)
	require.NoError(t, err)
	out := map[string]models.JobState{}
	for _, st := range steps {
		out[st.Step] = st.State
	}
	return out
}

// runStep claims the named step (it must be enqueued) and finishes it in state.
func runStep(t *testing.T, s *models.Store, id int64, name string, state models.JobState) {
	t.Helper()
	steps, err := s.Workflows.WorkflowSteps(ctx, id)
	require.NoError(t, err)
	var jobID int64
	for _, st := range steps {
		if st.Step == name {
			jobID = st.JobID
		}
	}
	require.NotZero(t, jobID, "no step %s", name)
	for _, j := range claim(t, s, "n1", 100) {
		if j.ID == jobID {
			finish(t, s, j, models.JobFinish{State: state})
			continue
		}
		finish(t, s, j, models.JobFinish{State: models.JobEnqueued, RefundAttempt: true}) // not this one: back it goes
	}
}

func workflow(t *testing.T, s *models.Store, steps ...models.NewStep) *models.Workflow {
	t.Helper()
	wf := &models.Workflow{Name: "test", CreatedBy: "ada"}
	require.NoError(t, s.Workflows.CreateWorkflow(ctx, wf, steps, time.Now()))
	return wf
}

// The diamond: a, then b and c, then d once both are done; the run succeeds with the last.
func TestWorkflowDiamond(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		wf := workflow(t, s, step("d", "b", "c"), step("b", "a"), step("c", "a"), step("a"))
		require.Equal(t, map[string]models.JobState{"a": models.JobEnqueued, "b": models.JobAwaiting, "c": models.JobAwaiting, "d": models.JobAwaiting},
			stepStates(t, s, wf.ID))
		steps, err := s.Workflows.WorkflowSteps(ctx, wf.ID)
		require.NoError(t, err)
		require.Equal(t, "a", steps[0].Step, "stored in an order where each step follows those it depends on")
		require.Equal(t, []string{"b", "c"}, steps[3].DependsOn)

		runStep(t, s, wf.ID, "a", models.JobSucceeded)
		require.Equal(t, models.JobEnqueued, stepStates(t, s, wf.ID)["b"])
		require.Equal(t, models.JobEnqueued, stepStates(t, s, wf.ID)["c"])
		runStep(t, s, wf.ID, "b", models.JobSucceeded)
		require.Equal(t, models.JobAwaiting, stepStates(t, s, wf.ID)["d"], "c is not done yet")
		runStep(t, s, wf.ID, "c", models.JobSucceeded)
		require.Equal(t, models.JobEnqueued, stepStates(t, s, wf.ID)["d"])
		got, err := s.Workflows.GetWorkflow(ctx, wf.ID)
		require.NoError(t, err)
		require.Equal(t, models.WorkflowRunning, got.State)
		require.Equal(t, 1, got.StepsLeft)
		runStep(t, s, wf.ID, "d", models.JobSucceeded)
		got, err = s.Workflows.GetWorkflow(ctx, wf.ID)
		require.NoError(t, err)
		require.Equal(t, models.WorkflowSucceeded, got.State)
		require.NotNil(t, got.FinishedAt)
	})
}

// A step that fails for good skips the steps that need its success, and theirs in turn; the
// steps that run on failure, or on any outcome, run; the run ends failed.
func TestWorkflowFailureSkipsAndRunsOnFailure(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		wf := workflow(t, s, step("dump"), step("upload", "dump"), step("check", "upload"),
			onStep("alert", models.ContinueOnFailure, "check"), onStep("cleanup", models.ContinueOnFinish, "dump"),
			onStep("never", models.ContinueOnFailure, "cleanup"))
		runStep(t, s, wf.ID, "dump", models.JobFailed)
		require.Equal(t, map[string]models.JobState{"dump": models.JobFailed, "upload": models.JobSkipped, "check": models.JobSkipped,
			"alert": models.JobEnqueued, "cleanup": models.JobEnqueued, "never": models.JobAwaiting}, stepStates(t, s, wf.ID))
		runStep(t, s, wf.ID, "alert", models.JobSucceeded)
		runStep(t, s, wf.ID, "cleanup", models.JobSucceeded)
		require.Equal(t, models.JobSkipped, stepStates(t, s, wf.ID)["never"], "cleanup succeeded: a step on its failure is skipped")
		got, err := s.Workflows.GetWorkflow(ctx, wf.ID)
		require.NoError(t, err)
		require.Equal(t, models.WorkflowFailed, got.State)
		require.Equal(t, 0, got.StepsLeft)
		require.Equal(t, 1, got.StepsFailed)
	})
}

// The graph is checked before anything is stored: a cycle, an unknown step, a name used twice,
// an unknown condition are refused, naming the step.
func TestWorkflowGraphIsChecked(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		for _, tc := range []struct {
			steps []models.NewStep
			field string
			says  string
		}{
			{[]models.NewStep{step("a", "c"), step("b", "a"), step("c", "b"), step("d")}, "steps.a", `step "a" is part of a cycle`},
			{[]models.NewStep{step("a", "a")}, "steps.a", `step "a" depends on itself`},
			{[]models.NewStep{step("a"), step("b", "x")}, "steps.b", `step "b" depends on "x", which is not a step of this workflow`},
			{[]models.NewStep{step("a"), step("a")}, "steps.a", `two steps are named "a"`},
			{[]models.NewStep{onStep("a", "sometimes")}, "steps.a", `step "a" runs on "sometimes"`},
			{[]models.NewStep{step("a b")}, "steps.a b", `a step's name is`},
			{nil, "steps", "A workflow has 1 to"},
		} {
			err := s.Workflows.CreateWorkflow(ctx, &models.Workflow{Name: "bad"}, tc.steps, time.Now())
			require.Equal(t, models.EINVALID, models.ErrorCode(err), "%v", err)
			require.Contains(t, models.FieldErrors(err)[tc.field], tc.says)
		}
		require.Empty(t, claim(t, s, "n1", 10), "nothing stored")
	})
}

// Three nodes finish the many dependencies of one step at once: the step starts once, and the
// run counts every step.
func TestWorkflowConcurrentFinishesStartAStepOnce(t *testing.T) {
	dsn := modeltest.PostgresDSN(t)
	nodes := []*models.Store{modeltest.Open(t, dsn), modeltest.Open(t, dsn), modeltest.Open(t, dsn)}
	const fanIn = 60
	steps := []models.NewStep{}
	var deps []string
	for i := range fanIn {
		name := fmt.Sprintf("part-%d", i)
		steps, deps = append(steps, step(name)), append(deps, name)
	}
	steps = append(steps, step("last", deps...))
	for round := range 3 {
		wf := workflow(t, nodes[0], steps...)
		var wg sync.WaitGroup
		for n, s := range nodes {
			wg.Go(func() {
				for { // each node claims and finishes jobs one at a time, as fast as it can
					jobs, err := s.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "default", ServerID: fmt.Sprintf("n%d", n), Limit: 1, Lease: time.Minute, Now: time.Now()})
					if err != nil {
						t.Error(err)
						return
					}
					if len(jobs) == 0 {
						return
					}
					j := jobs[0]
					if _, _, err := s.Jobs.FinishJobs(ctx, []models.JobFinish{{JobID: j.ID, ServerID: j.ServerID, Attempt: j.Attempt,
						Run: j.Runs, State: models.JobSucceeded, At: time.Now()}}); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		got, err := nodes[0].Workflows.GetWorkflow(ctx, wf.ID)
		require.NoError(t, err)
		require.Equal(t, models.WorkflowSucceeded, got.State, "round %d", round)
		states := stepStates(t, nodes[0], wf.ID)
		require.Equal(t, models.JobSucceeded, states["last"], "round %d", round)
		all, err := nodes[0].Workflows.WorkflowSteps(ctx, wf.ID)
		require.NoError(t, err)
		last := all[len(all)-1]
		require.Equal(t, "last", last.Step)
		events, err := nodes[0].JobQueries.JobEvents(ctx, last.JobID)
		require.NoError(t, err)
		started := 0
		for _, e := range events {
			if e.To == models.JobEnqueued {
				started++
			}
		}
		require.Equal(t, 1, started, "round %d: the last step is started once: %v", round, events)
	}
}

// Retrying a failed run runs again its failed and skipped steps, keeping what succeeded, and
// completes it; cancelling a running run cancels its unfinished steps and starts none.
func TestWorkflowRetryAndCancel(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		wf := workflow(t, s, step("a"), step("b", "a"), step("c", "b"), onStep("tell", models.ContinueOnFailure, "c"))
		runStep(t, s, wf.ID, "a", models.JobSucceeded)
		runStep(t, s, wf.ID, "b", models.JobFailed)
		runStep(t, s, wf.ID, "tell", models.JobSucceeded)
		got, err := s.Workflows.GetWorkflow(ctx, wf.ID)
		require.NoError(t, err)
		require.Equal(t, models.WorkflowFailed, got.State)

		_, err = s.Workflows.CancelWorkflow(ctx, wf.ID, "test")
		require.Equal(t, models.ECONFLICT, models.ErrorCode(err), "ended already")
		_, err = s.Workflows.RetryWorkflow(ctx, wf.ID, "again")
		require.NoError(t, err)
		require.Equal(t, map[string]models.JobState{"a": models.JobSucceeded, "b": models.JobEnqueued, "c": models.JobAwaiting,
			"tell": models.JobSucceeded}, stepStates(t, s, wf.ID))
		got, err = s.Workflows.GetWorkflow(ctx, wf.ID)
		require.NoError(t, err)
		require.Equal(t, models.WorkflowRunning, got.State)
		require.Equal(t, 2, got.StepsLeft)
		_, err = s.Workflows.RetryWorkflow(ctx, wf.ID, "again")
		require.Equal(t, models.ECONFLICT, models.ErrorCode(err), "still running")
		runStep(t, s, wf.ID, "b", models.JobSucceeded)
		runStep(t, s, wf.ID, "c", models.JobSucceeded)
		got, err = s.Workflows.GetWorkflow(ctx, wf.ID)
		require.NoError(t, err)
		require.Equal(t, models.WorkflowSucceeded, got.State)
		_, err = s.Workflows.RetryWorkflow(ctx, wf.ID, "again")
		require.Equal(t, models.ECONFLICT, models.ErrorCode(err), "nothing failed")

		run := workflow(t, s, step("x"), step("y", "x"), onStep("cleanup", models.ContinueOnFinish, "y"))
		stopped, err := s.Workflows.CancelWorkflow(ctx, run.ID, "stop")
		require.NoError(t, err)
		require.Len(t, stopped, 3, "every unfinished step, at once: none is released by another's end")
		require.Equal(t, map[string]models.JobState{"x": models.JobCancelled, "y": models.JobCancelled, "cleanup": models.JobCancelled},
			stepStates(t, s, run.ID))
		got, err = s.Workflows.GetWorkflow(ctx, run.ID)
		require.NoError(t, err)
		require.Equal(t, models.WorkflowCancelled, got.State)
		require.Equal(t, 0, got.StepsLeft)
		require.Empty(t, claim(t, s, "n1", 10), "no step starts")
	})
}
