package jobs

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/kilnhq/kiln/models"
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
	// FailedRetention is how long failed jobs are kept; 0 (the default) keeps them until they
	// are deleted by hand, for inspection.
	FailedRetention time.Duration
	// Secrets reveals the secrets http.request and exec jobs refer to as ${secret:NAME}. Nil:
	// a job that refers to one is refused.
	Secrets Secrets
	// HTTPClient makes http.request's requests. Default: a client with the default transport
	// (proxy from the environment) and no overall timeout (each job sets its own).
	HTTPClient *http.Client
	// ExecAllow lists the programs exec jobs may run: absolute paths or filepath.Match globs
	// (/usr/local/bin/*). Empty: exec jobs are refused.
	ExecAllow []string
	// ExecGrace is how long a cancelled or timed-out exec program has between SIGTERM and
	// SIGKILL. Default DefaultExecGrace.
	ExecGrace time.Duration
}

func (c BuiltinConfig) withDefaults() BuiltinConfig {
	setDefault(&c.CleanupEvery, DefaultCleanupEvery)
	setDefault(&c.Retention, DefaultRetention)
	setDefault(&c.ExecGrace, DefaultExecGrace)
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	return c
}

// CleanupArgs are the arguments of a jobs.cleanup job.
type CleanupArgs struct {
	// OlderThan is a Go duration: succeeded, cancelled and deleted jobs older than this are
	// deleted.
	OlderThan string `json:"older_than"`
	// FailedOlderThan, when set, is a Go duration: failed jobs older than this are deleted too.
	FailedOlderThan string `json:"failed_older_than,omitempty"`
}

// RegisterBuiltins registers the built-in kinds: jobs.cleanup (retention) with its recurring
// entry, http.request and exec. Call it before Start.
func (e *Engine) RegisterBuiltins(cfg BuiltinConfig) error {
	cfg = cfg.withDefaults()
	if cfg.Retention < time.Minute {
		return fmt.Errorf("%w: retention must be at least 1m", ErrInvalidConfig)
	}
	if cfg.FailedRetention != 0 && cfg.FailedRetention < time.Minute {
		return fmt.Errorf("%w: the retention of failed jobs must be 0 (keep them) or at least 1m", ErrInvalidConfig)
	}
	if _, err := Register(e, KindCleanup, cleanup, MaxAttempts(3), Timeout(30*time.Minute)); err != nil {
		return err
	}
	if cfg.ExecGrace < 0 {
		return fmt.Errorf("%w: the exec grace period must not be negative", ErrInvalidConfig)
	}
	for _, pat := range cfg.ExecAllow {
		if _, err := filepath.Match(pat, "/"); err != nil || !filepath.IsAbs(pat) {
			return fmt.Errorf("%w: --exec-allow: %q is not an absolute path or glob", ErrInvalidConfig, pat)
		}
	}
	hw := &httpWorker{client: cfg.HTTPClient, secrets: cfg.Secrets}
	if _, err := registerChecked(e, KindHTTPRequest, hw.work, func(ctx context.Context, a *HTTPRequestArgs) error {
		return checkHTTPArgs(ctx, cfg.Secrets, a)
	}, []Option{MaxAttempts(5)}); err != nil {
		return err
	}
	e.mu.Lock()
	e.execAllow = append([]string(nil), cfg.ExecAllow...)
	e.mu.Unlock()
	xw := &execWorker{policy: ExecPolicy{Allow: cfg.ExecAllow}, grace: cfg.ExecGrace, secrets: cfg.Secrets}
	if _, err := registerChecked(e, KindExec, xw.work, func(ctx context.Context, a *ExecArgs) error {
		return checkExecArgs(ctx, xw.policy, cfg.Secrets, a)
	}, []Option{MaxAttempts(1)}); err != nil {
		return err
	}
	args := CleanupArgs{OlderThan: cfg.Retention.String()}
	if cfg.FailedRetention > 0 {
		args.FailedOlderThan = cfg.FailedRetention.String()
	}
	if err := e.Recurring(KindCleanup, cfg.CleanupEvery, KindCleanup, args); err != nil {
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
	var failedAge time.Duration
	if job.Args.FailedOlderThan != "" {
		if failedAge, err = time.ParseDuration(job.Args.FailedOlderThan); err != nil || failedAge < time.Minute {
			return Permanent(fmt.Errorf("failed_older_than %q must be a duration of at least 1m", job.Args.FailedOlderThan))
		}
	}
	store := stateOf(ctx).e.store
	n, err := store.CleanupJobs(ctx, models.RetainedStates, time.Now().Add(-age), 1000)
	Logf(ctx, "deleted %d finished jobs older than %s", n, age)
	if err != nil {
		return err
	}
	if failedAge > 0 {
		failed, err := store.CleanupJobs(ctx, []models.JobState{models.JobFailed}, time.Now().Add(-failedAge), 1000)
		Logf(ctx, "deleted %d failed jobs older than %s", failed, failedAge)
		if err != nil {
			return err
		}
		n += failed
	}
	if err := store.CleanupStats(ctx, time.Now()); err != nil {
		return err
	}
	return SetResult(ctx, map[string]int64{"deleted": n})
}

// ExecAllowed returns the programs exec jobs may run on this server (--exec-allow); none when
// exec jobs are off.
func (e *Engine) ExecAllowed() []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return append([]string(nil), e.execAllow...)
}
