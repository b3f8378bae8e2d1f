package models_test

import (
	"testing"
	"time"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// The hot paths of the engine, with allocations, on each dialect (PostgreSQL when
// KILN_TEST_POSTGRES_DSN is set): go test -run '^$' -bench 'Claim|Finish|Insert' -benchmem ./models/

// onEachDialect runs fn as sub-benchmarks named sqlite and postgres, each with a fresh store
// holding n enqueued jobs.
func onEachDialect(b *testing.B, n int, fn func(b *testing.B, s *models.Store)) {
	for _, d := range modeltest.Dialects {
		b.Run(d.Name, func(b *testing.B) { fn(b, benchStore(b, d.DSN(b), n)) })
	}
}

func benchStore(b *testing.B, dsn string, n int) *models.Store {
	b.Helper()
	s := modeltest.Open(b, dsn)
	refill(b, s, n)
	return s
}

// refill enqueues n more no-op jobs.
func refill(b *testing.B, s *models.Store, n int) {
	b.Helper()
	for left := n; left > 0; left -= 1000 {
		batch := make([]*models.Job, min(left, 1000))
		for i := range batch {
			batch[i] = &models.Job{Kind: "bench", Queue: "default", Args: "{}", MaxAttempts: 3}
		}
		if _, err := s.Jobs.InsertJobs(ctx, batch, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInsertJobs1000 inserts batches of 1,000 jobs with their events, as EnqueueMany does.
func BenchmarkInsertJobs1000(b *testing.B) {
	onEachDialect(b, 0, func(b *testing.B, s *models.Store) {
		b.ReportAllocs()
		for b.Loop() {
			batch := make([]*models.Job, 1000)
			for i := range batch {
				batch[i] = &models.Job{Kind: "bench", Queue: "default", Args: "{}", MaxAttempts: 3}
			}
			if _, err := s.Jobs.InsertJobs(ctx, batch, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "jobs/s")
	})
}

// BenchmarkInsertJobs100 inserts batches of 100 jobs with their events.
func BenchmarkInsertJobs100(b *testing.B) {
	onEachDialect(b, 0, func(b *testing.B, s *models.Store) {
		b.ReportAllocs()
		for b.Loop() {
			batch := make([]*models.Job, 100)
			for i := range batch {
				batch[i] = &models.Job{Kind: "bench", Queue: "default", Args: "{}", MaxAttempts: 3}
			}
			if _, err := s.Jobs.InsertJobs(ctx, batch, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "jobs/s")
	})
}

// BenchmarkClaim10 claims 10 jobs at a time from a large queue.
func BenchmarkClaim10(b *testing.B) {
	onEachDialect(b, 200_000, func(b *testing.B, s *models.Store) {
		b.ReportAllocs()
		for b.Loop() {
			jobs, err := s.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "default", ServerID: "srv", Limit: 10, Lease: time.Minute, Now: time.Now()})
			if err != nil || len(jobs) != 10 {
				b.Fatalf("claimed %d: %v", len(jobs), err)
			}
		}
		b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "jobs/s")
	})
}

// BenchmarkFinish100 finishes batches of 100 claimed jobs with their events and counters.
func BenchmarkFinish100(b *testing.B) {
	onEachDialect(b, 200_000, func(b *testing.B, s *models.Store) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			jobs, err := s.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "default", ServerID: "srv", Limit: 100, Lease: time.Minute, Now: time.Now()})
			if err == nil && len(jobs) < 100 { // the backlog ran out: more, untimed
				refill(b, s, 100_000)
				jobs, err = s.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "default", ServerID: "srv", Limit: 100, Lease: time.Minute, Now: time.Now()})
			}
			if err != nil || len(jobs) != 100 {
				b.Fatalf("claimed %d: %v", len(jobs), err)
			}
			batch := make([]models.JobFinish, len(jobs))
			for i, j := range jobs {
				batch[i] = models.JobFinish{JobID: j.ID, ServerID: "srv", Attempt: j.Attempt, Run: j.Runs, State: models.JobSucceeded, At: time.Now()}
			}
			b.StartTimer()
			if n, _, err := s.Jobs.FinishJobs(ctx, batch); err != nil || n != 100 {
				b.Fatalf("finished %d: %v", n, err)
			}
		}
		b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "jobs/s")
	})
}

// BenchmarkClaimFinish50 is the database side of a job's life on a busy server: claim 50 jobs,
// finish them, repeat. Its time per job bounds the burn-down rate of one SQLite writer.
func BenchmarkClaimFinish50(b *testing.B) {
	onEachDialect(b, 200_000, func(b *testing.B, s *models.Store) {
		b.ReportAllocs()
		for b.Loop() {
			jobs, err := s.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "default", ServerID: "srv", Limit: 50, Lease: time.Minute, Now: time.Now()})
			if err != nil || len(jobs) != 50 {
				b.Fatalf("claimed %d: %v", len(jobs), err)
			}
			batch := make([]models.JobFinish, len(jobs))
			for i, j := range jobs {
				batch[i] = models.JobFinish{JobID: j.ID, ServerID: "srv", Attempt: j.Attempt, Run: j.Runs, State: models.JobSucceeded, Reason: "succeeded", At: time.Now(), Duration: time.Millisecond}
			}
			if n, _, err := s.Jobs.FinishJobs(ctx, batch); err != nil || n != 50 {
				b.Fatalf("finished %d: %v", n, err)
			}
		}
		b.ReportMetric(float64(b.N*50)/b.Elapsed().Seconds(), "jobs/s")
		b.ReportMetric(b.Elapsed().Seconds()*1e6/float64(b.N*50), "µs/job")
	})
}
