package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/kilnhq/kiln/internal/alerts"
	"github.com/kilnhq/kiln/internal/bench"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/sqlite"
	"github.com/peterbourgon/ff/v3/ffcli"
	"go.opentelemetry.io/otel"
)

// benchCommand measures Kiln on this machine.
func (e *cliEnv) benchCommand() *ffcli.Command {
	var (
		db, cpuProfile                 string
		cfg                            bench.Config
		asJSON, withAPI, withDashboard bool
		withWorkflow                   bool
		wfCfg                          bench.WorkflowConfig
		nodes, alertRules, history     int
		dash                           = bench.DashboardConfig{MaxTime: 5 * time.Minute}
		apiCfg                         bench.APIConfig
		soak                           = bench.SoakConfig{Retention: time.Minute}
	)
	return e.leaf("bench", "kiln bench [flags]", `measure this machine: inserts, burn-down, pickup latency, memory

Measures Kiln on a fresh database: the insert rate of N no-op jobs in batches; the burn-down
rate of W workers working all N, each with its full history; the pickup latency of jobs
enqueued one at a time at a fixed rate; peak memory and the database size. With --dashboard,
it then serves the dashboard on a loopback port and times every page over HTTP while another
burn-down runs at full speed, with the jobs so far in history; --history N first fills history
with N finished jobs, copies of jobs an engine worked, written straight into the tables. Its flags read no environment
variable: a bench never opens a database by accident. The OTEL_* variables that turn tracing
on for kiln (see the README's Tracing) trace the bench too, to measure what tracing costs.`, false, func(fs *flag.FlagSet) {
		fs.StringVar(&db, "db", "", "database to use: a SQLite path or a postgres:// URL; it should be empty (default: a new temporary SQLite file)")
		fs.IntVar(&cfg.Jobs, "jobs", 200_000, "no-op jobs to insert and burn down")
		fs.IntVar(&cfg.Workers, "workers", 50, "workers for the burn-down")
		fs.IntVar(&cfg.Batch, "batch", 1000, "jobs per insert")
		fs.IntVar(&cfg.Rate, "rate", 100, "enqueue rate of the latency run, jobs per second")
		fs.IntVar(&cfg.LatencyJobs, "latency-jobs", 1000, "jobs in the latency run")
		fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
		fs.IntVar(&nodes, "nodes", 1, "nodes working the burn-down, each with its own connections and --workers workers (PostgreSQL only beyond 1)")
		fs.BoolVar(&withAPI, "api", false, "then enqueue through the JSON API over HTTP: --api-jobs jobs one per POST from --api-clients clients at once, then --api-batches POSTs of 1,000")
		fs.IntVar(&apiCfg.Jobs, "api-jobs", 20_000, "jobs enqueued one per POST in the API phase")
		fs.IntVar(&apiCfg.Clients, "api-clients", 8, "concurrent clients in the API phase")
		fs.IntVar(&apiCfg.Batches, "api-batches", 50, "POSTs of 1,000 jobs in the API phase")
		fs.BoolVar(&withWorkflow, "workflow", false, "then work --workflow-steps plain jobs, and a workflow of as many steps (a first, a fan-out, a last), and compare their times")
		fs.IntVar(&wfCfg.Steps, "workflow-steps", 10_000, "the workflow's steps, at least 3, at most 10,000")
		fs.IntVar(&wfCfg.Rounds, "workflow-rounds", 3, "how many times the plain jobs and the workflow run, alternating; the median ratio is reported")
		fs.BoolVar(&withDashboard, "dashboard", false, "then time every dashboard page over HTTP while another burn-down runs at full speed")
		fs.IntVar(&dash.Jobs, "dashboard-jobs", 200_000, "jobs burnt down while the dashboard is timed")
		fs.IntVar(&dash.Clients, "clients", 4, "concurrent dashboard clients")
		fs.IntVar(&history, "history", 0, "with --dashboard, first fill history with this many finished jobs (successes, retries, failures, cancels, with their events, logs and tags, created over 4 weeks), written straight into the tables")
		fs.DurationVar(&soak.Duration, "soak", 0, "instead of the phases above, soak for this long: a steady enqueue rate with successes, retries, failures and cancels, the dashboard polled, retention at 1m; a sample every --soak-every; it fails unless memory, goroutines and the database stay flat after the warm-up (a third of it, and at least 90s)")
		fs.IntVar(&soak.Rate, "soak-rate", 100, "jobs enqueued per second in the soak")
		fs.DurationVar(&soak.Every, "soak-every", time.Minute, "how often the soak prints a sample")
		fs.IntVar(&alertRules, "alert-rules", 0, "alert rules present during the burn-down, evaluated every second on each node (failure rules of every kind, and missed-schedule rules)")
		fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this `file` (go tool pprof reads it)")
	}, func(ctx context.Context, pos []string) error {
		if err := noArgs(pos); err != nil {
			return err
		}
		for name, v := range map[string]int{"--nodes": nodes, "--jobs": cfg.Jobs, "--workers": cfg.Workers, "--batch": cfg.Batch, "--rate": cfg.Rate, "--latency-jobs": cfg.LatencyJobs, "--dashboard-jobs": dash.Jobs, "--clients": dash.Clients, "--api-jobs": apiCfg.Jobs, "--api-clients": apiCfg.Clients, "--api-batches": apiCfg.Batches, "--workflow-steps": wfCfg.Steps, "--workflow-rounds": wfCfg.Rounds} {
			if v < 1 {
				return fmt.Errorf("%w: %s must be at least 1", errUsage, name)
			}
		}
		if history < 0 || (history > 0 && !withDashboard) {
			return fmt.Errorf("%w: --history fills history for --dashboard: it needs --dashboard, and is at least 0", errUsage)
		}
		if withWorkflow && (wfCfg.Steps < 3 || wfCfg.Steps > 10_000) {
			return fmt.Errorf("%w: --workflow-steps must be at least 3 (a first, a fan-out, a last) and at most 10,000, not %d", errUsage, wfCfg.Steps)
		}
		if soak.Duration > 0 && (soak.Rate < 1 || soak.Every < time.Second || soak.Duration-bench.SoakWarmup(soak) < 3*soak.Every) {
			return fmt.Errorf("%w: --soak must leave three --soak-every (of at least 1s) after its warm-up (%s here), and --soak-rate be at least 1", errUsage, bench.SoakWarmup(soak))
		}
		dsn := db
		if dsn == "" {
			dir, err := os.MkdirTemp("", "kiln-bench-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			dsn = filepath.Join(dir, "bench.db")
		}
		store, err := models.Open(ctx, dsn, nil)
		if err != nil {
			return err
		}
		defer store.Close()
		// The OTEL_* variables trace the bench as they trace kiln (see newTracerProvider), to
		// measure what tracing costs; the bench's engines use the global provider.
		tp, err := newTracerProvider(ctx, os.Getenv)
		if err != nil {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
		if tp != nil {
			otel.SetTracerProvider(tp)
			defer func() { _ = tp.Shutdown(context.Background()) }()
		}
		if nodes > 1 && !store.Shared() {
			return fmt.Errorf("%w: --nodes above 1 needs a postgres:// --db: nodes share one PostgreSQL", errUsage)
		}
		for range nodes - 1 {
			other, err := models.Open(ctx, dsn, nil)
			if err != nil {
				return err
			}
			defer other.Close()
			cfg.OtherNodes = append(cfg.OtherNodes, other)
		}
		if cpuProfile != "" {
			f, err := os.Create(cpuProfile)
			if err != nil {
				return fmt.Errorf("%w: --cpuprofile: %w", errUsage, err)
			}
			defer func() { _ = f.Close() }()
			if err := pprof.StartCPUProfile(f); err != nil {
				return fmt.Errorf("--cpuprofile: %w", err)
			}
			defer pprof.StopCPUProfile()
		}
		if soak.Duration > 0 {
			if store.Dialect() == models.DialectSQLite {
				soak.Path = sqlite.FilePath(dsn)
			}
			fmt.Fprintf(e.out, "soak (%s) for %s at %d jobs/s, a sample every %s:\n", store.Dialect(), soak.Duration, soak.Rate, soak.Every)
			r, err := bench.Soak(ctx, store, soak, e.out)
			if err != nil {
				return err
			}
			if err := e.report(r, asJSON); err != nil {
				return err
			}
			if !r.Pass {
				return errReported
			}
			return nil
		}
		progress := func(msg string) { fmt.Fprintf(e.errOut, "\r\033[K%s", msg) }
		var report struct {
			bench.Report
			History   *bench.HistoryReport   `json:"history,omitempty"`
			Dashboard *bench.DashboardReport `json:"dashboard,omitempty"`
			API       *bench.APIReport       `json:"api,omitempty"`
			Workflow  *bench.WorkflowReport  `json:"workflow,omitempty"`
		}
		if alertRules > 0 {
			cfg.Setup = benchAlertRules(alertRules)
		}
		report.Report, err = bench.Run(ctx, store, cfg, progress)
		if err == nil && withAPI {
			var a bench.APIReport
			a, err = bench.API(ctx, store, apiCfg, progress)
			report.API = &a
		}
		if err == nil && withWorkflow {
			wfCfg.Workers = cfg.Workers
			var w bench.WorkflowReport
			w, err = bench.Workflow(ctx, store, wfCfg, progress)
			report.Workflow = &w
		}
		if err == nil && history > 0 {
			var h bench.HistoryReport
			h, err = bench.FillHistory(ctx, store, bench.HistoryConfig{Jobs: history}, progress)
			report.History = &h
		}
		if err == nil && withDashboard {
			dash.Workers = cfg.Workers
			var d bench.DashboardReport
			d, err = bench.Dashboard(ctx, store, dash, progress)
			report.Dashboard = &d
		}
		fmt.Fprint(e.errOut, "\r\033[K")
		if err != nil {
			return err
		}
		if asJSON {
			return e.report(report, true)
		}
		fmt.Fprint(e.out, report.Report)
		if report.API != nil {
			fmt.Fprint(e.out, report.API)
		}
		if report.Workflow != nil {
			fmt.Fprint(e.out, report.Workflow)
		}
		if report.History != nil {
			fmt.Fprint(e.out, report.History)
		}
		if report.Dashboard != nil {
			fmt.Fprint(e.out, report.Dashboard)
		}
		return nil
	})
}

// report prints a bench or chaos report: as indented JSON, or as its String.
func (e *cliEnv) report(r fmt.Stringer, asJSON bool) error {
	if !asJSON {
		_, err := fmt.Fprint(e.out, r)
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.out, string(b))
	return err
}

// benchAlertRules gives each burn-down node an alerts' evaluator that evaluates n rules every
// second: failure rules (each of the three) on every kind, and missed-schedule rules.
func benchAlertRules(n int) func(*jobs.Engine, *models.Store) error {
	watches := []string{models.WatchFailed, models.WatchFailedInARow, models.WatchFailuresWithin, models.WatchMissedSchedule}
	return func(e *jobs.Engine, store *models.Store) error {
		v := alerts.New(e, store.Rules, alerts.Config{Every: time.Second})
		for i := range n {
			r := models.AlertRule{Name: fmt.Sprintf("bench %d", i), Watch: watches[i%len(watches)], Scope: models.ScopeKind,
				Threshold: 3, Within: time.Minute, Channels: []string{"bench"}, RepeatEvery: time.Minute}
			if r.Watch == models.WatchMissedSchedule {
				r.Scope, r.Grace = models.ScopeRecurring, time.Minute
			}
			if err := e.AlertRule(r); err != nil {
				return err
			}
		}
		return v.Register()
	}
}
