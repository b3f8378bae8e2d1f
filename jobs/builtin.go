package jobs

import (
	"context"
	"fmt"
	"time"
)

// KindCleanup is the built-in retention kind, and the name of its recurring entry.
const KindCleanup = "jobs.cleanup"

// Defaults of BuiltinConfig.
const (
	DefaultCleanupEvery = "@every 1h"
	DefaultRetention    = 7 * 24 * time.Hour
)

// BuiltinConfig configures the built-in jobs. The zero value of every field means its default.
type BuiltinConfig struct {
	// CleanupEvery is the schedule of retention. Default DefaultCleanupEvery.
	CleanupEvery string
	// Retention is how long succeeded, cancelled and deleted jobs are kept. Default
	// DefaultRetention.
	Retention time.Duration
}

func (c BuiltinConfig) withDefaults() BuiltinConfig {
	setDefault(&c.CleanupEvery, DefaultCleanupEvery)
	setDefault(&c.Retention, DefaultRetention)
	return c
}

// CleanupArgs are the arguments of a jobs.cleanup job.
type CleanupArgs struct {
	// OlderThan is a Go duration: finished jobs older than this are deleted.
	OlderThan string `json:"older_than"`
}

// RegisterBuiltins registers the built-in kinds and their recurring entries: retention. Call it
// before Start.
func (e *Engine) RegisterBuiltins(cfg BuiltinConfig) error {
	cfg = cfg.withDefaults()
	if cfg.Retention < time.Minute {
		return fmt.Errorf("%w: retention must be at least 1m", ErrInvalidConfig)
	}
	if _, err := Register(e, KindCleanup, cleanup, MaxAttempts(3), Timeout(30*time.Minute)); err != nil {
		return err
	}
	if err := e.Recurring(KindCleanup, cfg.CleanupEvery, KindCleanup, CleanupArgs{OlderThan: cfg.Retention.String()}); err != nil {
		return fmt.Errorf("cleanup schedule: %w", err)
	}
	return nil
}

// cleanup deletes old finished jobs in batches.
func cleanup(ctx context.Context, job *Job[CleanupArgs]) error {
	age, err := time.ParseDuration(job.Args.OlderThan)
	if err != nil || age < time.Minute {
		return Permanent(fmt.Errorf("older_than %q must be a duration of at least 1m", job.Args.OlderThan))
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
