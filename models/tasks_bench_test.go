package models_test

import (
	"testing"
	"time"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

func BenchmarkCreateTask(b *testing.B) {
	s := modeltest.Open(b, modeltest.SQLiteDSN(b))
	in := models.TaskInput{Title: "Benchmark task", Description: "A few words.", DueAt: time.Now().Add(time.Hour)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Tasks.CreateTask(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// seedTasks inserts n tasks, half of them overdue, in batches.
func seedTasks(b *testing.B, s *models.Store, n int) {
	b.Helper()
	now := time.Now().UTC()
	tasks := make([]models.Task, 0, 1000)
	for i := range n {
		due := now.Add(time.Duration(i-n/2) * time.Minute)
		tasks = append(tasks, models.Task{Title: "seeded", DueAt: due})
		if len(tasks) == cap(tasks) || i == n-1 {
			if err := modeltest.DB(s).CreateInBatches(&tasks, 500).Error; err != nil {
				b.Fatal(err)
			}
			tasks = tasks[:0]
		}
	}
}

func BenchmarkListTasks100k(b *testing.B) {
	s := modeltest.Open(b, modeltest.SQLiteDSN(b))
	seedTasks(b, s, 100_000)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Tasks.ListTasks(ctx, models.TaskFilter{Status: models.TaskOverdue, Now: now, Limit: 50}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCountTasks100k(b *testing.B) {
	s := modeltest.Open(b, modeltest.SQLiteDSN(b))
	seedTasks(b, s, 100_000)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Tasks.CountTasks(ctx, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSweep1M completes the overdue half of 1,000,000 tasks (500,001: the middle one is due
// at the seeding instant) in one set-based UPDATE.
// Each iteration reopens them first (untimed). go test -run '^$' -bench Sweep1M -benchtime 3x ./models/
func BenchmarkSweep1M(b *testing.B) {
	s := modeltest.Open(b, modeltest.SQLiteDSN(b))
	seedTasks(b, s, 1_000_000)
	now := time.Now()
	for b.Loop() {
		b.StopTimer()
		if err := modeltest.DB(s).Exec("UPDATE tasks SET completed = ?, completed_at = NULL, completed_by = '' WHERE completed = ?", false, true).Error; err != nil {
			b.Fatal(err)
		}
		counts, err := s.Tasks.CountTasks(ctx, now)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		n, err := s.Tasks.CompleteOverdueTasks(ctx, now)
		if err != nil {
			b.Fatal(err)
		}
		if n != counts.Overdue || n < 500_000 {
			b.Fatalf("completed %d, want the %d overdue", n, counts.Overdue)
		}
	}
}
