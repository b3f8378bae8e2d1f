// Package builtin holds Kiln's built-in job kinds: http.request (with ${secret:NAME} filled in
// and masked in what is kept), exec (programs on an allow-list), workflow.start (a run of a
// workflow, as a schedule starts one) and jobs.cleanup (retention).
// They are registered with Register through the job engine's public API, as any application's
// kinds are; the engine knows nothing of them.
package builtin

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// KindCleanup is the built-in retention kind, and the name of its recurring entry.
const KindCleanup = "jobs.cleanup"

// Defaults of Config.
const (
	DefaultCleanupEvery = "@every 1h"
	DefaultRetention    = 7 * 24 * time.Hour
)

// Config configures the built-in jobs. The zero value of every field means its default.
type Config struct {
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
	// (/usr/local/bin/backup-*), matched against the file a job's program leads to once links
	// are followed. Empty: exec jobs are refused. An entry that lets a job run anything (a shell,
	// an interpreter, env, sudo, a glob) is logged as a warning at start.
	ExecAllow []string
	// ExecAllowEnv lists the environment variables an exec job's env may set, besides LANG,
	// LANGUAGE, LC_* and TZ, which any job may. Default none. PATH, HOME, TMPDIR and USER are
	// Kiln's and can't be listed.
	ExecAllowEnv []string
	// ExecGrace is how long a cancelled or timed-out exec program has between SIGTERM and
	// SIGKILL. Default DefaultExecGrace.
	ExecGrace time.Duration
}

func (c Config) withDefaults() Config {
	if c.CleanupEvery == "" {
		c.CleanupEvery = DefaultCleanupEvery
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.ExecGrace == 0 {
		c.ExecGrace = DefaultExecGrace
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	return c
}

// Validate reports the first setting that can't work, in words naming its flag. Register calls
// it; a program's configuration can call it earlier, before anything starts.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.Retention < time.Minute {
		return fmt.Errorf("%w: retention must be at least 1m", jobs.ErrInvalidConfig)
	}
	if c.FailedRetention != 0 && c.FailedRetention < time.Minute {
		return fmt.Errorf("%w: the retention of failed jobs must be 0 (keep them) or at least 1m", jobs.ErrInvalidConfig)
	}
	if c.ExecGrace < 0 {
		return fmt.Errorf("%w: the exec grace period must not be negative", jobs.ErrInvalidConfig)
	}
	for _, pat := range c.ExecAllow {
		if _, err := filepath.Match(pat, "/"); err != nil || !filepath.IsAbs(pat) {
			return fmt.Errorf("%w: --exec-allow: %q is not an absolute path or glob", jobs.ErrInvalidConfig, pat)
		}
	}
	for _, name := range c.ExecAllowEnv {
		if !envNameRE.MatchString(name) {
			return fmt.Errorf("%w: --exec-allow-env: %q is not a variable name (letters, digits and _, not first a digit)", jobs.ErrInvalidConfig, name)
		}
		if slices.Contains(execBaseEnv, name) {
			return fmt.Errorf("%w: --exec-allow-env: %s can't be given to jobs: Kiln sets %s for every program, so that a job can't point it at other programs or configuration",
				jobs.ErrInvalidConfig, name, strings.Join(execBaseEnv, ", "))
		}
	}
	return nil
}

// CleanupArgs are the arguments of a jobs.cleanup job.
type CleanupArgs struct {
	// OlderThan is a Go duration: succeeded, cancelled and deleted jobs older than this are
	// deleted.
	OlderThan string `json:"older_than"`
	// FailedOlderThan, when set, is a Go duration: failed jobs older than this are deleted too.
	FailedOlderThan string `json:"failed_older_than,omitempty"`
}

// ExecPolicy is what exec jobs may run under c, and with which environment: the rules Register
// gives the exec kind, for the pages that show them.
func (c Config) ExecPolicy() ExecPolicy {
	return ExecPolicy{Allow: slices.Clone(c.ExecAllow), Env: slices.Clone(c.ExecAllowEnv)}
}

// Store is what the built-in kinds keep in the database: jobs.cleanup deletes old jobs and
// counters through it. *models.Store is one.
type Store interface {
	CleanupJobs(ctx context.Context, states []models.JobState, before time.Time, batch int) (int64, error)
	CleanupStats(ctx context.Context, now time.Time) error
}

// Register registers the built-in kinds on e: jobs.cleanup (retention, on store) with its
// recurring entry, http.request, exec and workflow.start (which starts its runs on e). Call it
// before e.Start.
func Register(e *jobs.Engine, store Store, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	if _, err := jobs.Register(e, KindCleanup, cleanup(store), jobs.MaxAttempts(3), jobs.Timeout(30*time.Minute), jobs.Housekeeping()); err != nil {
		return err
	}
	hw := &httpWorker{client: cfg.HTTPClient, secrets: cfg.Secrets}
	if _, err := jobs.RegisterChecked(e, KindHTTPRequest, hw.work, func(ctx context.Context, a *HTTPRequestArgs) error {
		return checkHTTPArgs(ctx, cfg.Secrets, a)
	}, jobs.MaxAttempts(5)); err != nil {
		return err
	}
	policy := cfg.ExecPolicy()
	warnExecRisks(e.Logger(), policy)
	xw := &execWorker{policy: policy, grace: cfg.ExecGrace, secrets: cfg.Secrets}
	if _, err := jobs.RegisterChecked(e, KindExec, xw.work, func(ctx context.Context, a *ExecArgs) error {
		return checkExecArgs(ctx, xw.policy, cfg.Secrets, a)
	}, jobs.MaxAttempts(1)); err != nil {
		return err
	}
	if err := registerWorkflowStart(e); err != nil {
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
func cleanup(store Store) func(context.Context, *jobs.Job[CleanupArgs]) error {
	return func(ctx context.Context, job *jobs.Job[CleanupArgs]) error {
		age, err := time.ParseDuration(job.Args.OlderThan)
		if err != nil || age < time.Minute {
			return jobs.Permanent(fmt.Errorf("older_than %q must be a duration of at least 1m", job.Args.OlderThan))
		}
		var failedAge time.Duration
		if job.Args.FailedOlderThan != "" {
			if failedAge, err = time.ParseDuration(job.Args.FailedOlderThan); err != nil || failedAge < time.Minute {
				return jobs.Permanent(fmt.Errorf("failed_older_than %q must be a duration of at least 1m", job.Args.FailedOlderThan))
			}
		}
		n, err := store.CleanupJobs(ctx, models.RetainedStates, time.Now().Add(-age), 1000)
		jobs.Logf(ctx, "deleted %d finished jobs older than %s", n, age)
		if err != nil {
			return err
		}
		if failedAge > 0 {
			failed, err := store.CleanupJobs(ctx, []models.JobState{models.JobFailed}, time.Now().Add(-failedAge), 1000)
			jobs.Logf(ctx, "deleted %d failed jobs older than %s", failed, failedAge)
			if err != nil {
				return err
			}
			n += failed
		}
		if err := store.CleanupStats(ctx, time.Now()); err != nil {
			return err
		}
		return jobs.SetResult(ctx, map[string]int64{"deleted": n})
	}
}
