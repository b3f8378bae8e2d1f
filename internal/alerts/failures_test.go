package alerts_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/alerts"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// A failure rule opens one alert with one message per channel, repeats no faster than its
// interval while no later job succeeds, and resolves with one "resolved" message per channel.
func TestFailureRuleLife(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		f.rule(models.AlertRule{Name: "reports", Watch: models.WatchFailed, Scope: models.ScopeKind, Target: "report",
			Channels: []string{"ops", "mail"}, RepeatEvery: 10 * time.Minute})
		f.finished("other", models.JobFailed, time.Minute, nil) // another kind: not this rule's
		first := f.finished("report", models.JobFailed, time.Minute, nil)
		f.evaluateAt(2 * time.Minute)
		ds := f.deliveries()
		require.Equal(t, []string{"ops:firing", "mail:firing"}, statuses(ds))
		m := ds[0].Message
		require.Equal(t, "reports", m.Rule)
		require.Equal(t, 1, m.Count)
		require.Len(t, m.Jobs, 1)
		require.Equal(t, first, m.Jobs[0].ID)
		require.Equal(t, "boom", m.Jobs[0].Error)
		require.Equal(t, "https://kiln.example.com/dashboard/jobs/"+itoa(first), m.Jobs[0].URL)
		require.Equal(t, "https://kiln.example.com/dashboard/kinds/report", m.URL)

		f.finished("report", models.JobFailed, 3*time.Minute, nil)
		f.evaluateAt(5 * time.Minute)
		f.evaluateAt(11*time.Minute + 50*time.Second)
		require.Len(t, f.deliveries(), 2, "no repeat before the interval")
		f.evaluateAt(12 * time.Minute)
		ds = f.deliveries()
		require.Equal(t, []string{"ops:firing", "mail:firing", "ops:firing", "mail:firing"}, statuses(ds))
		require.Equal(t, 2, ds[3].Message.Count)
		require.Equal(t, ds[0].Message.AlertID, ds[3].Message.AlertID, "one alert")

		f.finished("report", models.JobSucceeded, 15*time.Minute, nil)
		f.evaluateAt(16 * time.Minute)
		f.evaluateAt(40 * time.Minute)
		ds = f.deliveries()
		require.Equal(t, []string{"ops:firing", "mail:firing", "ops:firing", "mail:firing", "ops:resolved", "mail:resolved"}, statuses(ds))
		all := f.alerts()
		require.Len(t, all, 1)
		require.Equal(t, models.AlertResolved, all[0].State)
		require.EqualValues(t, 3, all[0].Messages)

		f.finished("report", models.JobFailed, 41*time.Minute, nil)
		f.evaluateAt(42 * time.Minute)
		require.Len(t, f.alerts(), 2, "a failure after the resolution opens a new alert")
	})
}

// N in a row opens only once the last N finished jobs all failed.
func TestFailedInARow(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		f.rule(models.AlertRule{Name: "three", Watch: models.WatchFailedInARow, Scope: models.ScopeQueue, Target: "default",
			Threshold: 3, Channels: []string{"ops"}})
		f.finished("a", models.JobFailed, time.Minute, nil)
		f.finished("a", models.JobSucceeded, 2*time.Minute, nil)
		f.finished("b", models.JobFailed, 3*time.Minute, nil)
		f.finished("a", models.JobFailed, 4*time.Minute, nil)
		f.evaluateAt(5 * time.Minute)
		require.Empty(t, f.deliveries(), "two in a row, not three")
		f.finished("b", models.JobFailed, 6*time.Minute, nil)
		f.evaluateAt(7 * time.Minute)
		ds := f.deliveries()
		require.Equal(t, []string{"ops:firing"}, statuses(ds))
		require.Equal(t, 3, ds[0].Message.Count)
		require.Contains(t, ds[0].Message.Title, "3 failed in a row")
	})
}

// More than N within a window opens, and resolves once the window holds N or fewer.
func TestFailuresWithin(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		f.rule(models.AlertRule{Name: "burst", Watch: models.WatchFailuresWithin, Scope: models.ScopeKind, Target: "",
			Threshold: 2, Within: 10 * time.Minute, Channels: []string{"ops"}})
		f.finished("a", models.JobFailed, time.Minute, nil)
		f.finished("a", models.JobFailed, 2*time.Minute, nil)
		f.finished("b", models.JobFailed, 2*time.Minute, nil)
		f.evaluateAt(3 * time.Minute)
		require.Empty(t, f.deliveries(), "two within 10m is not more than two")
		f.finished("a", models.JobFailed, 4*time.Minute, nil)
		f.evaluateAt(5 * time.Minute)
		require.Equal(t, []string{"ops:firing"}, statuses(f.deliveries()))
		require.Equal(t, "a", f.alerts()[0].Subject)
		f.evaluateAt(13 * time.Minute) // the window, (2m58s, 12m58s], holds one failure
		require.Equal(t, []string{"ops:firing", "ops:resolved"}, statuses(f.deliveries()))
	})
}

// 10,000 failures in a minute, over several evaluations, make one alert and one message a
// channel, listing the first few jobs and counting them all.
func TestFloodIsOneMessage(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		f.rule(models.AlertRule{Name: "any", Watch: models.WatchFailed, Scope: models.ScopeKind,
			Channels: []string{"ops", "mail"}, RepeatEvery: time.Hour})
		for i := range 4 {
			f.finishedMany("flood", models.JobFailed, time.Duration(i)*15*time.Second+time.Second, nil, 2500)
			f.evaluateAt(time.Duration(i+1) * 15 * time.Second)
		}
		f.evaluateAt(2 * time.Minute)
		ds := f.deliveries()
		require.Equal(t, []string{"ops:firing", "mail:firing"}, statuses(ds))
		require.Len(t, ds[0].Message.Jobs, alerts.MaxJobsInMessage)
		all := f.alerts()
		require.Len(t, all, 1)
		require.EqualValues(t, 10000, all[0].Count)
	})
}

// Silence stops repeats until it ends; acknowledging stops them for good; neither stops the
// resolution's message.
func TestSilenceAndAcknowledge(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.rule(models.AlertRule{Name: "reports", Watch: models.WatchFailed, Scope: models.ScopeKind, Target: "report",
			Channels: []string{"ops"}, RepeatEvery: 5 * time.Minute})
		f.finished("report", models.JobFailed, time.Minute, nil)
		f.evaluateAt(2 * time.Minute)
		id := f.alerts()[0].ID
		_, err := f.s.Rules.SilenceAlert(ctx, id, t0.Add(30*time.Minute), t0.Add(2*time.Minute))
		require.NoError(t, err)
		f.evaluateAt(10 * time.Minute)
		f.evaluateAt(20 * time.Minute)
		require.Len(t, f.deliveries(), 1, "silenced")
		f.evaluateAt(31 * time.Minute)
		require.Len(t, f.deliveries(), 2, "the silence ended")
		a, err := f.s.Rules.AcknowledgeAlert(ctx, id, "alice", t0.Add(32*time.Minute))
		require.NoError(t, err)
		require.Equal(t, "alice", a.AcknowledgedBy)
		f.evaluateAt(40 * time.Minute)
		f.evaluateAt(50 * time.Minute)
		require.Len(t, f.deliveries(), 2, "acknowledged")
		f.finished("report", models.JobSucceeded, 51*time.Minute, nil)
		f.evaluateAt(52 * time.Minute)
		require.Equal(t, []string{"ops:firing", "ops:firing", "ops:resolved"}, statuses(f.deliveries()))
		_, err = f.s.Rules.AcknowledgeAlert(ctx, id, "bob", t0.Add(53*time.Minute))
		require.Equal(t, models.ECONFLICT, models.ErrorCode(err))
	})
}

// A rule on every kind leaves out the deliveries of its own messages: a channel that fails
// must not feed the alerts it tells of. A rule that names their kind watches them.
func TestDeliveriesDoNotFeedAlerts(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		f.rule(models.AlertRule{Name: "any", Watch: models.WatchFailed, Scope: models.ScopeKind, Channels: []string{"ops"}})
		f.rule(models.AlertRule{Name: "deliveries", Watch: models.WatchFailed, Scope: models.ScopeKind, Target: alerts.KindDeliver, Channels: []string{"ops"}})
		f.finished(alerts.KindDeliver, models.JobFailed, time.Minute, nil)
		f.evaluateAt(2 * time.Minute)
		all := f.alerts()
		require.Len(t, all, 1)
		require.Equal(t, alerts.KindDeliver, all[0].Subject)
		rule, err := f.s.Rules.GetRule(context.Background(), "deliveries")
		require.NoError(t, err)
		require.Equal(t, rule.ID, all[0].RuleID)
	})
}

// A failed job retried by hand that succeeds resolves the alert it opened, and resolved alerts
// are deleted once past their retention.
func TestRetriedFailureResolvesAndHistoryIsPruned(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		f.rule(models.AlertRule{Name: "reports", Watch: models.WatchFailed, Scope: models.ScopeKind, Target: "report",
			Channels: []string{"ops"}, RepeatEvery: time.Hour})
		failed := f.finished("report", models.JobFailed, time.Minute, nil)
		f.evaluateAt(2 * time.Minute)
		require.Equal(t, []string{"ops:firing"}, statuses(f.deliveries()))

		f.setState(failed, models.JobSucceeded) // retried from its page, and it went well
		f.evaluateAt(3 * time.Minute)
		require.Equal(t, []string{"ops:firing", "ops:resolved"}, statuses(f.deliveries()))

		f.evaluateAt(builtin.DefaultRetention - time.Minute)
		require.Len(t, f.alerts(), 1, "kept within the retention")
		f.evaluateAt(3*time.Minute + builtin.DefaultRetention + time.Second)
		require.Empty(t, f.alerts(), "deleted past it")
	})
}

// A server whose outcomes stay unwritten holds the failure rules back, but no further than
// MaxHorizonLag behind now: the other failures are told after that.
func TestHorizonLagIsBounded(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		f.rule(models.AlertRule{Name: "reports", Watch: models.WatchFailed, Scope: models.ScopeKind, Target: "report", Channels: []string{"ops"}})
		stuck := t0.Add(time.Minute)
		require.NoError(t, modeltest.DB(f.s).Create(&models.Server{ID: "stuck", Host: "h", StartedAt: t0, HeartbeatAt: time.Now(), UnwrittenSince: &stuck}).Error)
		f.finished("report", models.JobFailed, 2*time.Minute, nil)
		f.evaluateAt(10 * time.Minute)
		require.Empty(t, f.deliveries(), "held back by the outcome unwritten since 10:01:30")
		f.evaluateAt(time.Minute + alerts.MaxHorizonLag + alerts.DefaultSettle + 2*time.Minute)
		require.Equal(t, []string{"ops:firing"}, statuses(f.deliveries()), "no longer waited for")
	})
}
