package models_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// staleStatistics fills a PostgreSQL store with n enqueued jobs of queue and has its statistics
// taken then, autovacuum off on jobs and the other tables named, so that the planner never sees
// what the test changes after. It returns the store's database.
func staleStatistics(t *testing.T, s *models.Store, n int, queue string, tables ...string) *gorm.DB {
	t.Helper()
	db := modeltest.DB(s)
	for _, table := range append([]string{"jobs"}, tables...) {
		require.NoError(t, db.Exec("ALTER TABLE "+table+" SET (autovacuum_enabled = false)").Error)
	}
	plain := make([]*models.Job, n)
	for i := range plain {
		plain[i] = newJob("k")
		plain[i].Queue = queue
	}
	_, err := s.Jobs.InsertJobs(ctx, plain, time.Now())
	require.NoError(t, err)
	require.NoError(t, db.Exec("ANALYZE jobs").Error)
	return db
}

// plansOf runs run while recording the SQL GORM sends to db, and returns the plans (EXPLAIN) of
// the statements keep selects, by statement; it fails the test when keep selects none.
func plansOf(t *testing.T, db *gorm.DB, keep func(string) bool, run func()) map[string]string {
	t.Helper()
	rec := &statements{Interface: db.Logger}
	kept := db.Logger
	db.Logger = rec
	run()
	db.Logger = kept
	plans := map[string]string{}
	for _, q := range rec.sql {
		if !keep(q) {
			continue
		}
		var lines []string
		require.NoError(t, db.Raw("EXPLAIN "+q).Pluck("QUERY PLAN", &lines).Error)
		plans[q] = strings.Join(lines, "\n")
	}
	require.NotEmpty(t, plans, "none of these statements was asked for:\n%s", strings.Join(rec.sql, "\n"))
	return plans
}

// statements records the SQL GORM runs, its values written in.
type statements struct {
	logger.Interface
	mu  sync.Mutex
	sql []string
}

func (s *statements) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	sql, _ := fc()
	s.mu.Lock()
	s.sql = append(s.sql, sql)
	s.mu.Unlock()
}

// A finish looks for the continuations of the jobs it ends by their parent, even while a
// workflow's thousands of steps await and PostgreSQL's statistics saw none awaiting: read
// through the state index instead, every finish batch of any job walked all those steps.
func TestFinishFindsContinuationsByParent(t *testing.T) {
	s := modeltest.Open(t, modeltest.PostgresDSN(t))
	db := staleStatistics(t, s, 2000, "other") // the statistics see jobs, none awaiting
	steps := []models.NewStep{step("first")}
	var middle []string
	for i := range 3000 {
		middle = append(middle, fmt.Sprintf("s%d", i))
		steps = append(steps, step(middle[i], "first"))
	}
	workflow(t, s, append(steps, step("last", middle...))...)
	first := claim(t, s, "n1", 1)
	require.Len(t, first, 1)
	finish(t, s, first[0], models.JobFinish{State: models.JobSucceeded}) // 3,000 steps released
	running := claim(t, s, "n1", 500)
	require.Len(t, running, 500)
	batch := make([]models.JobFinish, len(running))
	for i, j := range running {
		batch[i] = models.JobFinish{JobID: j.ID, ServerID: j.ServerID, Attempt: j.Attempt, Run: j.Runs, State: models.JobSucceeded, At: time.Now()}
	}

	plans := plansOf(t, db, func(q string) bool { return strings.Contains(q, "parent_id") && strings.Contains(q, "jobs") }, func() {
		_, _, err := s.Jobs.FinishJobs(ctx, batch) // 500 steps end; the last one still awaits 2,500
		require.NoError(t, err)
	})
	for q, plan := range plans {
		require.NotContains(t, plan, "idx_jobs_state_id", "the finish looks for continuations through the state index:\n%s\n%s", q, plan)
	}
}
