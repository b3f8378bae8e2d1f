package jobs_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// A node that shuts down keeps its heartbeat and leases while its jobs drain: a node starting
// meanwhile (a rolling deploy) must not take back a job that is still running there, however
// long the soft stop.
func TestDrainingNodeKeepsItsJobs(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		cfg := fast()
		cfg.ServerHeartbeat, cfg.Lease, cfg.SoftStop = 50*time.Millisecond, 300*time.Millisecond, 3*time.Second
		var runs, running, most atomic.Int32
		work := func(ctx context.Context, _ *models.Job) error {
			runs.Add(1)
			n := running.Add(1)
			defer running.Add(-1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(1500 * time.Millisecond) // within the soft stop; ignores its context
			return nil
		}
		old := newEngine(t, s, cfg)
		require.NoError(t, old.Register("drain", work))
		require.NoError(t, old.Start(ctx))
		job, err := old.Enqueue(ctx, "drain", nil)
		require.NoError(t, err)
		require.Eventually(t, func() bool { return runs.Load() == 1 }, 5*time.Second, 5*time.Millisecond)

		stopped := make(chan error, 1)
		go func() { stopped <- old.Stop(ctx) }()
		time.Sleep(500 * time.Millisecond) // ten heartbeats into the drain, and past the lease
		next := newEngine(t, s, cfg)
		require.NoError(t, next.Register("drain", work))
		start(t, next)
		require.NoError(t, <-stopped)

		done := waitState(t, s, job.ID, models.JobSucceeded)
		require.Equal(t, int32(1), runs.Load(), "the job ran once")
		require.Equal(t, int32(1), most.Load())
		require.Zero(t, done.Rescues)
		require.Equal(t, old.ServerID(), done.ServerID, "the draining node finished it")
	})
}

// A node that starts takes back at once the jobs of a server that stopped sending heartbeats,
// long before their leases end, and runs them without using an attempt.
func TestStartRescuesTheJobsOfDeadServers(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		now := time.Now()
		require.NoError(t, s.Servers.UpsertServer(ctx, &models.Server{ID: "crashed", Host: "h", PID: 1, StartedAt: now.Add(-time.Hour), HeartbeatAt: now.Add(-time.Minute)}))
		e := newEngine(t, s, jobs.Config{NoWorkers: true})
		job, err := e.Enqueue(ctx, "once", nil, jobs.MaxAttempts(1))
		require.NoError(t, err)
		claimed, err := s.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "default", ServerID: "crashed", Limit: 1, Lease: time.Hour, Now: now})
		require.NoError(t, err)
		require.Len(t, claimed, 1)

		cfg := fast()
		cfg.Lease = time.Hour // the periodic rescue would wait an hour
		var runs atomic.Int32
		worker := newEngine(t, s, cfg)
		require.NoError(t, worker.Register("once", func(context.Context, *models.Job) error { runs.Add(1); return nil }))
		start(t, worker)
		done := waitState(t, s, job.ID, models.JobSucceeded)
		require.Equal(t, int32(1), runs.Load())
		require.Equal(t, 1, done.Attempt, "the crash used no attempt")
		require.Equal(t, 1, done.Rescues)
	})
}
