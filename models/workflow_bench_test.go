package models_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/kilnhq/kiln/models"
)

// bigRun is a run of n jobs: a first step, a fan-out of n-2 items over a list, a last step.
func bigRun(n int) []models.NewStep {
	items := make([]json.RawMessage, n-2)
	for i := range items {
		items[i] = json.RawMessage(fmt.Sprint(i))
	}
	fan := step("fan", "first")
	fan.Items = items
	return []models.NewStep{step("first"), fan, step("last", "fan")}
}

// BenchmarkCancelWorkflow10000 cancels a run of 10,000 jobs waiting to run:
// go test -run '^$' -bench CancelWorkflow -benchtime 5x ./models/
func BenchmarkCancelWorkflow10000(b *testing.B) {
	onEachDialect(b, 0, func(b *testing.B, s *models.Store) {
		for b.Loop() {
			b.StopTimer()
			wf := &models.Workflow{Name: "bench"}
			if err := s.Workflows.CreateWorkflow(ctx, wf, bigRun(10_000), time.Now()); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := s.Workflows.CancelWorkflow(ctx, wf.ID, "bench"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCreateWorkflow10000 stores a run of 10,000 jobs: go test -run '^$' -bench
// CreateWorkflow -benchtime 5x ./models/
func BenchmarkCreateWorkflow10000(b *testing.B) {
	onEachDialect(b, 0, func(b *testing.B, s *models.Store) {
		for b.Loop() {
			wf := &models.Workflow{Name: "bench"}
			if err := s.Workflows.CreateWorkflow(ctx, wf, bigRun(10_000), time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
