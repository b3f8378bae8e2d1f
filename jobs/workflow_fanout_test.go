package jobs_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// A fan-out of 5,000 items over a dependency's result runs each item once, then the final
// step, which reads all their results typed (jobs.StepResult).
func TestWorkflowFanOutOf5000(t *testing.T) {
	const n = 5000
	cfg := fast()
	cfg.Queues = []jobs.QueueConfig{{Name: jobs.DefaultQueue, Workers: 20}}
	forEachDialect(t, cfg, func(t *testing.T, e *jobs.Engine, s *models.Store) {
		var runs atomic.Int64
		var seen [n]atomic.Int32
		var total atomic.Int64
		require.NoError(t, e.Register("wf.list", func(ctx context.Context, j *models.Job) error {
			pages := make([]int, n)
			for i := range pages {
				pages[i] = i
			}
			return jobs.SetResult(ctx, map[string]any{"pages": pages})
		}))
		require.NoError(t, e.Register("wf.render", func(ctx context.Context, j *models.Job) error {
			var a struct{ Page int }
			if err := j.DecodeArgs(&a); err != nil {
				return err
			}
			seen[a.Page].Add(1)
			runs.Add(1)
			return jobs.SetResult(ctx, map[string]int{"bytes": a.Page * 2})
		}))
		require.NoError(t, e.Register("wf.zip", func(ctx context.Context, j *models.Job) error {
			got, err := jobs.StepResult[[]struct{ Bytes int }](ctx, j, "render")
			if err != nil {
				return err
			}
			if len(got) != n {
				return jobs.Permanent(fmt.Errorf("zip read %d results", len(got)))
			}
			for _, r := range got {
				total.Add(int64(r.Bytes))
			}
			return nil
		}))
		start(t, e)
		run, err := e.StartWorkflow(ctx, jobs.NewWorkflow("pdfs").Add(
			jobs.Step{Name: "list", Kind: "wf.list"},
			jobs.Step{Name: "render", Kind: "wf.render", Args: map[string]string{"page": "${item}"}, ForEach: "${steps.list.result.pages}", DependsOn: []string{"list"}},
			jobs.Step{Name: "zip", Kind: "wf.zip", DependsOn: []string{"render"}},
		))
		require.NoError(t, err)
		waitWorkflow(t, s, run.ID, models.WorkflowSucceeded)
		require.Equal(t, int64(n), runs.Load())
		for i := range seen {
			require.Equal(t, int32(1), seen[i].Load(), "page %d rendered once", i)
		}
		require.Equal(t, int64(n*(n-1)), total.Load(), "zip read every result, in item order or not")
		wf, err := s.Workflows.GetWorkflow(ctx, run.ID)
		require.NoError(t, err)
		require.Equal(t, n+2, wf.StepsTotal)
		nodes, err := s.Workflows.WorkflowGraph(ctx, run.ID)
		require.NoError(t, err)
		require.Len(t, nodes, 3)
		require.Equal(t, n, nodes[1].Jobs)
		require.Equal(t, n, nodes[1].States[models.JobSucceeded])
	})
}

// A result too big to keep fails the step that produced it, though its worker ignored
// SetResult's error: the steps that need it are skipped.
func TestWorkflowResultOverTheCapFailsItsStep(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		require.NoError(t, e.Register("wf.big", func(ctx context.Context, j *models.Job) error {
			_ = jobs.SetResult(ctx, strings.Repeat("x", models.JobResultMax+1))
			return nil
		}))
		var ran atomic.Bool
		require.NoError(t, e.Register("wf.after", func(context.Context, *models.Job) error { ran.Store(true); return nil }))
		start(t, e)
		run, err := e.StartWorkflow(ctx, jobs.NewWorkflow("big").Add(
			jobs.Step{Name: "big", Kind: "wf.big"},
			jobs.Step{Name: "after", Kind: "wf.after", Args: map[string]string{"x": "${steps.big.result}"}, DependsOn: []string{"big"}},
		))
		require.NoError(t, err)
		waitWorkflow(t, s, run.ID, models.WorkflowFailed)
		require.False(t, ran.Load())
		steps, err := s.Workflows.WorkflowSteps(ctx, run.ID)
		require.NoError(t, err)
		big, err := s.JobQueries.GetJob(ctx, steps[0].JobID)
		require.NoError(t, err)
		require.Equal(t, models.JobFailed, big.State)
		require.Contains(t, big.LastError, "at most 524288 are kept")
		require.Equal(t, models.JobSkipped, steps[1].State)
	})
}
