package bench

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
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
	// Rounds is how many times the pair (plain jobs, then the workflow) is run, alternating:
	// one pair's ratio swings with the machine's load; the median of three holds still.
	Rounds int
}

// WorkflowRound is one pair: the time to work Steps plain jobs, and a workflow of as many
// steps (from its start to its end), each no-op, both until the database has them all ended.
type WorkflowRound struct {
	PlainSecs float64 `json:"plain_secs"`
	RunSecs   float64 `json:"workflow_secs"`
	// StartSecs is how long of RunSecs storing the workflow took (StartWorkflow).
	StartSecs float64 `json:"workflow_start_secs"`
	Ratio     float64 `json:"ratio"`
}

// WorkflowReport is what the workflow phase measured: every round, and the round of the median
// ratio, whose figures are also the report's own.
type WorkflowReport struct {
	Steps  int             `json:"steps"`
	Rounds []WorkflowRound `json:"rounds"`
	WorkflowRound
}

func (r WorkflowReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Workflow (first, %d in between, last; no-op steps), %d rounds alternating:\n", r.Steps-2, len(r.Rounds))
	for i, w := range r.Rounds {
		fmt.Fprintf(&b, "  round %d: %d plain jobs %6.2f s, the workflow %6.2f s (%.2fx; storing it %.2f s)\n",
			i+1, r.Steps, w.PlainSecs, w.RunSecs, w.Ratio, w.StartSecs)
	}
	fmt.Fprintf(&b, "  median ratio %.2fx\n", r.Ratio)
	return b.String()
}

// Workflow works cfg.Steps plain no-op jobs, then a workflow of as many no-op steps (a fan-out
// between a first and a last step), cfg.Rounds times, on store with one engine, and reports
// their times.
func Workflow(ctx context.Context, store *models.Store, cfg WorkflowConfig, progress func(string)) (WorkflowReport, error) {
	setDefault(&cfg.Steps, 10_000)
	setDefault(&cfg.Workers, 50)
	setDefault(&cfg.Rounds, 3)
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
	w := workflowRun{store: store, engine: e, steps: cfg.Steps, done: &done, progress: progress}
	for i := range cfg.Rounds {
		round, err := w.round(ctx, int64(i))
		if err != nil {
			return r, err
		}
		r.Rounds = append(r.Rounds, round)
	}
	byRatio := slices.Clone(r.Rounds)
	slices.SortFunc(byRatio, func(a, b WorkflowRound) int { return cmp.Compare(a.Ratio, b.Ratio) })
	r.WorkflowRound = byRatio[len(byRatio)/2]
	return r, nil
}

// workflowRun is the engine and counts that the rounds of the workflow phase share.
type workflowRun struct {
	store    *models.Store
	engine   *jobs.Engine
	steps    int
	done     *atomic.Int64
	progress func(string)
}

// wait polls finished every 10 ms until it says so.
func (w workflowRun) wait(ctx context.Context, phase string, finished func() (bool, error)) error {
	for {
		ok, err := finished()
		if err != nil || ok {
			return err
		}
		w.progress(fmt.Sprintf("%s: %d/%d", phase, w.done.Load(), w.steps))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// round works the plain jobs, then the workflow; n rounds came before it.
func (w workflowRun) round(ctx context.Context, n int64) (WorkflowRound, error) {
	var r WorkflowRound
	w.done.Store(0)
	start := time.Now()
	batch := make([]jobs.EnqueueParams, w.steps)
	for i := range batch {
		batch[i] = jobs.EnqueueParams{Kind: "bench.step"}
	}
	for i := 0; i < len(batch); i += 1000 {
		if _, err := w.engine.EnqueueMany(ctx, batch[i:min(i+1000, len(batch))]); err != nil {
			return r, fmt.Errorf("plain jobs: %w", err)
		}
	}
	// Done when the database has them all succeeded, as the workflow is: the steps of the
	// rounds before, plain and the workflow's, count too.
	want := (2*n + 1) * int64(w.steps)
	if err := w.wait(ctx, "plain jobs", func() (bool, error) {
		if w.done.Load() < int64(w.steps) {
			return false, nil
		}
		counts, err := w.store.JobQueries.CountJobsByKind(ctx)
		return counts["bench.step"][models.JobSucceeded] >= want, err
	}); err != nil {
		return r, err
	}
	r.PlainSecs = time.Since(start).Seconds()

	w.done.Store(0)
	start = time.Now()
	// The fan-out is what a user writes: one step with for_each over its items.
	items := make([]int, w.steps-2)
	for i := range items {
		items[i] = i
	}
	wf := jobs.NewWorkflow("bench").Add(
		jobs.Step{Name: "first", Kind: "bench.step"},
		jobs.Step{Name: "each", Kind: "bench.step", Args: map[string]string{"item": "${item}"}, ForEach: items, DependsOn: []string{"first"}},
		jobs.Step{Name: "last", Kind: "bench.step", DependsOn: []string{"each"}})
	run, err := w.engine.StartWorkflow(ctx, wf)
	if err != nil {
		return r, fmt.Errorf("workflow: %w", err)
	}
	r.StartSecs = time.Since(start).Seconds()
	if err := w.wait(ctx, "workflow", func() (bool, error) {
		got, err := w.store.Workflows.GetWorkflow(ctx, run.ID)
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
