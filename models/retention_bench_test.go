package models_test

import (
	"testing"
	"time"

	"github.com/kilnhq/kiln/models"
)

// BenchmarkCleanupJobs1000 is one batch of retention: deleting 1,000 succeeded jobs, each with
// its events (enqueued, processing, succeeded), a log line and two tags, beside 100,000
// enqueued jobs it leaves alone. ns/op is per batch of 1,000:
// go test -run '^$' -bench CleanupJobs -benchmem ./models/
func BenchmarkCleanupJobs1000(b *testing.B) {
	onEachDialect(b, 100_000, func(b *testing.B, s *models.Store) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			finishedJobs(b, s, 1000)
			b.StartTimer()
			n, err := s.Jobs.CleanupJobs(ctx, models.RetainedStates, time.Now().Add(time.Hour), 1000)
			if err != nil || n != 1000 {
				b.Fatalf("deleted %d: %v", n, err)
			}
		}
		b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "jobs/s")
	})
}

// finishedJobs stores n jobs, on a queue of their own, and works them: each is claimed, logs a
// line and succeeds.
func finishedJobs(b *testing.B, s *models.Store, n int) {
	b.Helper()
	batch := make([]*models.Job, n)
	for i := range batch {
		batch[i] = &models.Job{Kind: "bench", Queue: "retention", Args: `{"to":"ada@example.com"}`, MaxAttempts: 3}
		if err := batch[i].SetTags([]string{"bench", "retention"}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.Jobs.InsertJobs(ctx, batch, time.Now()); err != nil {
		b.Fatal(err)
	}
	jobs, err := s.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "retention", ServerID: "srv", Limit: n, Lease: time.Minute, Now: time.Now()})
	if err != nil || len(jobs) != n {
		b.Fatalf("claimed %d: %v", len(jobs), err)
	}
	logs := make([]models.JobLog, n)
	done := make([]models.JobFinish, n)
	for i, j := range jobs {
		logs[i] = models.JobLog{JobID: j.ID, Attempt: j.Attempt, At: time.Now(), Message: "sent"}
		done[i] = models.JobFinish{JobID: j.ID, ServerID: "srv", Attempt: j.Attempt, Run: j.Runs, State: models.JobSucceeded,
			Reason: "succeeded", At: time.Now(), Duration: time.Millisecond}
	}
	if err := s.Jobs.AppendJobLogs(ctx, logs); err != nil {
		b.Fatal(err)
	}
	if finished, _, err := s.Jobs.FinishJobs(ctx, done); err != nil || finished != n {
		b.Fatalf("finished %d: %v", finished, err)
	}
}
