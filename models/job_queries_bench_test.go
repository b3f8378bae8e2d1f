package models_test

import (
	"testing"
	"time"

	"github.com/kilnhq/kiln/models"
)

// BenchmarkListJobsPastHousekeeping reads the Jobs list's first page when the newest 20,160
// jobs (two weeks of a sweep every minute, with nothing else) are of a kind the dashboard
// leaves out, against the same page leaving out nothing:
// go test -run '^$' -bench ListJobsPastHousekeeping ./models/
func BenchmarkListJobsPastHousekeeping(b *testing.B) {
	onEachDialect(b, 30_000, func(b *testing.B, s *models.Store) {
		for left := 20_160; left > 0; left -= 1000 {
			batch := make([]*models.Job, min(left, 1000))
			for i := range batch {
				batch[i] = &models.Job{Kind: "tasks.sweep_overdue", Queue: "default", Args: "{}", MaxAttempts: 3}
			}
			if _, err := s.Jobs.InsertJobs(ctx, batch, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
		for _, bc := range []struct {
			name   string
			except []string
		}{{"none-left-out", nil}, {"housekeeping-left-out", []string{"tasks.sweep_overdue", "jobs.cleanup"}}} {
			b.Run(bc.name, func(b *testing.B) {
				for b.Loop() {
					page, err := s.JobQueries.ListJobs(ctx, models.JobFilter{ExceptKinds: bc.except}, 0, 0, 20)
					if err != nil || len(page.Jobs) != 20 {
						b.Fatalf("%d jobs, %v", len(page.Jobs), err)
					}
				}
			})
		}
	})
}
