package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/sqlite"
)

const benchUsage = `Usage: kiln bench [flags]

Measures Kiln on a fresh database: the insert rate of N no-op jobs in batches; the burn-down
rate of W workers working all N, each with its full history; the pickup latency of jobs
enqueued one at a time at a fixed rate; peak memory and the database size. With --dashboard,
it then serves the dashboard on a loopback port and times every page over HTTP while another
burn-down runs at full speed, with the jobs so far in history.

Flags:
`

// Command runs "kiln bench" with args and returns the exit code.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kiln bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "database to use: a SQLite path or a postgres:// URL; it should be empty (default: a new temporary SQLite file)")
	var cfg Config
	fs.IntVar(&cfg.Jobs, "jobs", 200_000, "no-op jobs to insert and burn down")
	fs.IntVar(&cfg.Workers, "workers", 50, "workers for the burn-down")
	fs.IntVar(&cfg.Batch, "batch", 1000, "jobs per insert")
	fs.IntVar(&cfg.Rate, "rate", 100, "enqueue rate of the latency run, jobs per second")
	fs.IntVar(&cfg.LatencyJobs, "latency-jobs", 1000, "jobs in the latency run")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	nodes := fs.Int("nodes", 1, "nodes working the burn-down, each with its own connections and --workers workers (PostgreSQL only beyond 1)")
	dash := dashboardConfig{MaxTime: 5 * time.Minute}
	apiCfg := apiConfig{}
	withAPI := fs.Bool("api", false, "then enqueue through the JSON API over HTTP: --api-jobs jobs one per POST from --api-clients clients at once, then --api-batches POSTs of 1,000")
	fs.IntVar(&apiCfg.Jobs, "api-jobs", 20_000, "jobs enqueued one per POST in the API phase")
	fs.IntVar(&apiCfg.Clients, "api-clients", 8, "concurrent clients in the API phase")
	fs.IntVar(&apiCfg.Batches, "api-batches", 50, "POSTs of 1,000 jobs in the API phase")
	withDashboard := fs.Bool("dashboard", false, "then time every dashboard page over HTTP while another burn-down runs at full speed")
	fs.IntVar(&dash.Jobs, "dashboard-jobs", 200_000, "jobs burnt down while the dashboard is timed")
	fs.IntVar(&dash.Clients, "clients", 4, "concurrent dashboard clients")
	soak := soakConfig{Retention: time.Minute}
	fs.DurationVar(&soak.Duration, "soak", 0, "instead of the phases above, soak for this long: a steady enqueue rate with successes, retries, failures and cancels, the dashboard polled, retention at 1m; a sample every --soak-every; it fails unless memory, goroutines and the database stay flat after the warm-up (a third of it, and at least 90s)")
	fs.IntVar(&soak.Rate, "soak-rate", 100, "jobs enqueued per second in the soak")
	fs.DurationVar(&soak.Every, "soak-every", time.Minute, "how often the soak prints a sample")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this `file` (go tool pprof reads it)")
	fs.Usage = func() { fmt.Fprint(stderr, benchUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	for name, v := range map[string]int{"--nodes": *nodes, "--jobs": cfg.Jobs, "--workers": cfg.Workers, "--batch": cfg.Batch, "--rate": cfg.Rate, "--latency-jobs": cfg.LatencyJobs, "--dashboard-jobs": dash.Jobs, "--clients": dash.Clients, "--api-jobs": apiCfg.Jobs, "--api-clients": apiCfg.Clients, "--api-batches": apiCfg.Batches} {
		if v < 1 {
			fmt.Fprintf(stderr, "kiln bench: %s must be at least 1\n", name)
			return 2
		}
	}
	dsn := *db
	if dsn == "" {
		dir, err := os.MkdirTemp("", "kiln-bench-")
		if err != nil {
			fmt.Fprintln(stderr, "kiln bench:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		dsn = filepath.Join(dir, "bench.db")
	}
	store, err := models.Open(ctx, dsn, nil)
	if err != nil {
		fmt.Fprintln(stderr, "kiln bench:", err)
		return 1
	}
	defer store.Close()
	if *nodes > 1 && !store.Shared() {
		fmt.Fprintln(stderr, "kiln bench: --nodes above 1 needs a postgres:// --db: nodes share one PostgreSQL")
		return 2
	}
	for range *nodes - 1 {
		other, err := models.Open(ctx, dsn, nil)
		if err != nil {
			fmt.Fprintln(stderr, "kiln bench:", err)
			return 1
		}
		defer other.Close()
		cfg.OtherNodes = append(cfg.OtherNodes, other)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "kiln bench: --cpuprofile:", err)
			return 2
		}
		defer func() { _ = f.Close() }()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "kiln bench: --cpuprofile:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if soak.Duration > 0 {
		if soak.Rate < 1 || soak.Every < time.Second || soak.Duration-soakWarmup(soak) < 3*soak.Every {
			fmt.Fprintf(stderr, "kiln bench: --soak must leave three --soak-every (of at least 1s) after its warm-up (%s here), and --soak-rate be at least 1\n", soakWarmup(soak))
			return 2
		}
		if store.Dialect() == models.DialectSQLite {
			soak.Path = sqlite.FilePath(dsn)
		}
		fmt.Fprintf(stdout, "soak (%s) for %s at %d jobs/s, a sample every %s:\n", store.Dialect(), soak.Duration, soak.Rate, soak.Every)
		r, err := benchSoak(ctx, store, soak, stdout)
		if err != nil {
			fmt.Fprintln(stderr, "kiln bench:", err)
			return 1
		}
		if *asJSON {
			out, _ := json.MarshalIndent(r, "", "  ")
			fmt.Fprintln(stdout, string(out))
		} else {
			fmt.Fprint(stdout, r)
		}
		if !r.Pass {
			return 1
		}
		return 0
	}
	progress := func(msg string) { fmt.Fprintf(stderr, "\r\033[K%s", msg) }
	var report struct {
		Report
		Dashboard *dashboardReport `json:"dashboard,omitempty"`
		API       *apiReport       `json:"api,omitempty"`
	}
	report.Report, err = Run(ctx, store, cfg, progress)
	if err == nil && *withAPI {
		var a apiReport
		a, err = benchAPI(ctx, store, apiCfg, progress)
		report.API = &a
	}
	if err == nil && *withDashboard {
		dash.Workers = cfg.Workers
		var d dashboardReport
		d, err = benchDashboard(ctx, store, dash, progress)
		report.Dashboard = &d
	}
	fmt.Fprint(stderr, "\r\033[K")
	if err != nil {
		fmt.Fprintln(stderr, "kiln bench:", err)
		return 1
	}
	if *asJSON {
		out, _ := json.MarshalIndent(report, "", "  ")
		fmt.Fprintln(stdout, string(out))
		return 0
	}
	fmt.Fprint(stdout, report.Report)
	if report.API != nil {
		fmt.Fprint(stdout, report.API)
	}
	if report.Dashboard != nil {
		fmt.Fprint(stdout, report.Dashboard)
	}
	return 0
}
