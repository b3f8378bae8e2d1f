package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// WorkflowConfig shapes the workflow phase.
type WorkflowConfig struct {
	// Steps is the workflow's size: a first step, Steps-2 steps that depend on it, and a last
	// that depends on them all. The same number of plain jobs is worked for comparison.
	Steps   int
	Workers int
}

// WorkflowReport is what the workflow phase measured: the time to work Steps plain jobs, and a
// workflow of as many steps (from its start to its end), each no-op.
type WorkflowReport struct {
	Steps     int     `json:"steps"`
	PlainSecs float64 `json:"plain_secs"`
	RunSecs   float64 `json:"workflow_secs"`
	// StartSecs is how long of RunSecs storing the workflow took (StartWorkflow).
	StartSecs float64 `json:"workflow_start_secs"`
	Ratio     float64 `json:"ratio"`
}

func (r WorkflowReport) String() string {
	return fmt.Sprintf("Workflow (first, %d in between, last; no-op steps):\n  %d plain jobs   %8.2f s\n  the workflow    %8.2f s (%.2fx; storing it %.2f s)\n",
		r.Steps-2, r.Steps, r.PlainSecs, r.RunSecs, r.Ratio, r.StartSecs)
}

// Workflow works cfg.Steps plain no-op jobs, then a workflow of as many no-op steps (a fan-out
// between a first and a last step), on store with one engine, and reports both times.
func Workflow(ctx context.Context, store *models.Store, cfg WorkflowConfig, progress func(string)) (WorkflowReport, error) {
	setDefault(&cfg.Steps, 10_000)
	setDefault(&cfg.Workers, 50)
	r := WorkflowReport{Steps: cfg.Steps}
	if cfg.Steps < 3 {
		return r, fmt.Errorf("a workflow of %d steps has no fan-out: give at least 3", cfg.Steps)
	}
	var done atomic.Int64
	e, err := jobs.New(store, jobs.Config{Queues: []jobs.QueueConfig{{Name: jobs.DefaultQueue, Workers: cfg.Workers}}})
	if err != nil {
		return r, err
	}
	if err := e.Register("bench.step", func(context.Context, *models.Job) error { done.Add(1); return nil }); err != nil {
		return r, err
	}
	if err := e.Start(ctx); err != nil {
		return r, err
	}
	defer func() { _ = e.Stop(context.WithoutCancel(ctx)) }()
	wait := func(phase string, want int64, finished func() (bool, error)) error {
		for {
			ok, err := finished()
			if err != nil || ok {
				return err
			}
			progress(fmt.Sprintf("%s: %d/%d", phase, done.Load(), want))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
		}
	}

	start := time.Now()
	batch := make([]jobs.EnqueueParams, cfg.Steps)
	for i := range batch {
		batch[i] = jobs.EnqueueParams{Kind: "bench.step"}
	}
	for i := 0; i < len(batch); i += 1000 {
		if _, err := e.EnqueueMany(ctx, batch[i:min(i+1000, len(batch))]); err != nil {
			return r, fmt.Errorf("plain jobs: %w", err)
		}
	}
	want := int64(cfg.Steps)
	if err := wait("plain jobs", want, func() (bool, error) { return done.Load() >= want, nil }); err != nil {
		return r, err
	}
	r.PlainSecs = time.Since(start).Seconds()

	done.Store(0)
	start = time.Now()
	// The fan-out is what a user writes: one step with for_each over its items.
	items := make([]int, cfg.Steps-2)
	for i := range items {
		items[i] = i
	}
	wf := jobs.NewWorkflow("bench").Add(
		jobs.Step{Name: "first", Kind: "bench.step"},
		jobs.Step{Name: "each", Kind: "bench.step", Args: map[string]string{"item": "${item}"}, ForEach: items, DependsOn: []string{"first"}},
		jobs.Step{Name: "last", Kind: "bench.step", DependsOn: []string{"each"}})
	run, err := e.StartWorkflow(ctx, wf)
	if err != nil {
		return r, fmt.Errorf("workflow: %w", err)
	}
	r.StartSecs = time.Since(start).Seconds()
	if err := wait("workflow", want, func() (bool, error) {
		got, err := store.Workflows.GetWorkflow(ctx, run.ID)
		if err != nil {
			return false, err
		}
		if got.State != models.WorkflowRunning && got.State != models.WorkflowSucceeded {
			return false, fmt.Errorf("the workflow ended %s", got.State)
		}
		return got.State == models.WorkflowSucceeded, nil
	}); err != nil {
		return r, err
	}
	r.RunSecs = time.Since(start).Seconds()
	r.Ratio = r.RunSecs / r.PlainSecs
	return r, nil
}
