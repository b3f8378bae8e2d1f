package tasks_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/kilnhq/kiln/internal/tasks"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/jobstest"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

// setup runs fn as subtests named sqlite and postgres, each with a fresh store and an engine on
// it with the app's kinds registered (not started).
func setup(t *testing.T, cfg tasks.Config, fn func(t *testing.T, e *jobs.Engine, s *models.Store)) {
	t.Helper()
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		e, err := jobs.New(s, jobstest.Fast())
		require.NoError(t, err)
		require.NoError(t, tasks.Register(e, s.Tasks, cfg))
		fn(t, e, s)
	})
}

// The work item logs each step and reports progress as it goes.
func TestCountdownLogsItsSteps(t *testing.T) {
	setup(t, tasks.Config{CountdownStep: 10 * time.Millisecond}, func(t *testing.T, e *jobs.Engine, s *models.Store) {
		jobstest.Start(t, e)
		job, err := tasks.EnqueueCountdown(ctx, e)
		require.NoError(t, err)
		done := jobstest.WaitState(t, s.JobQueries, job.ID, models.JobSucceeded)
		require.Equal(t, 100, done.Progress)
		logs, err := s.JobQueries.JobLogs(ctx, job.ID)
		require.NoError(t, err)
		var lines []string
		for _, l := range logs {
			lines = append(lines, l.Message)
		}
		require.Equal(t, []string{"step 1/3", "step 2/3", "step 3/3", "done"}, lines)
	})
}

// Bad arguments fail the job at once, saying why, without a retry.
func TestCountdownRefusesBadArguments(t *testing.T) {
	setup(t, tasks.Config{}, func(t *testing.T, e *jobs.Engine, s *models.Store) {
		jobstest.Start(t, e)
		job, err := e.Enqueue(ctx, tasks.KindCountdown, tasks.CountdownArgs{Steps: 5000, StepSeconds: 1})
		require.NoError(t, err)
		failed := jobstest.WaitState(t, s.JobQueries, job.ID, models.JobFailed)
		require.Contains(t, failed.LastError, "steps must be 1-1000")
		require.Equal(t, 1, failed.Attempt)
	})
}

func TestRegisterRefusesABadConfig(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	e, err := jobs.New(s, jobs.Config{NoWorkers: true})
	require.NoError(t, err)
	require.ErrorIs(t, tasks.Register(e, s.Tasks, tasks.Config{CountdownStep: -time.Second}), jobs.ErrInvalidConfig)
	require.ErrorIs(t, tasks.Register(e, s.Tasks, tasks.Config{SweepEvery: "often"}), jobs.ErrInvalidSchedule)
}

// The sweep is housekeeping, which the dashboard hides by default; the work item is not.
func TestSweepIsHousekeeping(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	e, err := jobs.New(s, jobs.Config{NoWorkers: true})
	require.NoError(t, err)
	require.NoError(t, tasks.Register(e, s.Tasks, tasks.Config{}))
	got := map[string]bool{}
	for _, k := range e.Kinds() {
		got[k.Name] = k.Housekeeping
	}
	require.Equal(t, map[string]bool{tasks.KindSweepOverdue: true, tasks.KindCountdown: false}, got)
}

// With 100,000 tasks, half of them overdue, one sweep job completes exactly those.
func TestSweepCompletesExactlyTheOverdueTasks(t *testing.T) {
	if testing.Short() {
		t.Skip("inserts 100,000 tasks")
	}
	setup(t, tasks.Config{SweepEvery: "@every 24h"}, func(t *testing.T, e *jobs.Engine, s *models.Store) {
		now := time.Now().UTC()
		const total = 100_000
		batch := make([]models.Task, 0, 1000)
		for i := range total {
			due := now.Add(time.Hour + time.Duration(i)*time.Second) // due after the test ends
			if i%2 == 0 {
				due = now.Add(-time.Duration(i+1) * time.Second) // overdue
			}
			batch = append(batch, models.Task{Title: "t", DueAt: due})
			if len(batch) == cap(batch) {
				require.NoError(t, modeltest.DB(s).CreateInBatches(&batch, 500).Error)
				batch = batch[:0]
			}
		}
		jobstest.Start(t, e) // enqueues the start-up sweep; the recurring one is a day away
		var sweeps []models.Job
		require.Eventually(t, func() bool {
			require.NoError(t, modeltest.DB(s).Where("kind = ?", tasks.KindSweepOverdue).Find(&sweeps).Error)
			return len(sweeps) == 1 && sweeps[0].State == models.JobSucceeded
		}, 60*time.Second, 20*time.Millisecond)
		done := &sweeps[0]
		require.Nil(t, done.RecurringID, "the start-up sweep, not a recurring occurrence")
		counts, err := s.Tasks.CountTasks(ctx, now)
		require.NoError(t, err)
		require.Equal(t, models.TaskCounts{All: total, Pending: total / 2, Completed: total / 2}, counts)
		logs, err := s.JobQueries.JobLogs(ctx, done.ID)
		require.NoError(t, err)
		require.Len(t, logs, 1)
		require.Equal(t, "completed 50000 overdue tasks", logs[0].Message)
		require.JSONEq(t, `{"completed":50000}`, done.Result)
	})
}

func TestCountdownHonoursCancellation(t *testing.T) {
	setup(t, tasks.Config{CountdownStep: time.Hour}, func(t *testing.T, e *jobs.Engine, s *models.Store) {
		jobstest.Start(t, e)
		job, err := tasks.EnqueueCountdown(ctx, e)
		require.NoError(t, err)
		jobstest.WaitState(t, s.JobQueries, job.ID, models.JobProcessing)
		require.NoError(t, e.Cancel(ctx, job.ID))
		jobstest.WaitState(t, s.JobQueries, job.ID, models.JobCancelled)
		require.Eventually(t, func() bool {
			logs, err := s.JobQueries.JobLogs(ctx, job.ID)
			return err == nil && len(logs) == 2 && strings.HasPrefix(logs[1].Message, "stopped at step 1/3")
		}, 10*time.Second, 10*time.Millisecond)
	})
}
