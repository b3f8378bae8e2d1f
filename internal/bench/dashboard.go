package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kilnhq/kiln/internal/tasks"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// The dashboard phase of kiln bench: with the jobs of the earlier phases in history, it enqueues
// more, starts an engine that burns them down at full speed, serves the dashboard on a loopback
// port, and has a few clients request every page over HTTP until the burn-down ends, timing
// each response.

// DashboardConfig shapes the dashboard phase.
type DashboardConfig struct {
	Jobs    int           // jobs to burn down under the load
	Workers int           // workers of that burn-down
	Clients int           // concurrent dashboard clients
	MaxTime time.Duration // the phase ends after this even if jobs are left
}

// pageTiming is the response times of one dashboard page, in milliseconds.
type pageTiming struct {
	Path     string  `json:"path"`
	Requests int     `json:"requests"`
	P50      float64 `json:"p50_ms"`
	P95      float64 `json:"p95_ms"`
	Max      float64 `json:"max_ms"`
}

// DashboardReport is what the dashboard phase measured.
type DashboardReport struct {
	HistoryJobs    int64        `json:"history_jobs"`
	BurnDownPerSec float64      `json:"burn_down_jobs_per_sec"`
	Clients        int          `json:"clients"`
	Pages          []pageTiming `json:"pages"`
}

func (r DashboardReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dashboard under load: %d jobs in history, burn-down %.0f jobs/s meanwhile, %d clients\n", r.HistoryJobs, r.BurnDownPerSec, r.Clients)
	fmt.Fprintf(&b, "  %-44s %8s %9s %9s %9s\n", "page", "requests", "p50 ms", "p95 ms", "max ms")
	for _, p := range r.Pages {
		fmt.Fprintf(&b, "  %-44s %8d %9.1f %9.1f %9.1f\n", p.Path, p.Requests, p.P50, p.P95, p.Max)
	}
	return b.String()
}

func (r DashboardReport) JSON() string {
	out, _ := json.MarshalIndent(r, "", "  ")
	return string(out)
}

// Dashboard runs the dashboard phase on store.
func Dashboard(ctx context.Context, store *models.Store, cfg DashboardConfig, progress func(string)) (DashboardReport, error) {
	var r DashboardReport
	counts, err := store.JobQueries.CountJobsByState(ctx)
	if err != nil {
		return r, err
	}
	for _, n := range counts {
		r.HistoryJobs += n
	}
	// The burn-down is over when cfg.Jobs more than base have succeeded.
	base := counts[models.JobSucceeded]
	target := base + int64(cfg.Jobs)
	engine, err := jobs.New(store, jobs.Config{Queues: []jobs.QueueConfig{{Name: jobs.DefaultQueue, Workers: cfg.Workers}}})
	if err != nil {
		return r, err
	}
	if err := builtin.Register(engine, store.Jobs, builtin.Config{}); err != nil {
		return r, err
	}
	if err := tasks.Register(engine, store.Tasks, tasks.Config{}); err != nil {
		return r, err
	}
	if err := engine.Register("bench.noop", func(context.Context, *models.Job) error { return nil }); err != nil {
		return r, err
	}
	batch := make([]jobs.EnqueueParams, 0, 1000)
	for i := range cfg.Jobs {
		batch = append(batch, jobs.EnqueueParams{Kind: "bench.noop", Args: map[string]int{"n": i}})
		if len(batch) == cap(batch) || i == cfg.Jobs-1 {
			if _, err := engine.EnqueueMany(ctx, batch); err != nil {
				return r, fmt.Errorf("dashboard: insert: %w", err)
			}
			batch = batch[:0]
		}
	}
	srv, err := web.New(web.Config{Addr: "127.0.0.1:0", LocalNoAuth: true}, store, engine, nil)
	if err != nil {
		return r, err
	}
	if err := srv.Start(ctx); err != nil {
		return r, err
	}
	defer func() { _ = srv.Stop(context.WithoutCancel(ctx)) }()

	url := "http://" + srv.Addr()
	someJob := strconv.FormatInt(max(1, r.HistoryJobs/2), 10)
	paths := []string{
		"/dashboard", "/dashboard/live", "/dashboard?history=7d",
		"/dashboard/jobs", "/dashboard/jobs?state=succeeded", "/dashboard/jobs?state=processing",
		"/dashboard/jobs?state=enqueued", "/dashboard/jobs?state=failed&limit=100", "/dashboard/jobs?q=%22n%22%3A7",
		"/dashboard/jobs/" + someJob, "/dashboard/jobs/" + someJob + "/live",
		"/dashboard/recurring", "/dashboard/queues", "/dashboard/servers", "/dashboard/kinds", "/dashboard/kinds/bench.noop", "/",
	}
	start := time.Now()
	if err := engine.Start(ctx); err != nil {
		return r, err
	}
	loadCtx, stopLoad := context.WithTimeout(ctx, cfg.MaxTime)
	defer stopLoad()
	var (
		mu      sync.Mutex
		timings = map[string][]time.Duration{}
		loadErr error
		wg      sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for c := range cfg.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; loadCtx.Err() == nil; i++ {
				path := paths[i%len(paths)]
				took, err := timeGet(loadCtx, client, url+path)
				mu.Lock()
				if err != nil && loadCtx.Err() == nil && loadErr == nil {
					loadErr = fmt.Errorf("dashboard: GET %s: %w", path, err)
					stopLoad()
				} else if err == nil {
					timings[path] = append(timings[path], took)
				}
				mu.Unlock()
			}
		}()
	}
	var (
		done  int64
		burnt time.Duration // when the last job was done
	)
	for loadCtx.Err() == nil {
		counts, err := store.JobQueries.CountJobsByState(ctx)
		if err != nil {
			stopLoad()
			wg.Wait()
			_ = engine.Stop(ctx)
			return r, err
		}
		done = counts[models.JobSucceeded]
		if done >= target && burnt == 0 {
			burnt = time.Since(start)
		}
		mu.Lock()
		requested := len(timings) // pages with at least one answer
		mu.Unlock()
		if done >= target && requested == len(paths) {
			break
		}
		progress(fmt.Sprintf("dashboard under load: %d/%d jobs", done-base, cfg.Jobs))
		select {
		case <-loadCtx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
	if burnt == 0 { // out of time
		burnt = time.Since(start)
	}
	done = min(done, target)
	stopLoad()
	wg.Wait()
	if err := engine.Stop(ctx); err != nil {
		return r, err
	}
	if loadErr != nil {
		return r, loadErr
	}
	r.BurnDownPerSec = float64(done-base) / burnt.Seconds()
	r.Clients = cfg.Clients
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	for _, p := range paths {
		t := timings[p]
		if len(t) == 0 {
			continue
		}
		slices.Sort(t)
		r.Pages = append(r.Pages, pageTiming{
			Path: p, Requests: len(t), P50: ms(t[len(t)/2]), P95: ms(t[min(len(t)-1, len(t)*95/100)]), Max: ms(t[len(t)-1]),
		})
	}
	return r, nil
}

// timeGet requests url and reads the whole response, which must be a 200.
func timeGet(ctx context.Context, client *http.Client, url string) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	took := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	return took, nil
}
