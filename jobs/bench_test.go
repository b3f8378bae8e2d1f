package jobs_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

func benchEngine(b *testing.B, cfg jobs.Config) (*jobs.Engine, *models.Store) {
	b.Helper()
	store := modeltest.Open(b, modeltest.SQLiteDSN(b))
	e, err := jobs.New(store, cfg)
	if err != nil {
		b.Fatal(err)
	}
	return e, store
}

// BenchmarkEnqueue measures single-job enqueues (one transaction each).
func BenchmarkEnqueue(b *testing.B) {
	e, _ := benchEngine(b, jobs.Config{NoWorkers: true})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Enqueue(ctx, "noop", map[string]int{"n": 1}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
}

// BenchmarkEnqueueMany measures enqueues in batches of 1,000 (one transaction per batch).
func BenchmarkEnqueueMany(b *testing.B) {
	e, _ := benchEngine(b, jobs.Config{NoWorkers: true})
	batch := make([]jobs.EnqueueParams, 1000)
	for i := range batch {
		batch[i] = jobs.EnqueueParams{Kind: "noop", Args: map[string]int{"n": i}}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.EnqueueMany(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "jobs/s")
}

// BenchmarkBurnDown measures end-to-end throughput: 50 workers on SQLite work every no-op job
// with its full history (enqueued -> processing -> succeeded events). b.N is the job count.
func BenchmarkBurnDown(b *testing.B) {
	e, s := benchEngine(b, jobs.Config{Queues: []jobs.QueueConfig{{Name: "default", Workers: 50}}})
	var done sync.WaitGroup
	if err := e.Register("noop", func(context.Context, *models.Job) error { done.Done(); return nil }); err != nil {
		b.Fatal(err)
	}
	n := max(b.N, 1000)
	batch := make([]jobs.EnqueueParams, 0, 1000)
	for i := range n {
		batch = append(batch, jobs.EnqueueParams{Kind: "noop"})
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := e.EnqueueMany(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	done.Add(n)
	b.ResetTimer()
	if err := e.Start(ctx); err != nil {
		b.Fatal(err)
	}
	done.Wait()
	for { // the last outcomes are written in the completer's next batch
		counts, err := s.JobQueries.CountJobsByState(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if counts[models.JobSucceeded] == int64(n) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "jobs/s")
	if err := e.Stop(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPickupLatency enqueues one job at a time in the same process and measures the time
// from Enqueue returning... to the worker starting: p50 and p99 over b.N jobs.
func BenchmarkPickupLatency(b *testing.B) {
	e, _ := benchEngine(b, jobs.Config{})
	started := make(chan time.Time, 1)
	if err := e.Register("noop", func(context.Context, *models.Job) error { started <- time.Now(); return nil }); err != nil {
		b.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = e.Stop(ctx) }()
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		t0 := time.Now()
		if _, err := e.Enqueue(ctx, "noop", nil); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, (<-started).Sub(t0))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
