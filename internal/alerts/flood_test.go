package alerts_test

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/alerts"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/jobstest"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// floodJobs is the flood of the issue: 10,000 failures in a minute.
const floodJobs = 10000

// 10,000 jobs that fail through the engine's own failure path (workers, finish batches), with
// the evaluator on its loop and the deliveries worked by the engine, make one alert that counts
// them all and a bounded number of messages: one a channel, and a repeat at most every
// interval of the time it took (TestFloodIsOneMessage is the same on failures written
// directly, at chosen moments).
func TestFloodThroughTheEngine(t *testing.T) {
	jobstest.ForEachDialect(t, jobstest.Fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		hook := newReceiver(t)
		box := newMailbox(t, false)
		require.NoError(t, s.Channels.CreateChannel(ctx, &models.Channel{Name: "hook", Type: models.ChannelWebhook, Settings: models.ChannelSettings{URL: hook.URL}}))
		require.NoError(t, s.Channels.CreateChannel(ctx, emailChannel(box, models.ChannelSecuritySTARTTLS)))
		const repeat = time.Minute
		_, err := s.Rules.CreateRule(ctx, &models.AlertRule{Name: "flood", Watch: models.WatchFailed, Scope: models.ScopeKind, Target: "flood",
			Channels: []string{"hook", "oncall"}, RepeatEvery: repeat, Enabled: true}, time.Now())
		require.NoError(t, err)
		require.NoError(t, e.Register("flood", func(context.Context, *models.Job) error { return jobs.Permanent(errBoom) }, jobs.MaxAttempts(1)))
		_, err = alerts.Register(e, s.Channels, alerts.Config{Secrets: vault{"SMTP_PASSWORD": "smtp-pass-word"},
			TLSConfig: &tls.Config{RootCAs: box.roots, MinVersion: tls.VersionTLS12}, SendTimeout: 5 * time.Second})
		require.NoError(t, err)
		require.NoError(t, alerts.New(e, s.Rules, alerts.Config{Every: 100 * time.Millisecond, Settle: 200 * time.Millisecond}).Register())

		batch := make([]jobs.EnqueueParams, 1000)
		for i := range batch {
			batch[i] = jobs.EnqueueParams{Kind: "flood"}
		}
		for range floodJobs / len(batch) {
			_, err := e.EnqueueMany(ctx, batch)
			require.NoError(t, err)
		}
		began := time.Now()
		jobstest.Start(t, e)
		count := func(kind string, state models.JobState) int64 {
			var n int64
			require.NoError(t, modeltest.DB(s).Model(&models.Job{}).Where("kind = ? AND state = ?", kind, state).Count(&n).Error)
			return n
		}
		require.Eventually(t, func() bool { return count("flood", models.JobFailed) == floodJobs }, 3*time.Minute, 100*time.Millisecond, "every job failed")
		took := time.Since(began)
		require.Eventually(t, func() bool {
			all, err := s.Rules.ListAlerts(ctx, false, 10)
			require.NoError(t, err)
			require.LessOrEqual(t, len(all), 1, "one alert")
			return len(all) == 1 && all[0].Count == floodJobs
		}, 30*time.Second, 50*time.Millisecond, "the alert counts every failure")
		require.Eventually(t, func() bool { return count(alerts.KindDeliver, models.JobSucceeded) >= 2 }, 30*time.Second, 20*time.Millisecond, "delivered")
		time.Sleep(500 * time.Millisecond) // a message more, if there were one, would be on its way

		bound := 1 + int(time.Since(began)/repeat)
		t.Logf("%d failures in %s; at most %d message(s) a channel", floodJobs, took.Round(time.Millisecond), bound)
		hooks, mails := len(hook.got), len(box.got)
		require.GreaterOrEqual(t, hooks, 1)
		require.LessOrEqual(t, hooks, bound, "webhook messages")
		require.GreaterOrEqual(t, mails, 1)
		require.LessOrEqual(t, mails, bound, "emails")
		require.EqualValues(t, hooks+mails, count(alerts.KindDeliver, models.JobSucceeded), "each delivery arrived once")
		require.Zero(t, count(alerts.KindDeliver, models.JobFailed))
	})
}
