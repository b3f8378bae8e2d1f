package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata" // time zones work even where the OS has no tz database (e.g. slim containers)

	"github.com/kilnhq/kiln/internal/alerts"
	"github.com/kilnhq/kiln/internal/audit"
	"github.com/kilnhq/kiln/internal/metrics"
	"github.com/kilnhq/kiln/internal/secrets"
	"github.com/kilnhq/kiln/internal/tasks"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// serveCommand is the root of the tree: kiln with flags, or nothing, serves until SIGINT or
// SIGTERM; a second signal kills it at once. Its help lists the commands.
func (e *cliEnv) serveCommand(commands []*ffcli.Command) *ffcli.Command {
	fs := flag.NewFlagSet("kiln", flag.ContinueOnError)
	fs.SetOutput(e.errOut)
	config := serveFlags(fs)
	return &ffcli.Command{Name: "kiln", FlagSet: fs, Options: []ff.Option{ff.WithEnvVarPrefix(envPrefix)}, UsageFunc: usage(commands),
		ShortUsage: "kiln [flags]          serve (the default)\nkiln COMMAND ...      one of the commands below (kiln COMMAND --help)",
		ShortHelp:  "Kiln: tasks with due dates and a background-job server, in one binary.",
		LongHelp:   "The commands jobs, recurring, queues, secrets, alerts and stats drive a running server through its API:\n--server URL or KILN_URL, --token or KILN_TOKEN, --json.",
		Exec: func(ctx context.Context, args []string) error {
			if len(args) == 1 && args[0] == "help" {
				return flag.ErrHelp // ffcli prints the usage, as for --help
			}
			if len(args) > 0 {
				return fmt.Errorf("%w: unexpected argument %q (see kiln --help)", errUsage, args[0])
			}
			cfg, err := config()
			if err != nil {
				return fmt.Errorf("%w: %w", errUsage, err)
			}
			return e.serve(ctx, cfg)
		}}
}

// serve runs Kiln until a signal, then shuts it down in order.
func (e *cliEnv) serve(ctx context.Context, cfg Config) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain(cfg, e.errOut)
	if err := m.Run(ctx); err != nil {
		m.Log.Error("kiln: start failed", "err", err)
		_ = m.Close()
		return errReported
	}
	<-ctx.Done()
	stop() // a second signal kills the process at once
	m.Log.Info("kiln: shutting down")
	if err := m.Close(); err != nil {
		m.Log.Error("kiln: shutdown", "err", err)
		return errReported
	}
	m.Log.Info("kiln: stopped")
	return nil
}

// Main is the running program; main and the end-to-end tests both drive it.
type Main struct {
	Config Config
	Log    *slog.Logger
	Store  *models.Store
	Engine *jobs.Engine
	Web    *web.Server
	// Metrics are the node's Prometheus metrics, served at /metrics (and at --metrics-addr).
	Metrics *metrics.Metrics
	// MetricsAddr is where --metrics-addr listens, once Run has started it ("" when not set).
	MetricsAddr string
	metricsSrv  *http.Server
	// tracing is the tracer provider the OTEL_* variables asked for (nil: tracing off); Close
	// flushes it.
	tracing *sdktrace.TracerProvider
	// Alerts evaluates the alert rules, every node's every Config.Every.
	Alerts *alerts.Evaluator
	// Setup, when set, runs after the built-in and the app's job kinds are registered and before the engine
	// starts: the place for more kinds, recurring jobs and alert rules (jobs.AlertOnFailure).
	Setup func(*jobs.Engine) error
}

// NewMain returns a program that logs to logOut.
func NewMain(cfg Config, logOut io.Writer) *Main {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var h slog.Handler = slog.NewTextHandler(logOut, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(logOut, opts)
	}
	cfg.Web.Version = Version
	return &Main{Config: cfg, Log: slog.New(h)}
}

// Run opens the store (migrating it), seeds demo data if asked, starts the job engine and
// serves. It returns once Kiln is serving; Close stops it.
func (m *Main) Run(ctx context.Context) error {
	store, err := models.Open(ctx, m.Config.DB, m.Log)
	if err != nil {
		return err
	}
	m.Store = store
	m.Log.Info("kiln: database ready", "dialect", store.Dialect(), "version", Version)
	if err := m.ensureAdmin(ctx); err != nil {
		return err
	}
	if m.Config.Demo {
		tasks, err := store.Tasks.SeedDemoTasks(ctx, 10, 5*time.Minute, time.Now())
		if err != nil {
			return err
		}
		m.Log.Info("kiln: demo tasks created", "count", len(tasks), "first_due", tasks[0].DueAt, "last_due", tasks[len(tasks)-1].DueAt)
	}
	vault, err := secrets.Open(ctx, store, m.Config.Web.Secret)
	if err != nil {
		return err
	}
	m.Config.Builtins.Secrets, m.Config.Web.Secrets, m.Config.Alerts.Secrets = vault, vault, vault
	m.Config.Jobs.Logger = m.Log
	m.Metrics = metrics.New(store)
	m.Config.Jobs.Observer = m.Metrics
	if m.Config.Jobs.TracerProvider == nil {
		if m.tracing, err = newTracerProvider(ctx, os.Getenv); err != nil {
			return err
		}
		if m.tracing != nil {
			m.Config.Jobs.TracerProvider = m.tracing
			m.Log.Info("kiln: tracing on, exporting OTLP over HTTP")
		}
	}
	if m.Engine, err = jobs.New(store, m.Config.Jobs); err != nil {
		return err
	}
	m.Metrics.SetEngine(m.Engine)
	m.Config.Web.Metrics = m.Metrics
	if err := builtin.Register(m.Engine, store.Jobs, m.Config.Builtins); err != nil {
		return err
	}
	m.Config.Web.Exec = m.Config.Builtins.ExecPolicy()
	if err := tasks.Register(m.Engine, store.Tasks, m.Config.Tasks); err != nil {
		return err
	}
	if _, err := alerts.Register(m.Engine, store.Channels, m.Config.Alerts); err != nil {
		return err
	}
	m.Config.Web.Alerts = m.Config.Alerts
	m.Alerts = alerts.New(m.Engine, store.Rules, m.Config.Alerts)
	if m.Setup != nil {
		if err := m.Setup(m.Engine); err != nil {
			return err
		}
	}
	if err := m.Alerts.Register(); err != nil {
		return err
	}
	if err := audit.Register(m.Engine, store.Audit, m.Config.Audit); err != nil {
		return err
	}
	if err := m.Engine.Start(ctx); err != nil {
		return err
	}
	if m.Web, err = web.New(m.Config.Web, store, m.Engine, m.Log); err != nil {
		return err
	}
	if m.Config.MetricsAddr != "" {
		ln, err := net.Listen("tcp", m.Config.MetricsAddr)
		if err != nil {
			return fmt.Errorf("metrics listener: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", m.Metrics.Handler())
		m.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		m.MetricsAddr = ln.Addr().String()
		go func() { _ = m.metricsSrv.Serve(ln) }()
		m.Log.Info("kiln: serving metrics without auth", "addr", ln.Addr().String())
	}
	return m.Web.Start(ctx)
}

// Close shuts down in order: stop taking requests and finish those in flight; stop the
// recurring schedules and the workers (running jobs get the soft-stop window, then are
// cancelled and released); send the spans still buffered; then close the database.
func (m *Main) Close() error {
	var errs []error
	if m.Web != nil {
		errs = append(errs, m.Web.Stop(context.Background()))
	}
	if m.metricsSrv != nil {
		errs = append(errs, m.metricsSrv.Close())
	}
	if m.Engine != nil {
		// Jobs that ignore cancellation are released after this, and end with the process.
		ctx, cancel := context.WithTimeout(context.Background(), m.Config.Jobs.SoftStop+15*time.Second)
		errs = append(errs, m.Engine.Stop(ctx))
		cancel()
	}
	if m.tracing != nil { // the spans of the jobs' last moments are sent before the exit
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := m.tracing.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("tracing: flush: %w", err))
		}
		cancel()
	}
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
	}
	return errors.Join(errs...)
}
