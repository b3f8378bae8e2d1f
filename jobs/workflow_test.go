package jobs_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// The diamond runs through the engine: a, then b and c, then d; and a workflow whose first step
// fails runs its on-failure step, skips the rest and ends failed.
func TestWorkflowThroughTheEngine(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		var mu sync.Mutex
		var order []string
		ran := func(ctx context.Context, j *models.Job) error {
			var args struct{ Step string }
			if err := j.DecodeArgs(&args); err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			order = append(order, args.Step)
			if args.Step == "broken" {
				return jobs.Permanent(errors.New("it broke"))
			}
			return nil
		}
		require.NoError(t, e.Register("wf.step", ran))
		start(t, e)
		add := func(name string, deps []string, opts ...jobs.Option) jobs.Step {
			return jobs.Step{Name: name, Kind: "wf.step", Args: map[string]string{"step": name}, DependsOn: deps, Opts: opts}
		}

		run, err := e.StartWorkflow(jobs.WithActor(ctx, "ada"), jobs.NewWorkflow("diamond").
			Add(add("a", nil), add("b", []string{"a"}), add("c", []string{"a"}), add("d", []string{"b", "c"})))
		require.NoError(t, err)
		require.Equal(t, "ada", run.CreatedBy)
		waitWorkflow(t, s, run.ID, models.WorkflowSucceeded)
		mu.Lock()
		require.Len(t, order, 4)
		require.Equal(t, "a", order[0])
		require.Equal(t, "d", order[3])
		order = nil
		mu.Unlock()

		run, err = e.StartWorkflow(ctx, jobs.NewWorkflow("broken").
			Add(add("broken", nil), add("after", []string{"broken"}), add("tell", []string{"after"}, jobs.OnFailure())))
		require.NoError(t, err)
		waitWorkflow(t, s, run.ID, models.WorkflowFailed)
		mu.Lock()
		require.Equal(t, []string{"broken", "tell"}, order)
		mu.Unlock()
		steps, err := s.Workflows.WorkflowSteps(ctx, run.ID)
		require.NoError(t, err)
		require.Equal(t, models.JobSkipped, steps[1].State)

		_, err = e.StartWorkflow(ctx, jobs.NewWorkflow("bad").Add(add("a", nil, jobs.TimeZone("UTC"))))
		require.ErrorIs(t, err, jobs.ErrInvalidOption)
		_, err = e.StartWorkflow(ctx, jobs.NewWorkflow("bad").Add(jobs.Step{Name: "a", Kind: "wf.step", Args: make(chan int)}))
		require.Equal(t, models.EINVALID, models.ErrorCode(err))
		require.Contains(t, models.FieldErrors(err)["steps.a"], "can't be stored as JSON")
	})
}

// waitWorkflow waits for the run to reach want.
func waitWorkflow(t *testing.T, s *models.Store, id int64, want models.WorkflowState) {
	t.Helper()
	require.Eventually(t, func() bool {
		wf, err := s.Workflows.GetWorkflow(ctx, id)
		require.NoError(t, err)
		return wf.State == want
	}, 20*time.Second, 10*time.Millisecond, "workflow %d never reached %s", id, want)
}

// A failed run retried runs its failed and skipped steps and succeeds; a running run cancelled
// cancels its running step's context, and starts nothing after.
func TestWorkflowRetryAndCancelThroughTheEngine(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		var mu sync.Mutex
		fixed := false
		var ran []string
		require.NoError(t, e.Register("wf.flaky", func(ctx context.Context, j *models.Job) error {
			mu.Lock()
			defer mu.Unlock()
			ran = append(ran, "flaky")
			if !fixed {
				return jobs.Permanent(errors.New("not yet"))
			}
			return nil
		}))
		require.NoError(t, e.Register("wf.after", func(ctx context.Context, j *models.Job) error {
			mu.Lock()
			defer mu.Unlock()
			ran = append(ran, "after")
			return nil
		}))
		started := make(chan struct{}, 1)
		stopped := make(chan error, 1)
		require.NoError(t, e.Register("wf.long", func(ctx context.Context, j *models.Job) error {
			started <- struct{}{}
			<-ctx.Done()
			stopped <- ctx.Err()
			return ctx.Err()
		}))
		start(t, e)

		run, err := e.StartWorkflow(ctx, jobs.NewWorkflow("flaky").Add(jobs.Step{Name: "flaky", Kind: "wf.flaky"},
			jobs.Step{Name: "after", Kind: "wf.after", DependsOn: []string{"flaky"}}))
		require.NoError(t, err)
		waitWorkflow(t, s, run.ID, models.WorkflowFailed)
		mu.Lock()
		fixed = true
		mu.Unlock()
		require.NoError(t, e.RetryWorkflow(ctx, run.ID))
		waitWorkflow(t, s, run.ID, models.WorkflowSucceeded)
		mu.Lock()
		require.Equal(t, []string{"flaky", "flaky", "after"}, ran)
		mu.Unlock()

		run, err = e.StartWorkflow(ctx, jobs.NewWorkflow("long").Add(jobs.Step{Name: "long", Kind: "wf.long"},
			jobs.Step{Name: "after", Kind: "wf.after", DependsOn: []string{"long"}, Opts: []jobs.Option{jobs.OnAnyFinalState()}}))
		require.NoError(t, err)
		<-started
		require.NoError(t, e.CancelWorkflow(jobs.WithActor(ctx, "ada"), run.ID))
		require.ErrorIs(t, <-stopped, context.Canceled)
		waitWorkflow(t, s, run.ID, models.WorkflowCancelled)
		steps, err := s.Workflows.WorkflowSteps(ctx, run.ID)
		require.NoError(t, err)
		require.Equal(t, models.JobCancelled, steps[0].State)
		require.Equal(t, models.JobCancelled, steps[1].State, "released to run on any outcome, and cancelled with the run")
		mu.Lock()
		require.Len(t, ran, 3, "after never ran")
		mu.Unlock()
	})
}

// A workflow StartedBy a job starts one run for that job, however often it is started (the job
// rescued and run again, or two attempts at once): each start returns the run of the first.
func TestWorkflowStartedByAJobStartsOnce(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		require.NoError(t, e.Register("wf.step", func(context.Context, *models.Job) error { return nil }))
		starter, err := e.Enqueue(ctx, "wf.starter", nil)
		require.NoError(t, err)
		start := func() (*models.Workflow, error) {
			return e.StartWorkflow(ctx, jobs.NewWorkflow("nightly").Add(jobs.Step{Name: "a", Kind: "wf.step"}).StartedBy(starter.ID))
		}
		first, err := start()
		require.NoError(t, err)
		require.Equal(t, starter.ID, *first.StartJobID)
		again, err := start()
		require.NoError(t, err)
		require.Equal(t, first.ID, again.ID, "the run the job started before")

		other, err := e.Enqueue(ctx, "wf.starter", nil)
		require.NoError(t, err)
		ids := make([]int64, 4)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() {
				run, err := e.StartWorkflow(ctx, jobs.NewWorkflow("nightly").Add(jobs.Step{Name: "a", Kind: "wf.step"}).StartedBy(other.ID))
				require.NoError(t, err)
				ids[i] = run.ID
			})
		}
		wg.Wait()
		require.NotEqual(t, first.ID, ids[0])
		for _, id := range ids {
			require.Equal(t, ids[0], id, "one run for the job, whichever start stored it")
		}
		page, err := s.Workflows.ListWorkflows(ctx, models.WorkflowFilter{}, 0, 100)
		require.NoError(t, err)
		require.Len(t, page.Runs, 2, "one run per job")
		stepsOf, err := s.Workflows.WorkflowSteps(ctx, ids[0])
		require.NoError(t, err)
		require.Len(t, stepsOf, 1)
		found, err := s.Workflows.WorkflowStartedBy(ctx, other.ID)
		require.NoError(t, err)
		require.Equal(t, ids[0], found.ID)
		none, err := s.Workflows.WorkflowStartedBy(ctx, 999999)
		require.NoError(t, err)
		require.Nil(t, none)
	})
}
