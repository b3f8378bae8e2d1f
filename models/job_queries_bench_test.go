package models_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
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

// BenchmarkSearchJobs reads the first page of a text search, with 50,000 older jobs (their
// statistics analyzed, as autovacuum would) and 5,000 newer ones: a text that one newer job in
// ten holds, one only an old job holds, and one no job holds (the whole window is read):
// go test -run '^$' -bench SearchJobs -benchmem ./models/
func BenchmarkSearchJobs(b *testing.B) {
	for _, d := range modeltest.Dialects {
		b.Run(d.Name, func(b *testing.B) {
			s := modeltest.Open(b, d.DSN(b))
			old := make([]string, 50_000)
			for i := range old {
				old[i] = fmt.Sprintf(`{"to":"user%d@example.com","template":"receipt"}`, i)
			}
			insertArgs(b, s, old...)
			if s.Dialect() == models.DialectPostgres {
				if err := modeltest.DB(s).Exec("ANALYZE jobs").Error; err != nil {
					b.Fatal(err)
				}
			}
			recent := make([]string, 5_000)
			for i := range recent {
				recent[i] = fmt.Sprintf(`{"n":%d,"i":%d}`, i%10, i)
			}
			insertArgs(b, s, recent...)
			for _, bc := range []struct {
				name, search string
				found        int
			}{{"often", `"n":7`, 20}, {"once-deep", "user12345@", 1}, {"never", "no such text", 0}} {
				b.Run(bc.name, func(b *testing.B) {
					for b.Loop() {
						page, err := s.JobQueries.ListJobs(ctx, models.JobFilter{Search: bc.search}, 0, 0, 20)
						if err != nil || len(page.Jobs) != bc.found {
							b.Fatalf("%d jobs, %v", len(page.Jobs), err)
						}
					}
				})
			}
		})
	}
}
