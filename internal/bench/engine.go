// Package bench is kiln bench: it measures the engine on a fresh database (insert rate,
// burn-down rate, pickup latency, memory) and, optionally, the dashboard's pages while the
// engine works at full speed.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// Config shapes a benchmark run. The zero value of every field means its default.
type Config struct {
	// Jobs is how many no-op jobs are inserted and then burnt down. Default 200,000.
	Jobs int
	// Workers work the burn-down. Default 50.
	Workers int
	// Batch is how many jobs each insert writes. Default 1,000.
	Batch int
	// Rate is the enqueue rate of the latency run, in jobs per second. Default 100.
	Rate int
	// LatencyJobs is how many jobs the latency run enqueues. Default 1,000.
	LatencyJobs int
	// OtherNodes are more stores on the same database, each the storage of one more node (with
	// Workers workers of its own) in the burn-down, as separate Kiln processes would be.
	OtherNodes []*models.Store
	// Setup, when set, runs on each burn-down node's engine before it starts (kiln bench
	// --alert-rules adds the alerts' evaluator and its rules there).
	Setup func(e *jobs.Engine, store *models.Store) error
}

func (c Config) withDefaults() Config {
	setDefault(&c.Jobs, 200_000)
	setDefault(&c.Workers, 50)
	setDefault(&c.Batch, 1000)
	setDefault(&c.Rate, 100)
	setDefault(&c.LatencyJobs, 1000)
	return c
}

// Report is what a benchmark run measured.
type Report struct {
	Dialect string `json:"dialect"`
	Jobs    int    `json:"jobs"`
	Workers int    `json:"workers"`
	Nodes   int    `json:"nodes"`
	// InsertPerSec is the rate of inserting Jobs no-op jobs in batches of Batch.
	InsertPerSec float64 `json:"insert_jobs_per_sec"`
	// BurnDownPerSec is the rate of working all of them, each with its full history.
	BurnDownPerSec float64 `json:"burn_down_jobs_per_sec"`
	// Pickup latencies, from Enqueue's start to the worker's start, at Rate jobs/s.
	PickupRate int     `json:"pickup_rate_per_sec"`
	PickupP50  float64 `json:"pickup_p50_ms"`
	PickupP95  float64 `json:"pickup_p95_ms"`
	PickupP99  float64 `json:"pickup_p99_ms"`
	// PeakRSS is the process's peak resident memory, in MiB.
	PeakRSS float64 `json:"peak_rss_mib"`
	// DBSize is the database's size on disk at the end, in MiB.
	DBSize float64 `json:"db_size_mib"`
}

// benchArgs carry the moment a latency job was enqueued.
type benchArgs struct {
	EnqueuedAt int64 `json:"t"`
}

// Run measures the engine on store (which should be empty): the insert rate, the burn-down
// rate of cfg.Jobs no-op jobs, and the pickup latency at cfg.Rate jobs/s. It reports progress
// through progress (which may be nil) about every half second.
func Run(ctx context.Context, store *models.Store, cfg Config, progress func(string)) (Report, error) {
	cfg = cfg.withDefaults()
	if progress == nil {
		progress = func(string) {}
	}
	r := Report{Dialect: string(store.Dialect()), Jobs: cfg.Jobs, Workers: cfg.Workers, Nodes: 1 + len(cfg.OtherNodes), PickupRate: cfg.Rate}

	// 1. Insert.
	e, err := jobs.New(store, jobs.Config{NoWorkers: true})
	if err != nil {
		return r, err
	}
	start := time.Now()
	batch := make([]jobs.EnqueueParams, 0, cfg.Batch)
	for i := range cfg.Jobs {
		batch = append(batch, jobs.EnqueueParams{Kind: "bench.noop"})
		if len(batch) == cfg.Batch || i == cfg.Jobs-1 {
			if _, err := e.EnqueueMany(ctx, batch); err != nil {
				return r, fmt.Errorf("insert: %w", err)
			}
			batch = batch[:0]
			if i%(cfg.Batch*20) == cfg.Batch*20-1 {
				progress(fmt.Sprintf("insert: %d/%d jobs", i+1, cfg.Jobs))
			}
		}
	}
	r.InsertPerSec = float64(cfg.Jobs) / time.Since(start).Seconds()

	// 2. Burn-down.
	var done atomic.Int64
	e, err = jobs.New(store, jobs.Config{Queues: []jobs.QueueConfig{{Name: jobs.DefaultQueue, Workers: cfg.Workers}}})
	if err != nil {
		return r, err
	}
	if err := e.Register("bench.noop", func(context.Context, *models.Job) error { done.Add(1); return nil }); err != nil {
		return r, err
	}
	var others []*jobs.Engine
	stopOthers := func() {
		for _, o := range others {
			_ = o.Stop(context.WithoutCancel(ctx))
		}
		others = nil
	}
	defer stopOthers()
	for _, st := range cfg.OtherNodes {
		o, err := jobs.New(st, jobs.Config{Queues: []jobs.QueueConfig{{Name: jobs.DefaultQueue, Workers: cfg.Workers}}})
		if err != nil {
			return r, err
		}
		if err := o.Register("bench.noop", func(context.Context, *models.Job) error { return nil }); err != nil {
			return r, err
		}
		others = append(others, o)
	}
	if cfg.Setup != nil {
		if err := cfg.Setup(e, store); err != nil {
			return r, err
		}
		for i, o := range others {
			if err := cfg.Setup(o, cfg.OtherNodes[i]); err != nil {
				return r, err
			}
		}
	}
	start = time.Now()
	for _, o := range others {
		if err := o.Start(ctx); err != nil {
			return r, err
		}
	}
	if err := e.Start(ctx); err != nil {
		return r, err
	}
	// The end is looked for every 10 ms (a read of the counters): looking every 500 ms, as
	// before, rounded a 6 s burn-down to the next half second, an error of up to 8%.
	var lastProgress time.Time
	for {
		counts, err := store.JobQueries.CountJobsByState(ctx)
		if err != nil {
			_ = e.Stop(ctx)
			return r, err
		}
		if counts[models.JobSucceeded] >= int64(cfg.Jobs) {
			break
		}
		if time.Since(lastProgress) >= 500*time.Millisecond {
			progress(fmt.Sprintf("burn-down: %d/%d jobs", counts[models.JobSucceeded], cfg.Jobs))
			lastProgress = time.Now()
		}
		select {
		case <-ctx.Done():
			_ = e.Stop(context.Background())
			return r, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	r.BurnDownPerSec = float64(cfg.Jobs) / time.Since(start).Seconds()
	stopOthers() // the latency run measures one node

	// 3. Pickup latency: one job at a time, at a fixed rate.
	lat := make(chan time.Duration, cfg.LatencyJobs)
	if err := e.Register("bench.latency", func(_ context.Context, j *models.Job) error {
		var a benchArgs
		if err := j.DecodeArgs(&a); err != nil {
			return jobs.Permanent(err)
		}
		lat <- time.Since(time.Unix(0, a.EnqueuedAt))
		return nil
	}); err != nil {
		return r, err
	}
	tick := time.NewTicker(time.Second / time.Duration(cfg.Rate))
	for i := range cfg.LatencyJobs {
		<-tick.C
		if _, err := e.Enqueue(ctx, "bench.latency", benchArgs{EnqueuedAt: time.Now().UnixNano()}); err != nil {
			tick.Stop()
			_ = e.Stop(ctx)
			return r, fmt.Errorf("latency: %w", err)
		}
		if i%cfg.Rate == cfg.Rate-1 {
			progress(fmt.Sprintf("pickup latency: %d/%d jobs", i+1, cfg.LatencyJobs))
		}
	}
	tick.Stop()
	samples := make([]time.Duration, 0, cfg.LatencyJobs)
	for range cfg.LatencyJobs {
		select {
		case d := <-lat:
			samples = append(samples, d)
		case <-time.After(30 * time.Second):
			_ = e.Stop(ctx)
			return r, fmt.Errorf("latency: only %d of %d jobs ran", len(samples), cfg.LatencyJobs)
		}
	}
	if err := e.Stop(ctx); err != nil {
		return r, err
	}
	slices.Sort(samples)
	pct := func(p int) float64 {
		return float64(samples[min(len(samples)-1, len(samples)*p/100)].Microseconds()) / 1000
	}
	r.PickupP50, r.PickupP95, r.PickupP99 = pct(50), pct(95), pct(99)

	r.PeakRSS = peakRSS()
	size, err := store.Size(ctx)
	if err != nil {
		return r, err
	}
	r.DBSize = float64(size) / (1 << 20)
	return r, nil
}

// peakRSS is the process's peak resident set size in MiB (Linux reports it in KiB).
func peakRSS() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024
}

// String formats the report for people.
func (r Report) String() string {
	return fmt.Sprintf(`kiln bench (%s): %d no-op jobs, %d node(s) of %d workers
  insert (batches)   %10.0f jobs/s
  burn-down          %10.0f jobs/s   (each job: enqueued -> processing -> succeeded, its history kept)
  pickup latency     p50 %.2f ms  p95 %.2f ms  p99 %.2f ms   (one job at a time, %d jobs/s)
  peak RSS           %10.1f MiB
  database size      %10.1f MiB
`, r.Dialect, r.Jobs, r.Nodes, r.Workers, r.InsertPerSec, r.BurnDownPerSec, r.PickupP50, r.PickupP95, r.PickupP99, r.PickupRate, r.PeakRSS, r.DBSize)
}

// JSON formats the report as one JSON object.
func (r Report) JSON() string {
	b, _ := json.MarshalIndent(r, "", "  ")
	return string(b)
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
