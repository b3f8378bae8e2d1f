package alerts_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/alerts"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/jobstest"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// Two nodes on one PostgreSQL database evaluate at the same moments: one of them evaluates
// each tick, and each message is enqueued once.
func TestTwoEvaluatorsDeliverOnce(t *testing.T) {
	dsn := modeltest.PostgresDSN(t)
	s1, s2 := modeltest.Open(t, dsn), modeltest.Open(t, dsn)
	f := newFixture(t, jobstest.New(t, s1, jobstest.Fast()), s1)
	evaluators := []*alerts.Evaluator{f.v, alerts.New(jobstest.New(t, s2, jobstest.Fast()), s2.Rules, alerts.Config{Now: f.now})}
	f.rule(models.AlertRule{Name: "reports", Watch: models.WatchFailed, Scope: models.ScopeKind, Target: "report",
		Channels: []string{"ops", "mail"}, RepeatEvery: time.Minute})
	f.finished("report", models.JobFailed, 30*time.Second, nil)
	for tick := 40 * time.Second; tick <= 4*time.Minute; tick += 20 * time.Second {
		if tick == 3*time.Minute {
			f.finished("report", models.JobSucceeded, 170*time.Second, nil)
		}
		f.mu.Lock()
		f.at = t0.Add(tick)
		f.mu.Unlock()
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			ran   = make([]bool, len(evaluators))
			errs  = make([]error, len(evaluators))
		)
		for i, v := range evaluators {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ran[i], errs[i] = v.Evaluate(context.Background())
			}()
		}
		close(start)
		wg.Wait()
		require.NoError(t, errs[0])
		require.NoError(t, errs[1])
		require.NotEqual(t, ran[0], ran[1], "one node evaluates each tick (at %s)", tick)
	}
	require.Equal(t, []string{
		"ops:firing", "mail:firing", // 40s
		"ops:firing", "mail:firing", // 1m40s
		"ops:firing", "mail:firing", // 2m40s
		"ops:resolved", "mail:resolved", // 3m
	}, statuses(f.deliveries()))
}

// Started with the engine, the evaluator sees a job fail for real, and its success after.
func TestEvaluatorRunsWithTheEngine(t *testing.T) {
	jobstest.ForEachDialect(t, jobstest.Fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		ctx := context.Background()
		fail := make(chan bool, 2)
		fail <- true
		fail <- false
		require.NoError(t, e.Register("report", func(context.Context, *models.Job) error {
			if <-fail {
				return jobs.Permanent(errBoom)
			}
			return nil
		}, jobs.MaxAttempts(1)))
		v := alerts.New(e, s.Rules, alerts.Config{Every: 50 * time.Millisecond, Settle: 500 * time.Millisecond})
		require.NoError(t, jobs.AlertOnFailure(e, "reports", "report", []string{"ops"}, 0))
		require.NoError(t, v.Register())
		jobstest.Start(t, e)
		j, err := e.Enqueue(ctx, "report", nil)
		require.NoError(t, err)
		jobstest.WaitState(t, s.JobQueries, j.ID, models.JobFailed)
		waitAlert(t, s, models.AlertOpen)
		j, err = e.Enqueue(ctx, "report", nil)
		require.NoError(t, err)
		jobstest.WaitState(t, s.JobQueries, j.ID, models.JobSucceeded)
		waitAlert(t, s, models.AlertResolved)
		var n int64
		require.NoError(t, modeltest.DB(s).Model(&models.Job{}).Where("kind = ?", alerts.KindDeliver).Count(&n).Error)
		require.EqualValues(t, 2, n, "opened and resolved")
	})
}

func waitAlert(t *testing.T, s *models.Store, state models.AlertState) {
	t.Helper()
	require.Eventually(t, func() bool {
		all, err := s.Rules.ListAlerts(context.Background(), false, 10)
		return err == nil && len(all) == 1 && all[0].State == state
	}, 20*time.Second, 20*time.Millisecond, "the alert is %s", state)
}
