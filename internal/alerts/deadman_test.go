package alerts_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/alerts"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/jobstest"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// The dead-man's switch across a stop: every node stops for longer than the grace period, then
// one starts. Nobody could tell while no node ran, but the node that starts does, once (the
// occurrences missed, that no node was running them), and tells the resolution once the entry
// succeeds again, whether its catch-up run succeeded before that node's first evaluation or
// after.
func TestDeadMansSwitchAcrossEveryNodeStopped(t *testing.T) {
	const grace = 2 * time.Second
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		f := &fixture{t: t, s: s}
		node := func() *jobs.Engine {
			e := jobstest.New(t, s, jobstest.Fast())
			require.NoError(t, e.Register("backup", func(context.Context, *models.Job) error { return nil }))
			require.NoError(t, e.Recurring("nightly", "@every 1s", "backup", nil))
			require.NoError(t, jobs.AlertOnMissedSchedule(e, "nightly late", "nightly", grace, []string{"ops"}, time.Hour))
			require.NoError(t, alerts.New(e, s.Rules, alerts.Config{Every: 100 * time.Millisecond}).Register())
			jobstest.Start(t, e)
			return e
		}
		succeeded := func() int64 {
			var n int64
			require.NoError(t, modeltest.DB(s).Model(&models.Job{}).Where("kind = ? AND state = ?", "backup", models.JobSucceeded).Count(&n).Error)
			return n
		}

		first := node()
		require.Eventually(t, func() bool { return succeeded() >= 2 }, 20*time.Second, 20*time.Millisecond)
		require.Empty(t, f.deliveries(), "quiet while the entry runs")
		require.NoError(t, first.Stop(context.Background()))
		stoppedWith := succeeded()

		time.Sleep(2*grace + time.Second) // every node is down for longer than the grace period
		require.Empty(t, f.deliveries(), "nobody runs to tell")
		node()
		require.Eventually(t, func() bool { return len(f.deliveries()) >= 2 }, 20*time.Second, 20*time.Millisecond)
		ds := f.deliveries()
		require.Equal(t, []string{"ops:firing", "ops:resolved"}, statuses(ds))
		require.Contains(t, ds[0].Message.Title, "recurring job nightly: the run due")
		require.Contains(t, ds[0].Message.Title, "did not succeed within 2s")
		require.Contains(t, ds[0].Message.Summary, "no Kiln node was running it")
		require.Greater(t, succeeded(), stoppedWith, "the entry runs again")
		all := f.alerts()
		require.Len(t, all, 1)
		require.Equal(t, models.AlertResolved, all[0].State)
	})
}
