package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"gorm.io/gorm"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/jobstest"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

func TestMain(m *testing.M) {
	if dsn := os.Getenv(crashChildEnv); dsn != "" {
		os.Exit(runCrashChild(dsn)) // this process is TestCrashRecovery's worker, not a test run
	}
	goleak.VerifyTestMain(m)
}

var ctx = context.Background()

// fast, start and waitState are jobstest's, under the short names these tests use everywhere.
var (
	fast      = jobstest.Fast
	start     = func(t *testing.T, e *jobs.Engine) { t.Helper(); jobstest.Start(t, e) }
	waitState = func(t *testing.T, s *models.Store, id int64, want models.JobState) *models.Job {
		t.Helper()
		return jobstest.WaitState(t, s.JobQueries, id, want)
	}
)

// forEachDialect and newEngine are jobstest's, under the names these tests use everywhere.
var (
	forEachDialect = jobstest.ForEachDialect
	newEngine      = func(t *testing.T, store *models.Store, cfg jobs.Config) *jobs.Engine {
		t.Helper()
		return jobstest.New(t, store, cfg)
	}
)

func transitions(t *testing.T, s *models.Store, id int64) []string {
	t.Helper()
	events, err := s.JobQueries.JobEvents(ctx, id)
	require.NoError(t, err)
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = string(e.From) + ">" + string(e.To)
	}
	return out
}

func TestRetryThenSuccess(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		var calls atomic.Int32
		require.NoError(t, e.Register("flaky", func(ctx context.Context, j *models.Job) error {
			if n := calls.Add(1); n < 3 {
				return fmt.Errorf("boom %d", n)
			}
			return nil
		}, jobs.MaxAttempts(5), jobs.WithBackoff(jobs.ConstantBackoff(20*time.Millisecond))))
		start(t, e)
		job, err := e.Enqueue(ctx, "flaky", map[string]int{"n": 1})
		require.NoError(t, err)
		done := waitState(t, s, job.ID, models.JobSucceeded)
		require.Equal(t, 3, done.Attempt)
		require.Equal(t, "", done.LastError, "success clears the last error")
		require.Equal(t, []string{
			">enqueued", "enqueued>processing", "processing>scheduled", "scheduled>enqueued",
			"enqueued>processing", "processing>scheduled", "scheduled>enqueued", "enqueued>processing", "processing>succeeded",
		}, transitions(t, s, job.ID))
		events, err := s.JobQueries.JobEvents(ctx, job.ID)
		require.NoError(t, err)
		require.Equal(t, "boom 1", events[2].Error)
		require.Contains(t, events[2].Reason, "attempt 1 of 5 failed; retrying")
		require.Equal(t, e.ServerID(), events[1].ServerID)
	})
}

func TestAttemptsExhaustedFails(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		require.NoError(t, e.Register("doomed", func(context.Context, *models.Job) error { return errors.New("always") },
			jobs.MaxAttempts(2), jobs.WithBackoff(jobs.ConstantBackoff(10*time.Millisecond))))
		start(t, e)
		job, err := e.Enqueue(ctx, "doomed", nil)
		require.NoError(t, err)
		failed := waitState(t, s, job.ID, models.JobFailed)
		require.Equal(t, 2, failed.Attempt)
		require.Equal(t, "always", failed.LastError)
		require.NotNil(t, failed.FinishedAt)
	})
}

func TestPanicIsRecordedWithItsStack(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		require.NoError(t, e.Register("panicky", func(context.Context, *models.Job) error { panic("kaboom") }, jobs.MaxAttempts(1)))
		require.NoError(t, e.Register("fine", func(context.Context, *models.Job) error { return nil }))
		start(t, e)
		job, err := e.Enqueue(ctx, "panicky", nil)
		require.NoError(t, err)
		failed := waitState(t, s, job.ID, models.JobFailed)
		require.Contains(t, failed.LastError, "panic: kaboom")
		events, err := s.JobQueries.JobEvents(ctx, job.ID)
		require.NoError(t, err)
		last := events[len(events)-1]
		require.Contains(t, last.Error, "engine_test.go", "the stack points at the panic")
		require.Contains(t, last.Error, "goroutine")
		// The worker survived.
		ok, err := e.Enqueue(ctx, "fine", nil)
		require.NoError(t, err)
		waitState(t, s, ok.ID, models.JobSucceeded)
	})
}

func TestTimeout(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		require.NoError(t, e.Register("slow", func(ctx context.Context, _ *models.Job) error {
			<-ctx.Done()
			return ctx.Err()
		}, jobs.MaxAttempts(1), jobs.Timeout(50*time.Millisecond)))
		start(t, e)
		job, err := e.Enqueue(ctx, "slow", nil)
		require.NoError(t, err)
		failed := waitState(t, s, job.ID, models.JobFailed)
		require.Contains(t, failed.LastError, "timed out after 50ms")
		require.Equal(t, 50*time.Millisecond, failed.Timeout)
	})
}

func TestUnknownKindFailsAndWorkersGoOn(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		require.NoError(t, e.Register("known", func(context.Context, *models.Job) error { return nil }))
		start(t, e)
		bad, err := e.Enqueue(ctx, "nobody.handles.this", nil)
		require.NoError(t, err)
		good, err := e.Enqueue(ctx, "known", nil)
		require.NoError(t, err)
		failed := waitState(t, s, bad.ID, models.JobFailed)
		require.Contains(t, failed.LastError, `unknown job kind "nobody.handles.this"`)
		require.Equal(t, 1, failed.Attempt, "no retries for a kind nobody handles")
		waitState(t, s, good.ID, models.JobSucceeded)
	})
}

func TestSnoozeAndPermanent(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		var snoozed atomic.Bool
		require.NoError(t, e.Register("sleepy", func(context.Context, *models.Job) error {
			if snoozed.CompareAndSwap(false, true) {
				return jobs.Snooze(30 * time.Millisecond)
			}
			return nil
		}, jobs.MaxAttempts(1)))
		require.NoError(t, e.Register("hopeless", func(context.Context, *models.Job) error {
			return jobs.Permanent(errors.New("bad input"))
		}, jobs.MaxAttempts(5)))
		start(t, e)
		sleepy, err := e.Enqueue(ctx, "sleepy", nil)
		require.NoError(t, err)
		hopeless, err := e.Enqueue(ctx, "hopeless", nil)
		require.NoError(t, err)

		done := waitState(t, s, sleepy.ID, models.JobSucceeded)
		require.Equal(t, 1, done.Attempt, "a snooze uses no attempt (MaxAttempts 1 still succeeded)")
		require.Contains(t, transitions(t, s, sleepy.ID), "processing>scheduled")
		failed := waitState(t, s, hopeless.ID, models.JobFailed)
		require.Equal(t, 1, failed.Attempt)
		require.Equal(t, "bad input", failed.LastError)
	})
}

func TestEnqueueWakesWorkersWithoutPolling(t *testing.T) {
	cfg := fast()
	cfg.PollInterval = time.Hour // only a wake-up can start the job
	forEachDialect(t, cfg, func(t *testing.T, e *jobs.Engine, s *models.Store) {
		require.NoError(t, e.Register("noop", func(context.Context, *models.Job) error { return nil }))
		start(t, e)
		time.Sleep(20 * time.Millisecond) // let the first (immediate) poll pass
		job, err := e.Enqueue(ctx, "noop", nil)
		require.NoError(t, err)
		waitState(t, s, job.ID, models.JobSucceeded)
	})
}

func TestLogsProgressAndResult(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		require.NoError(t, e.Register("steps", func(ctx context.Context, _ *models.Job) error {
			for i := 1; i <= 3; i++ {
				jobs.Logf(ctx, "step %d/3", i)
				jobs.SetProgress(ctx, i*100/3)
			}
			return jobs.SetResult(ctx, map[string]int{"answer": 42})
		}))
		start(t, e)
		job, err := e.Enqueue(ctx, "steps", nil)
		require.NoError(t, err)
		done := waitState(t, s, job.ID, models.JobSucceeded)
		require.Equal(t, 100, done.Progress)
		require.JSONEq(t, `{"answer":42}`, done.Result)
		logs, err := s.JobQueries.JobLogs(ctx, job.ID)
		require.NoError(t, err)
		var lines []string
		for _, l := range logs {
			lines = append(lines, l.Message)
		}
		require.Equal(t, []string{"step 1/3", "step 2/3", "step 3/3"}, lines)
	})
}

func TestContinuationAndUniqueKey(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		var order []string
		var mu sync.Mutex
		record := func(name string) jobs.WorkFunc {
			return func(context.Context, *models.Job) error {
				mu.Lock()
				defer mu.Unlock()
				order = append(order, name)
				return nil
			}
		}
		require.NoError(t, e.Register("parent", func(ctx context.Context, j *models.Job) error {
			time.Sleep(30 * time.Millisecond)
			return record("parent")(ctx, j)
		}))
		require.NoError(t, e.Register("child", record("child")))
		start(t, e)
		parent, err := e.Enqueue(ctx, "parent", nil)
		require.NoError(t, err)
		child, err := e.ContinueWith(ctx, parent.ID, "child", nil)
		require.NoError(t, err)
		require.Equal(t, models.JobAwaiting, child.State)
		waitState(t, s, child.ID, models.JobSucceeded)
		require.Equal(t, []string{"parent", "child"}, order)

		a, err := e.Enqueue(ctx, "child", nil, jobs.UniqueKey("once"), jobs.RunAt(time.Now().Add(time.Hour)))
		require.NoError(t, err)
		b, err := e.Enqueue(ctx, "child", nil, jobs.UniqueKey("once"))
		require.NoError(t, err)
		require.Equal(t, a.ID, b.ID)
		require.Equal(t, models.JobScheduled, b.State)
		require.NoError(t, e.TriggerNow(ctx, a.ID))
		waitState(t, s, a.ID, models.JobSucceeded)
		require.NoError(t, e.Requeue(ctx, a.ID))
		waitState(t, s, a.ID, models.JobSucceeded)
	})
}

func TestOptionsAreChecked(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, _ *models.Store) {
		_, err := e.Enqueue(ctx, "k", nil, jobs.WithBackoff(jobs.DefaultBackoff))
		require.ErrorIs(t, err, jobs.ErrInvalidOption)
		_, err = e.Enqueue(ctx, "k", nil, jobs.TimeZone("UTC"))
		require.ErrorIs(t, err, jobs.ErrInvalidOption)
		_, err = e.Enqueue(ctx, "k", make(chan int))
		require.Equal(t, models.EINVALID, models.ErrorCode(err))
		_, err = e.Enqueue(ctx, "k", nil, jobs.Queue("no spaces please"))
		require.Equal(t, models.EINVALID, models.ErrorCode(err))
		require.ErrorIs(t, e.Register("k", func(context.Context, *models.Job) error { return nil }, jobs.UniqueKey("x")), jobs.ErrInvalidOption)
		require.ErrorIs(t, e.Recurring("r", "not cron", "k", nil), jobs.ErrInvalidSchedule)
		require.ErrorIs(t, e.Recurring("r", "* * * * *", "k", nil, jobs.TimeZone("Nowhere/City")), jobs.ErrInvalidSchedule)
		require.ErrorIs(t, e.Recurring("r", "* * * * *", "k", nil, jobs.Misfire("sometimes")), jobs.ErrInvalidOption)
		_, err = jobs.New(nil, jobs.Config{Queues: []jobs.QueueConfig{{Name: "a", Workers: 1}, {Name: "a", Workers: 2}}})
		require.ErrorIs(t, err, jobs.ErrInvalidConfig)
	})
}

func TestOnStartupJobs(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		require.NoError(t, e.Register("warmup", func(context.Context, *models.Job) error { return nil }))
		require.NoError(t, e.OnStartup("warmup", map[string]string{"why": "boot"}))
		start(t, e)
		require.ErrorIs(t, e.OnStartup("warmup", nil), jobs.ErrStarted)
		require.Eventually(t, func() bool {
			recent := modeltest.RecentJobs(t, s, 10)
			return len(recent) == 1 && recent[0].Kind == "warmup" && recent[0].State == models.JobSucceeded
		}, 20*time.Second, 10*time.Millisecond)
	})
}

// A job that runs for five leases is never rescued while its server is alive: heartbeats
// extend its lease, so the rescuer (running every Lease/3 in this very process) leaves it be.
func TestLongJobOutlivesItsLease(t *testing.T) {
	cfg := fast()
	cfg.Lease = 300 * time.Millisecond
	forEachDialect(t, cfg, func(t *testing.T, e *jobs.Engine, s *models.Store) {
		var runs atomic.Int32
		require.NoError(t, e.Register("long", func(ctx context.Context, _ *models.Job) error {
			runs.Add(1)
			select {
			case <-time.After(1500 * time.Millisecond):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}))
		start(t, e)
		job, err := e.Enqueue(ctx, "long", nil)
		require.NoError(t, err)
		done := waitState(t, s, job.ID, models.JobSucceeded)
		require.Equal(t, int32(1), runs.Load(), "the job ran once")
		require.Equal(t, 1, done.Attempt)
		require.Equal(t, []string{">enqueued", "enqueued>processing", "processing>succeeded"}, transitions(t, s, job.ID))
	})
}

func TestEnqueueTxFollowsTheCallersTransaction(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		require.NoError(t, e.Register("audit", func(context.Context, *models.Job) error { return nil }))
		start(t, e)
		rollback := errors.New("roll back")
		err := modeltest.DB(s).Transaction(func(tx *gorm.DB) error {
			_, err := e.EnqueueTx(tx, "audit", map[string]string{"outcome": "rolled back"})
			require.NoError(t, err)
			return rollback
		})
		require.ErrorIs(t, err, rollback)
		recent := modeltest.RecentJobs(t, s, 10)
		require.Empty(t, recent, "a rolled-back transaction leaves no job")

		var job *models.Job
		require.NoError(t, modeltest.DB(s).Transaction(func(tx *gorm.DB) error {
			job, err = e.EnqueueTx(tx, "audit", map[string]string{"outcome": "committed"})
			return err
		}))
		waitState(t, s, job.ID, models.JobSucceeded) // found by the next poll

		later, err := e.ScheduleIn(ctx, time.Hour, "audit", nil)
		require.NoError(t, err)
		require.NoError(t, e.Delete(jobs.WithActor(ctx, "erin"), later.ID))
		got := waitState(t, s, later.ID, models.JobDeleted)
		require.NotNil(t, got.FinishedAt)
		require.Equal(t, models.ECONFLICT, models.ErrorCode(e.Delete(ctx, later.ID)))
		events, err := s.JobQueries.JobEvents(ctx, later.ID)
		require.NoError(t, err)
		require.Equal(t, "deleted by erin", events[len(events)-1].Reason)
	})
}

func TestPausedQueueIsNotWorked(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		require.NoError(t, e.Register("noop", func(context.Context, *models.Job) error { return nil }))
		start(t, e)
		require.NoError(t, e.PauseQueue(jobs.WithActor(ctx, "ada"), "default"))
		job, err := e.Enqueue(ctx, "noop", nil)
		require.NoError(t, err)
		time.Sleep(300 * time.Millisecond) // six polls and a wake-up pass
		got, err := s.JobQueries.GetJob(ctx, job.ID)
		require.NoError(t, err)
		require.Equal(t, models.JobEnqueued, got.State, "a paused queue's jobs wait")
		stats, err := s.Queues.QueueStats(ctx)
		require.NoError(t, err)
		require.Len(t, stats, 1)
		require.True(t, stats[0].Paused)
		require.Equal(t, "ada", stats[0].PausedBy)
		require.EqualValues(t, 1, stats[0].Enqueued)
		require.NotNil(t, stats[0].OldestEnqueued)

		require.NoError(t, e.ResumeQueue(ctx, "default"))
		waitState(t, s, job.ID, models.JobSucceeded)
	})
}

// Stop may be called more than once, and at once from several goroutines (a signal handler and
// a deferred Stop): the engine stops once and each call gets its outcome.
func TestStopTwice(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		require.NoError(t, e.Register("noop", func(context.Context, *models.Job) error { return nil }))
		start(t, e)
		errs := make(chan error, 3)
		for range 3 {
			go func() { errs <- e.Stop(ctx) }()
		}
		for range 3 {
			require.NoError(t, <-errs)
		}
		require.NoError(t, e.Stop(ctx))
	})
}
