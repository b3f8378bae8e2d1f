// Package tasks holds Kiln's own job kinds: the sweep that completes overdue tasks, and the demo
// countdown behind the Tasks page's "Queue work item" button. They are registered through the
// job engine's public API, as any application's kinds are; the engine knows nothing of tasks.
package tasks

import (
	"context"
	"fmt"
	"time"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// The kinds, and the name of the sweep's recurring entry (the same as its kind).
const (
	KindSweepOverdue = "tasks.sweep_overdue"
	KindCountdown    = "demo.countdown"
)

// Defaults of Config.
const (
	DefaultSweepEvery     = "@every 1m"
	DefaultCountdownSteps = 3
	DefaultCountdownStep  = 5 * time.Second
)

// Config configures the app's kinds. The zero value of every field means its default.
type Config struct {
	// SweepEvery is the schedule of the overdue-task sweep. Default DefaultSweepEvery.
	SweepEvery string
	// CountdownSteps and CountdownStep shape the demo work item. Default 3 steps of 5s.
	CountdownSteps int
	CountdownStep  time.Duration
}

func (c Config) withDefaults() Config {
	if c.SweepEvery == "" {
		c.SweepEvery = DefaultSweepEvery
	}
	if c.CountdownSteps == 0 {
		c.CountdownSteps = DefaultCountdownSteps
	}
	if c.CountdownStep == 0 {
		c.CountdownStep = DefaultCountdownStep
	}
	return c
}

// CountdownArgs are the arguments of a demo.countdown job; zero fields take Config's shape.
type CountdownArgs struct {
	Steps       int     `json:"steps"`
	StepSeconds float64 `json:"step_seconds"`
}

// Register registers the sweep (recurring, and once at every start so that what fell due while
// no server ran is completed at once) and the countdown on e. Call it before e.Start.
func Register(e *jobs.Engine, store models.TaskStore, cfg Config) error {
	cfg = cfg.withDefaults()
	if cfg.CountdownSteps < 1 || cfg.CountdownStep <= 0 {
		return fmt.Errorf("%w: the countdown needs at least one step of a positive length", jobs.ErrInvalidConfig)
	}
	// Housekeeping: run every minute, the sweep would be most of the dashboard's recent jobs.
	if _, err := jobs.Register(e, KindSweepOverdue, sweepOverdue(store), jobs.MaxAttempts(3), jobs.Timeout(time.Minute), jobs.Housekeeping()); err != nil {
		return err
	}
	if _, err := jobs.Register(e, KindCountdown, countdown(cfg), jobs.MaxAttempts(1)); err != nil {
		return err
	}
	if err := e.OnStartup(KindSweepOverdue, nil); err != nil {
		return err
	}
	if err := e.Recurring(KindSweepOverdue, cfg.SweepEvery, KindSweepOverdue, nil); err != nil {
		return fmt.Errorf("sweep schedule: %w", err)
	}
	return nil
}

// EnqueueCountdown queues one demo work item with the configured shape.
func EnqueueCountdown(ctx context.Context, e *jobs.Engine) (*models.Job, error) {
	return e.Enqueue(ctx, KindCountdown, nil)
}

// sweepOverdue completes every overdue task in one set-based UPDATE.
func sweepOverdue(store models.TaskStore) func(context.Context, *jobs.Job[struct{}]) error {
	return func(ctx context.Context, _ *jobs.Job[struct{}]) error {
		n, err := store.CompleteOverdueTasks(ctx, time.Now())
		if err != nil {
			return err
		}
		jobs.Logf(ctx, "completed %d overdue tasks", n)
		return jobs.SetResult(ctx, map[string]int64{"completed": n})
	}
}

// countdown is the queued work item of the classic hosted-service sample: a few timed steps,
// each logged and reported as progress, stopping as soon as it is cancelled.
func countdown(cfg Config) func(context.Context, *jobs.Job[CountdownArgs]) error {
	return func(ctx context.Context, job *jobs.Job[CountdownArgs]) error {
		args := job.Args
		if args.Steps == 0 {
			args.Steps = cfg.CountdownSteps
		}
		if args.StepSeconds == 0 {
			args.StepSeconds = cfg.CountdownStep.Seconds()
		}
		if args.Steps < 1 || args.Steps > 1000 || args.StepSeconds <= 0 || args.StepSeconds > 3600 {
			return jobs.Permanent(fmt.Errorf("steps must be 1-1000 and step_seconds in (0, 3600]"))
		}
		step := time.Duration(args.StepSeconds * float64(time.Second))
		t := time.NewTimer(step)
		defer t.Stop()
		for i := 1; i <= args.Steps; i++ {
			jobs.Logf(ctx, "step %d/%d", i, args.Steps)
			t.Reset(step) // since Go 1.23 a Reset timer never delivers a stale tick
			select {
			case <-ctx.Done():
				jobs.Logf(ctx, "stopped at step %d/%d: %v", i, args.Steps, context.Cause(ctx))
				return ctx.Err()
			case <-t.C:
			}
			jobs.SetProgress(ctx, i*100/args.Steps)
		}
		jobs.Logf(ctx, "done")
		return nil
	}
}
