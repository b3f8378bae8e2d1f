package jobs_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/jobstest"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// blocker is a kind whose jobs run until their context ends, reporting why.
type blocker struct {
	started chan int64
	causes  chan error
}

func newBlocker(t *testing.T, e *jobs.Engine, kind string) *blocker {
	b := &blocker{started: make(chan int64, 10), causes: make(chan error, 10)}
	require.NoError(t, e.Register(kind, func(ctx context.Context, j *models.Job) error {
		b.started <- j.ID
		<-ctx.Done()
		b.causes <- context.Cause(ctx)
		return ctx.Err()
	}, jobs.MaxAttempts(3)))
	return b
}

// receive is jobstest.Receive, under the short name these tests use.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	return jobstest.Receive(t, ch, what)
}

// Cancel on the server running the job cancels its context directly: the poll that notices
// jobs cancelled elsewhere is an hour away here, so it can't be what stopped it.
func TestCancelRunningJobOnThisServer(t *testing.T) {
	cfg := fast()
	cfg.PollInterval = time.Hour
	forEachDialect(t, cfg, func(t *testing.T, e *jobs.Engine, s *models.Store) {
		b := newBlocker(t, e, "block")
		start(t, e)
		job, err := e.Enqueue(ctx, "block", nil)
		require.NoError(t, err)
		receive(t, b.started, "the job to start")
		require.NoError(t, e.Cancel(jobs.WithActor(ctx, "alice"), job.ID))
		require.ErrorContains(t, receive(t, b.causes, "the job's context to end"), "no longer running here")
		cancelled := waitState(t, s, job.ID, models.JobCancelled)
		require.Equal(t, 1, cancelled.Attempt)
		events, err := s.JobQueries.JobEvents(ctx, job.ID)
		require.NoError(t, err)
		require.Equal(t, "cancelled by alice", events[len(events)-1].Reason)
		require.Equal(t, models.ECONFLICT, models.ErrorCode(e.Cancel(ctx, job.ID)))
	})
}

// Cancel on one server stops a job running on another, sharing the database.
func TestCancelRunningJobOnAnotherServer(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		worker := newEngine(t, s, fast())
		b := newBlocker(t, worker, "block")
		cfg := fast()
		cfg.NoWorkers = true
		client := newEngine(t, s, cfg)
		start(t, worker)
		start(t, client)
		job, err := client.Enqueue(ctx, "block", nil)
		require.NoError(t, err)
		receive(t, b.started, "the job to start on the worker")
		require.NoError(t, client.Cancel(ctx, job.ID))
		require.ErrorContains(t, receive(t, b.causes, "the worker to stop the job"), "no longer running here")
		waitState(t, s, job.ID, models.JobCancelled)
	})
}

func TestGracefulShutdownReleasesJobs(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		b := newBlocker(t, e, "stubborn")
		var quickDone atomic.Bool
		require.NoError(t, e.Register("quick", func(ctx context.Context, _ *models.Job) error {
			time.Sleep(50 * time.Millisecond) // finishes within the soft-stop window
			quickDone.Store(true)
			return nil
		}))
		require.NoError(t, e.Start(ctx))
		stubborn, err := e.Enqueue(ctx, "stubborn", nil)
		require.NoError(t, err)
		receive(t, b.started, "the job to start")
		quick, err := e.Enqueue(ctx, "quick", nil)
		require.NoError(t, err)
		time.Sleep(10 * time.Millisecond)

		require.NoError(t, e.Stop(ctx))
		require.ErrorContains(t, receive(t, b.causes, "the job's context to end"), "server shutting down")
		got, err := s.JobQueries.GetJob(ctx, stubborn.ID)
		require.NoError(t, err)
		require.Equal(t, models.JobEnqueued, got.State, "released for another server")
		require.Zero(t, got.Attempt, "the interrupted attempt is given back")
		events, err := s.JobQueries.JobEvents(ctx, stubborn.ID)
		require.NoError(t, err)
		require.Equal(t, "released: server shutting down", events[len(events)-1].Reason)
		got, err = s.JobQueries.GetJob(ctx, quick.ID)
		require.NoError(t, err)
		require.True(t, quickDone.Load())
		require.Equal(t, models.JobSucceeded, got.State, "a job that finished within the soft stop is recorded")
		counts, err := s.JobQueries.CountJobsByState(ctx)
		require.NoError(t, err)
		require.Zero(t, counts[models.JobProcessing], "nothing stays Processing after a clean stop")
		servers, err := s.Servers.Servers(ctx)
		require.NoError(t, err)
		require.Empty(t, servers, "the server left the registry")
	})
}

// A job that ignores cancellation is released when Stop's context ends; when it finally
// returns, after the engine stopped, nothing breaks and the release stands.
func TestStopWithAJobThatIgnoresCancellation(t *testing.T) {
	cfg := fast()
	cfg.SoftStop = 10 * time.Millisecond
	forEachDialect(t, cfg, func(t *testing.T, e *jobs.Engine, s *models.Store) {
		release, returned := make(chan struct{}), make(chan struct{})
		started := make(chan struct{}, 1)
		require.NoError(t, e.Register("deaf", func(context.Context, *models.Job) error {
			defer close(returned)
			started <- struct{}{}
			<-release // ignores its context
			return nil
		}))
		require.NoError(t, e.Start(ctx))
		job, err := e.Enqueue(ctx, "deaf", nil)
		require.NoError(t, err)
		receive(t, started, "the job to start")
		stopCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		require.NoError(t, e.Stop(stopCtx))
		got, err := s.JobQueries.GetJob(ctx, job.ID)
		require.NoError(t, err)
		require.Equal(t, models.JobEnqueued, got.State, "released for another server")
		// Its history still says when the run began: the release measured it.
		events, err := s.JobQueries.JobEvents(ctx, job.ID)
		require.NoError(t, err)
		require.Len(t, events, 3)
		require.Equal(t, models.JobProcessing, events[1].To)
		require.Equal(t, got.StartedAt.UTC(), events[1].At.UTC(), "the claim is drawn from the release's duration")
		require.Contains(t, events[2].Reason, "released at shutdown")

		close(release)
		receive(t, returned, "the job to return")
		time.Sleep(50 * time.Millisecond) // let its worker goroutine finish
		got, err = s.JobQueries.GetJob(ctx, job.ID)
		require.NoError(t, err)
		require.Equal(t, models.JobEnqueued, got.State, "the late success is not written over the release")
	})
}
