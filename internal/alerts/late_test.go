package alerts_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/alerts"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/jobstest"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// stalledFinishes is a job store whose writes of outcomes fail while stalled, as they do over a
// connection lost mid-write or a database that takes heartbeats but not the batch: the engine
// holds the outcomes and retries them.
type stalledFinishes struct {
	models.JobStore
	stalled  atomic.Bool
	attempts atomic.Int64
}

// stalledServers is a server registry whose heartbeats fail while the finishes are stalled too
// and cut is set: the server is cut off from the database, as in a partition.
type stalledServers struct {
	models.ServerStore
	jobs *stalledFinishes
	cut  bool
}

func (s stalledServers) UpsertServer(ctx context.Context, srv *models.Server) error {
	if s.cut && s.jobs.stalled.Load() {
		return errors.New("dial tcp 127.0.0.1:5432: connect: connection refused (test)")
	}
	return s.ServerStore.UpsertServer(ctx, srv)
}

func (s *stalledFinishes) FinishJobs(ctx context.Context, batch []models.JobFinish) (int, []string, error) {
	if s.stalled.Load() {
		s.attempts.Add(1)
		return 0, nil, errors.New("read tcp 127.0.0.1:5432: connection reset by peer (test)")
	}
	return s.JobStore.FinishJobs(ctx, batch)
}

// A failure whose outcome is written long after the job failed still opens its alert: the rule
// reads no further than the oldest outcome a server holds, which the server tells at each
// heartbeat, nor than the last heartbeat of a server cut off with jobs running.
func TestFailureWrittenLateOpensTheAlert(t *testing.T) {
	for _, cut := range []bool{false, true} {
		name := "outcomes held"
		if cut {
			name = "server cut off"
		}
		t.Run(name, func(t *testing.T) { testFailureWrittenLate(t, cut) })
	}
}

func testFailureWrittenLate(t *testing.T, cut bool) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		jobsStore := &stalledFinishes{JobStore: s.Jobs}
		stalled := *s
		stalled.Jobs, stalled.Servers = jobsStore, stalledServers{ServerStore: s.Servers, jobs: jobsStore, cut: cut}
		cfg := jobstest.Fast()
		cfg.ServerHeartbeat = 100 * time.Millisecond
		e := jobstest.New(t, &stalled, cfg)
		release := make(chan struct{})
		require.NoError(t, e.Register("report", func(context.Context, *models.Job) error {
			<-release
			return jobs.Permanent(errBoom)
		}, jobs.MaxAttempts(1)))
		require.NoError(t, jobs.AlertOnFailure(e, "reports", "report", []string{"ops"}, 0))
		require.NoError(t, alerts.New(e, s.Rules, alerts.Config{Every: 50 * time.Millisecond, Settle: 300 * time.Millisecond}).Register())
		jobstest.Start(t, e)

		j, err := e.Enqueue(ctx, "report", nil)
		require.NoError(t, err)
		jobstest.WaitState(t, s.JobQueries, j.ID, models.JobProcessing)
		jobsStore.stalled.Store(true)
		failedBy := time.Now()
		close(release)
		require.Eventually(t, func() bool { return jobsStore.attempts.Load() > 0 }, 20*time.Second, 10*time.Millisecond)
		if !cut {
			require.Eventually(t, func() bool {
				var srv models.Server
				return modeltest.DB(s).First(&srv).Error == nil && srv.UnwrittenSince != nil
			}, 20*time.Second, 10*time.Millisecond, "the heartbeat tells the outcome waiting")
		}
		// Evaluations go on well past the failure while its outcome waits.
		require.Eventually(t, func() bool {
			var at time.Time
			err := modeltest.DB(s).Raw("SELECT evaluated_at FROM alert_evaluation WHERE id = 1").Row().Scan(&at)
			return err == nil && at.After(failedBy.Add(2*time.Second))
		}, 20*time.Second, 10*time.Millisecond)
		got, err := s.JobQueries.GetJob(ctx, j.ID)
		require.NoError(t, err)
		require.Equal(t, models.JobProcessing, got.State, "the outcome is still held")

		jobsStore.stalled.Store(false)
		got = jobstest.WaitState(t, s.JobQueries, j.ID, models.JobFailed)
		require.True(t, got.FinishedAt.Before(failedBy.Add(time.Second)), "the failure is stamped when the job failed, not when written")
		waitAlert(t, s, models.AlertOpen)
		require.Eventually(t, func() bool {
			var srv models.Server
			return modeltest.DB(s).First(&srv).Error == nil && srv.UnwrittenSince == nil
		}, 20*time.Second, 10*time.Millisecond, "nothing waits once written")
	})
}
