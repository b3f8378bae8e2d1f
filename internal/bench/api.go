package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kilnhq/kiln/api"
	"github.com/kilnhq/kiln/client"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// APIConfig shapes the API phase.
type APIConfig struct {
	Jobs    int // jobs enqueued one per POST, by Clients clients at once
	Clients int
	Batches int // then this many POSTs of 1,000 jobs each
}

// APIReport is what the API phase measured.
type APIReport struct {
	Clients         int     `json:"clients"`
	SinglePerSec    float64 `json:"single_post_jobs_per_sec"`
	SingleP50       float64 `json:"single_post_p50_ms"`
	SingleP99       float64 `json:"single_post_p99_ms"`
	BatchJobsPerSec float64 `json:"batch_post_jobs_per_sec"`
}

func (r APIReport) String() string {
	return fmt.Sprintf("API (over HTTP, with a token):\n  one job per POST, %d clients  %8.0f jobs/s (p50 %.2f ms, p99 %.2f ms)\n  1,000 jobs per POST          %8.0f jobs/s\n",
		r.Clients, r.SinglePerSec, r.SingleP50, r.SingleP99, r.BatchJobsPerSec)
}

// API serves the API on a loopback port and enqueues through it: cfg.Jobs jobs one per
// POST from cfg.Clients clients at once, then cfg.Batches POSTs of 1,000. The jobs are not run.
func API(ctx context.Context, store *models.Store, cfg APIConfig, progress func(string)) (APIReport, error) {
	r := APIReport{Clients: cfg.Clients}
	engine, err := jobs.New(store, jobs.Config{NoWorkers: true})
	if err != nil {
		return r, err
	}
	// Registered, as the API takes known kinds only; never run here.
	if err := engine.Register("bench.api", func(context.Context, *models.Job) error { return nil }); err != nil {
		return r, err
	}
	srv, err := web.New(web.Config{Addr: "127.0.0.1:0"}, store, engine, nil)
	if err != nil {
		return r, err
	}
	if err := srv.Start(ctx); err != nil {
		return r, err
	}
	defer func() { _ = srv.Stop(context.WithoutCancel(ctx)) }()
	token, _, err := store.Tokens.CreateAPIToken(ctx, fmt.Sprintf("bench-%d", time.Now().UnixNano()), models.RoleAdmin, time.Hour, "kiln bench", "")
	if err != nil {
		return r, err
	}
	c := client.New("http://"+srv.Addr(), token)

	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		mu      sync.Mutex
		lat     []time.Duration
		postErr error
	)
	args := json.RawMessage(`{"to":"ada@example.com"}`)
	start := time.Now()
	for range cfg.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for next.Add(1) <= int64(cfg.Jobs) && ctx.Err() == nil {
				t := time.Now()
				if _, err := c.Enqueue(ctx, api.JobSpec{Kind: "bench.api", Args: args}); err != nil {
					mu.Lock()
					postErr = err
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if postErr != nil {
		return r, fmt.Errorf("api: %w", postErr)
	}
	r.SinglePerSec = float64(len(lat)) / time.Since(start).Seconds()
	r.SingleP50, r.SingleP99 = percentileMS(lat, 0.50), percentileMS(lat, 0.99)
	progress(fmt.Sprintf("api: %.0f jobs/s one per POST", r.SinglePerSec))

	specs := make([]api.JobSpec, 1000)
	for i := range specs {
		specs[i] = api.JobSpec{Kind: "bench.api", Args: args}
	}
	start = time.Now()
	for range cfg.Batches {
		if _, err := c.EnqueueBatch(ctx, specs); err != nil {
			return r, fmt.Errorf("api batch: %w", err)
		}
	}
	r.BatchJobsPerSec = float64(cfg.Batches*len(specs)) / time.Since(start).Seconds()
	return r, nil
}

func percentileMS(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	slices.Sort(s)
	return float64(s[min(len(s)-1, int(p*float64(len(s))))]) / float64(time.Millisecond)
}
