package models_test

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/kilnhq/kiln/models"
)

// The store's part of kiln bench --workflow, phase by phase, on each dialect: storing a run of
// a first step, a fan-out of 9,998 items that waits for it and a last that waits for them all;
// releasing (expanding) the 9,998 when the first succeeds; and their successes, in batches of 500 as the engine's
// completer writes them, down to the last step's release.
// go test -run '^$' -bench WorkflowFanOut -benchtime 5x ./models/
func BenchmarkWorkflowFanOut(b *testing.B) {
	const n = 10_000
	fanOut := func() []models.NewStep {
		items := make([]json.RawMessage, n-2)
		for i := range items {
			items[i] = json.RawMessage(strconv.Itoa(i))
		}
		return []models.NewStep{{Name: "first", Job: &models.Job{Kind: "bench", Queue: "default", Args: "{}", MaxAttempts: 3}},
			{Name: "each", DependsOn: []string{"first"}, Items: items,
				Job: &models.Job{Kind: "bench", Queue: "default", Args: `{"item":"${item}"}`, MaxAttempts: 3}},
			{Name: "last", DependsOn: []string{"each"}, Job: &models.Job{Kind: "bench", Queue: "default", Args: "{}", MaxAttempts: 3}}}
	}
	store := func(b *testing.B, s *models.Store) {
		if err := s.Workflows.CreateWorkflow(ctx, &models.Workflow{Name: "bench"}, fanOut(), time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	// work claims up to limit jobs and finishes them as succeeded, in one batch.
	work := func(b *testing.B, s *models.Store, limit int) int {
		now := time.Now()
		jobs, err := s.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "default", ServerID: "n1", Limit: limit, Lease: time.Minute, Now: now})
		if err != nil {
			b.Fatal(err)
		}
		batch := make([]models.JobFinish, len(jobs))
		for i, j := range jobs {
			batch[i] = models.JobFinish{JobID: j.ID, ServerID: "n1", Attempt: j.Attempt, Run: j.Runs, State: models.JobSucceeded, At: now}
		}
		if len(batch) > 0 {
			if _, _, err := s.Jobs.FinishJobs(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
		return len(jobs)
	}
	b.Run("store", func(b *testing.B) {
		onEachDialect(b, 0, func(b *testing.B, s *models.Store) {
			for b.Loop() {
				store(b, s)
			}
		})
	})
	b.Run("release", func(b *testing.B) {
		onEachDialect(b, 0, func(b *testing.B, s *models.Store) {
			for range b.N {
				b.StopTimer()
				store(b, s)
				b.StartTimer()
				if work(b, s, 1) != 1 { // the first step, and the release of the 9,998
					b.Fatal("the first step was not enqueued")
				}
				b.StopTimer()
				for work(b, s, 1000) > 0 {
				}
				b.StartTimer()
			}
		})
	})
	b.Run("fan-in", func(b *testing.B) {
		onEachDialect(b, 0, func(b *testing.B, s *models.Store) {
			for range b.N {
				b.StopTimer()
				store(b, s)
				work(b, s, 1)
				b.StartTimer()
				for work(b, s, 500) > 0 {
				}
			}
		})
	})
}
