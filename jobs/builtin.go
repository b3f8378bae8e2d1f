package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/kilnhq/kiln/models"
)

// The built-in job kinds, and the names of their recurring entries.
const (
	KindSweepOverdue = "tasks.sweep_overdue"
	KindCleanup      = "jobs.cleanup"
	KindCountdown    = "demo.countdown"
)

// BuiltinConfig configures the built-in jobs. The zero value of every field means its default.
type BuiltinConfig struct {
	// SweepEvery is the schedule of the overdue-task sweep. Default "@every 1m".
	SweepEvery string
	// CleanupEvery is the schedule of retention. Default "@every 1h".
	CleanupEvery string
	// Retention is how long succeeded, cancelled and deleted jobs are kept. Default 7 days.
	Retention time.Duration
	// CountdownSteps and CountdownStep shape the demo work item. Default 3 steps of 5s.
	CountdownSteps int
	CountdownStep  time.Duration
}

func (c BuiltinConfig) withDefaults() BuiltinConfig {
	setDefault(&c.SweepEvery, "@every 1m")
	setDefault(&c.CleanupEvery, "@every 1h")
	setDefault(&c.Retention, 7*24*time.Hour)
	setDefault(&c.CountdownSteps, 3)
	setDefault(&c.CountdownStep, 5*time.Second)
	return c
}

// CleanupArgs are the arguments of a jobs.cleanup job.
type CleanupArgs struct {
	// OlderThan is a Go duration: finished jobs older than this are deleted.
	OlderThan string `json:"older_than"`
}

// CountdownArgs are the arguments of a demo.countdown job.
type CountdownArgs struct {
	Steps       int     `json:"steps"`
	StepSeconds float64 `json:"step_seconds"`
}

// RegisterBuiltins registers the built-in kinds, the recurring overdue sweep and retention, and a
// sweep at every start. Call it before Start.
func (e *Engine) RegisterBuiltins(cfg BuiltinConfig) error {
	cfg = cfg.withDefaults()
	if cfg.Retention < time.Minute || cfg.CountdownSteps < 1 || cfg.CountdownStep <= 0 {
		return fmt.Errorf("%w: retention must be at least 1m, and the countdown needs steps", ErrInvalidConfig)
	}
	if err := e.Register(KindSweepOverdue, sweepOverdue, MaxAttempts(3), Timeout(time.Minute)); err != nil {
		return err
	}
	if err := e.Register(KindCleanup, cleanup, MaxAttempts(3), Timeout(30*time.Minute)); err != nil {
		return err
	}
	if err := e.Register(KindCountdown, countdown(cfg), MaxAttempts(1)); err != nil {
		return err
	}
	// Start-up work: complete what fell due while no server ran, without waiting for the next tick.
	if err := e.OnStartup(KindSweepOverdue, nil); err != nil {
		return err
	}
	if err := e.Recurring(KindSweepOverdue, cfg.SweepEvery, KindSweepOverdue, nil); err != nil {
		return fmt.Errorf("sweep schedule: %w", err)
	}
	if err := e.Recurring(KindCleanup, cfg.CleanupEvery, KindCleanup, CleanupArgs{OlderThan: cfg.Retention.String()}); err != nil {
		return fmt.Errorf("cleanup schedule: %w", err)
	}
	return nil
}

// EnqueueCountdown queues one demo work item with the default shape.
func (e *Engine) EnqueueCountdown(ctx context.Context) (*models.Job, error) {
	return e.Enqueue(ctx, KindCountdown, nil)
}

// sweepOverdue completes every overdue task in one set-based UPDATE.
func sweepOverdue(ctx context.Context, _ *models.Job) error {
	s := stateOf(ctx)
	n, err := s.e.store.CompleteOverdueTasks(ctx, time.Now())
	if err != nil {
		return err
	}
	Logf(ctx, "completed %d overdue tasks", n)
	return SetResult(ctx, map[string]int64{"completed": n})
}

// cleanup deletes old finished jobs in batches.
func cleanup(ctx context.Context, job *models.Job) error {
	var args CleanupArgs
	if err := job.DecodeArgs(&args); err != nil {
		return Permanent(err)
	}
	age, err := time.ParseDuration(args.OlderThan)
	if err != nil || age < time.Minute {
		return Permanent(fmt.Errorf("older_than %q must be a duration of at least 1m", args.OlderThan))
	}
	store := stateOf(ctx).e.store
	n, err := store.CleanupJobs(ctx, time.Now().Add(-age), 1000)
	Logf(ctx, "deleted %d finished jobs older than %s", n, age)
	if err != nil {
		return err
	}
	if err := store.CleanupStats(ctx, time.Now()); err != nil {
		return err
	}
	return SetResult(ctx, map[string]int64{"deleted": n})
}

// countdown is the queued work item of the classic hosted-service sample: a few timed steps,
// each logged and reported as progress, stopping as soon as it is cancelled.
func countdown(cfg BuiltinConfig) WorkFunc {
	return func(ctx context.Context, job *models.Job) error {
		args := CountdownArgs{Steps: cfg.CountdownSteps, StepSeconds: cfg.CountdownStep.Seconds()}
		if err := job.DecodeArgs(&args); err != nil {
			return Permanent(err)
		}
		if args.Steps < 1 || args.Steps > 1000 || args.StepSeconds <= 0 || args.StepSeconds > 3600 {
			return Permanent(fmt.Errorf("steps must be 1-1000 and step_seconds in (0, 3600]"))
		}
		step := time.Duration(args.StepSeconds * float64(time.Second))
		t := time.NewTimer(step)
		defer t.Stop()
		for i := 1; i <= args.Steps; i++ {
			Logf(ctx, "step %d/%d", i, args.Steps)
			resetTimer(t, step)
			select {
			case <-ctx.Done():
				Logf(ctx, "stopped at step %d/%d: %v", i, args.Steps, context.Cause(ctx))
				return ctx.Err()
			case <-t.C:
			}
			SetProgress(ctx, i*100/args.Steps)
		}
		Logf(ctx, "done")
		return nil
	}
}
