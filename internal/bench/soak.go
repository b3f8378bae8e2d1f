package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// The soak: a steady enqueue rate with mixed outcomes (successes, retries, failures, cancels),
// the dashboard polled as a browser would, retention running; a sample of the process and the
// database every interval. It passes when, after the warm-up (soakWarmup), memory and
// goroutines stay flat and the database stops growing once retention keeps pace.

// SoakConfig shapes kiln bench --soak.
type SoakConfig struct {
	Duration  time.Duration // how long
	Rate      int           // jobs enqueued per second
	Every     time.Duration // a sample this often
	Retention time.Duration // of finished and failed jobs (at least 1m)
	// Path is the SQLite file, for its WAL's size ("" on PostgreSQL).
	Path string
	// JudgeHeap judges memory by the Go heap in use (with the stacks) instead of the process's
	// RSS. Under the race detector RSS also holds the detector's own memory, which grows as the
	// heap's addresses are reused and is never given back: in TestSoak under -race, RSS went
	// from 124 to 151 MiB in the last 30 s (a failure, before issue 25's changes as after)
	// while the heap stayed at 7-8 MiB. kiln bench --soak judges RSS.
	JudgeHeap bool
}

// soakSample is one look at the process and the database.
type soakSample struct {
	At         time.Duration `json:"at_ns"`
	RSSMiB     float64       `json:"rss_mib"`
	HeapMiB    float64       `json:"heap_mib"` // the Go heap in use, with the stacks
	Goroutines int           `json:"goroutines"`
	OpenFiles  int           `json:"open_files"`
	WALMiB     float64       `json:"wal_mib"`
	DBMiB      float64       `json:"db_mib"`
	Jobs       int64         `json:"jobs"`    // rows kept
	Waiting    int64         `json:"waiting"` // enqueued, scheduled or running
	Finished   int64         `json:"finished"`
}

// SoakReport is what the soak saw, and its verdict.
type SoakReport struct {
	Dialect string `json:"dialect"`
	Rate    int    `json:"rate"`
	// Retention is how long finished and failed jobs are kept.
	Retention time.Duration `json:"retention_ns"`
	Samples   []soakSample  `json:"samples"`
	// Memory is what the verdict judges: "rss" (the process's) or "heap" (Go's, JudgeHeap).
	Memory   string `json:"memory"`
	Enqueued int64  `json:"enqueued"`
	// Slopes after the warm-up, per minute, by least squares (MemorySlope: of what Memory names).
	MemorySlope    float64  `json:"memory_mib_per_min"`
	GoroutineSlope float64  `json:"goroutines_per_min"`
	DBSlope        float64  `json:"db_mib_per_min"`
	JobsSlope      float64  `json:"jobs_per_min"`
	Pass           bool     `json:"pass"`
	Problems       []string `json:"problems,omitempty"`
	PageErrors     int64    `json:"page_errors"`
	EnqueueErrors  int64    `json:"enqueue_errors"`
}

func (s soakSample) String() string {
	return fmt.Sprintf("  %8s  rss %6.1f MiB  heap %6.1f MiB  goroutines %4d  files %3d  wal %6.1f MiB  db %7.1f MiB  jobs %8d  waiting %6d  finished %9d",
		s.At.Round(time.Second), s.RSSMiB, s.HeapMiB, s.Goroutines, s.OpenFiles, s.WALMiB, s.DBMiB, s.Jobs, s.Waiting, s.Finished)
}

func (r SoakReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "soak (%s): %d jobs enqueued at %d/s; after the warm-up, per minute: %s %+.2f MiB, goroutines %+.1f, database %+.2f MiB, jobs kept %+.0f; dashboard errors %d\n",
		r.Dialect, r.Enqueued, r.Rate, r.Memory, r.MemorySlope, r.GoroutineSlope, r.DBSlope, r.JobsSlope, r.PageErrors)
	if r.Pass {
		b.WriteString("soak: PASS (memory and goroutines flat, the database no longer growing)\n")
	} else {
		fmt.Fprintf(&b, "soak: FAIL: %s\n", strings.Join(r.Problems, "; "))
	}
	return b.String()
}

// soakOutcomes are the outcomes a soak job is told to have, by share in 100.
var soakOutcomes = []struct {
	name  string
	share int
}{{"ok", 80}, {"retry", 10}, {"fail", 5}, {"cancel", 5}}

// Soak runs the soak on store; each sample is also written to out as it is taken.
func Soak(ctx context.Context, store *models.Store, cfg SoakConfig, out io.Writer) (SoakReport, error) {
	r := SoakReport{Dialect: string(store.Dialect()), Rate: cfg.Rate, Retention: cfg.Retention, Memory: "rss"}
	if cfg.JudgeHeap {
		r.Memory = "heap"
	}
	engine, err := jobs.New(store, jobs.Config{Queues: []jobs.QueueConfig{{Name: jobs.DefaultQueue, Workers: 20}}})
	if err != nil {
		return r, err
	}
	if err := builtin.Register(engine, store.Jobs, builtin.Config{Retention: cfg.Retention, FailedRetention: cfg.Retention, CleanupEvery: "@every 15s"}); err != nil {
		return r, err
	}
	if err := engine.Register("soak.work", func(ctx context.Context, j *models.Job) error {
		switch {
		case strings.Contains(j.Args, `"retry"`) && j.Attempt < 2:
			return errors.New("soak: a first attempt that fails, as it should")
		case strings.Contains(j.Args, `"fail"`):
			return jobs.Permanent(errors.New("soak: a job that fails for good, as it should"))
		}
		select {
		case <-time.After(time.Duration(1+rand.IntN(5)) * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}, jobs.MaxAttempts(3), jobs.WithBackoff(jobs.ConstantBackoff(500*time.Millisecond))); err != nil {
		return r, err
	}
	srv, err := web.New(web.Config{Addr: "127.0.0.1:0", LocalNoAuth: true}, store, engine, nil)
	if err != nil {
		return r, err
	}
	if err := srv.Start(ctx); err != nil {
		return r, err
	}
	defer func() { _ = srv.Stop(context.WithoutCancel(ctx)) }()
	if err := engine.Start(ctx); err != nil {
		return r, err
	}
	defer func() { _ = engine.Stop(context.WithoutCancel(ctx)) }()

	runCtx, stop := context.WithTimeout(ctx, cfg.Duration)
	defer stop()
	var wg sync.WaitGroup
	var enqueued, pageErrors, enqueueErrors atomic.Int64
	var lastJob atomic.Int64
	wg.Add(2)
	go func() { // the steady stream, in tenths of a second
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		carry := 0.0
		for {
			select {
			case <-runCtx.Done():
				return
			case <-tick.C:
			}
			carry += float64(cfg.Rate) / 10
			batch := make([]jobs.EnqueueParams, 0, int(carry))
			for ; carry >= 1; carry-- {
				pick, outcome := rand.IntN(100), ""
				for _, o := range soakOutcomes {
					if pick < o.share {
						outcome = o.name
						break
					}
					pick -= o.share
				}
				p := jobs.EnqueueParams{Kind: "soak.work", Args: map[string]string{"outcome": outcome}}
				if outcome == "cancel" { // scheduled a minute ahead, cancelled before it runs
					p.Opts = []jobs.Option{jobs.RunAt(time.Now().Add(time.Minute))}
				}
				batch = append(batch, p)
			}
			made, err := engine.EnqueueMany(runCtx, batch)
			if err != nil {
				if runCtx.Err() == nil {
					enqueueErrors.Add(1)
				}
				continue
			}
			enqueued.Add(int64(len(made)))
			for _, j := range made {
				lastJob.Store(j.ID)
				if j.State == models.JobScheduled { // only the ones to cancel are
					_ = engine.Cancel(runCtx, j.ID)
				}
			}
		}
	}()
	go func() { // a browser on the overview, now and then on other pages
		defer wg.Done()
		client := &http.Client{Timeout: 10 * time.Second}
		base := "http://" + srv.Addr()
		get := func(path string) {
			if _, err := timeGet(runCtx, client, base+path); err != nil && runCtx.Err() == nil {
				pageErrors.Add(1)
			}
		}
		for n := 0; runCtx.Err() == nil; n++ {
			get("/dashboard/live")
			if n%3 == 0 {
				get("/dashboard/jobs")
				get("/dashboard/queues")
			}
			if n%5 == 0 {
				get("/dashboard/kinds/soak.work")
				if id := lastJob.Load(); id > 0 {
					get("/dashboard/jobs/" + strconv.FormatInt(id, 10))
				}
			}
			select {
			case <-runCtx.Done():
			case <-time.After(2 * time.Second):
			}
		}
	}()

	start := time.Now()
	sample := func() error {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		s := soakSample{At: time.Since(start), RSSMiB: currentRSS(), HeapMiB: float64(ms.HeapInuse+ms.StackInuse) / (1 << 20),
			Goroutines: runtime.NumGoroutine(), OpenFiles: openFiles()}
		if cfg.Path != "" {
			if st, err := os.Stat(cfg.Path + "-wal"); err == nil {
				s.WALMiB = float64(st.Size()) / (1 << 20)
			}
		}
		size, err := store.Size(ctx)
		if err != nil {
			return err
		}
		s.DBMiB = float64(size) / (1 << 20)
		counts, err := store.JobQueries.CountJobsByState(ctx)
		if err != nil {
			return err
		}
		for st, n := range counts {
			s.Jobs += n
			if !st.Final() {
				s.Waiting += n
			}
		}
		stats, err := store.JobQueries.Stats(ctx, models.PeriodHour, start.Add(-time.Hour))
		if err != nil {
			return err
		}
		for _, st := range stats {
			s.Finished += st.Succeeded + st.Failed
		}
		r.Samples = append(r.Samples, s)
		fmt.Fprintln(out, s)
		return nil
	}
	tick := time.NewTicker(cfg.Every)
	defer tick.Stop()
	var sampleErr error
	for sampleErr == nil {
		select {
		case <-runCtx.Done():
			if n := len(r.Samples); n == 0 || time.Since(start)-r.Samples[n-1].At > cfg.Every/2 {
				sampleErr = sample()
			}
			wg.Wait()
			r.Enqueued, r.PageErrors, r.EnqueueErrors = enqueued.Load(), pageErrors.Load(), enqueueErrors.Load()
			if sampleErr != nil {
				return r, sampleErr
			}
			r.judge(SoakWarmup(cfg))
			return r, nil
		case <-tick.C:
			sampleErr = sample()
		}
	}
	stop()
	wg.Wait()
	return r, sampleErr
}

// SoakWarmup is how long the soak warms up before it judges: a third of the run, and at
// least until retention has deleted for two rounds (it keeps jobs a minute and runs every 15 s).
func SoakWarmup(cfg SoakConfig) time.Duration {
	return max(cfg.Duration/3, cfg.Retention+30*time.Second)
}

// judge sets the slopes and the verdict from the samples after the warm-up.
func (r *SoakReport) judge(warmup time.Duration) {
	var after []soakSample
	for _, s := range r.Samples {
		if s.At >= warmup {
			after = append(after, s)
		}
	}
	if len(after) < 3 {
		r.Problems = append(r.Problems, fmt.Sprintf("too few samples after the warm-up (%s) to judge: run longer, or sample more often", warmup))
		return
	}
	x := make([]float64, len(after))
	series := func(f func(soakSample) float64) []float64 {
		ys := make([]float64, len(after))
		for i, s := range after {
			x[i] = s.At.Minutes()
			ys[i] = f(s)
		}
		return ys
	}
	if r.Memory == "" {
		r.Memory = "rss"
	}
	memory := func(s soakSample) float64 { return s.RSSMiB }
	if r.Memory == "heap" {
		memory = func(s soakSample) float64 { return s.HeapMiB }
	}
	mem := series(memory)
	gor := series(func(s soakSample) float64 { return float64(s.Goroutines) })
	dbs := series(func(s soakSample) float64 { return s.DBMiB })
	kept := series(func(s soakSample) float64 { return float64(s.Jobs) })
	r.MemorySlope, r.GoroutineSlope, r.DBSlope, r.JobsSlope = slope(x, mem), slope(x, gor), slope(x, dbs), slope(x, kept)
	first, last := after[0], after[len(after)-1]
	if memory(last) > memory(first)*1.1+4 {
		r.Problems = append(r.Problems, fmt.Sprintf("memory (%s) grew from %.1f to %.1f MiB after the warm-up", r.Memory, memory(first), memory(last)))
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, g := range gor {
		lo, hi = math.Min(lo, g), math.Max(hi, g)
	}
	// A sample may catch the 20 workers and a page or two busy at once: a range beyond that, or
	// a climb over a long run, is a leak.
	if hi-lo > 60 || (last.At-first.At >= 10*time.Minute && r.GoroutineSlope > 1) {
		r.Problems = append(r.Problems, fmt.Sprintf("goroutines ranged from %.0f to %.0f after the warm-up (%+.1f a minute)", lo, hi, r.GoroutineSlope))
	}
	if last.DBMiB > first.DBMiB*1.1+1 {
		r.Problems = append(r.Problems, fmt.Sprintf("the database still grew from %.1f to %.1f MiB after the warm-up", first.DBMiB, last.DBMiB))
	}
	// Retention keeps pace when no more jobs are kept than arrive within the retention, a
	// round of cleanup (15 s) and the slowest outcome (a cancelled job runs a minute ahead).
	if bound := float64(r.Rate) * (r.Retention + 75*time.Second).Seconds() * 1.1; float64(last.Jobs) > bound {
		r.Problems = append(r.Problems, fmt.Sprintf("%d jobs kept, more than the %.0f that arrive within the retention: retention does not keep pace", last.Jobs, bound))
	}
	if last.Waiting > int64(r.Rate)*30 {
		r.Problems = append(r.Problems, fmt.Sprintf("%d jobs wait: the engine does not keep up with %d/s", last.Waiting, r.Rate))
	}
	if r.EnqueueErrors > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("%d enqueues failed", r.EnqueueErrors))
	}
	if r.PageErrors > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("%d dashboard requests failed", r.PageErrors))
	}
	r.Pass = len(r.Problems) == 0
}

// slope is the least-squares slope of ys over xs.
func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx, sy, sxx, sxy = sx+xs[i], sy+ys[i], sxx+xs[i]*xs[i], sxy+xs[i]*ys[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

// currentRSS is the process's resident memory now, in MiB (Linux; 0 elsewhere).
func currentRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// openFiles counts the process's open file descriptors (Linux; 0 elsewhere).
func openFiles() int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(fds)
}
