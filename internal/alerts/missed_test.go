package alerts_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
)

// hourly stores a recurring entry due at the top of each hour (t0 is 10:00:30).
func (f *fixture) hourly(name string, paused bool) *models.RecurringJob {
	f.t.Helper()
	rj, err := f.s.Recurring.CreateRecurring(context.Background(), &models.RecurringJob{Name: name, Spec: "0 * * * *", TimeZone: "UTC",
		Kind: "backup", Args: "{}", Queue: "default", Paused: paused}, t0.Truncate(time.Hour).Add(time.Hour))
	require.NoError(f.t, err)
	f.rule(models.AlertRule{Name: name + " late", Watch: models.WatchMissedSchedule, Scope: models.ScopeRecurring, Target: name,
		Grace: 10 * time.Minute, Channels: []string{"ops"}, RepeatEvery: time.Hour})
	return rj
}

// A paused entry's 11:00 run never happens: the switch fires after the grace period, and
// resolves when a run succeeds again.
func TestMissedSchedulePaused(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		rj := f.hourly("nightly", true)
		f.evaluateAt(30 * time.Minute)
		f.evaluateAt(69 * time.Minute) // 11:09:30
		require.Empty(t, f.deliveries(), "within the grace period")
		f.evaluateAt(69*time.Minute + 30*time.Second) // 11:10:00
		ds := f.deliveries()
		require.Equal(t, []string{"ops:firing"}, statuses(ds))
		require.Contains(t, ds[0].Message.Title, "recurring job nightly: the run due 2031-03-04T11:00:00Z did not succeed within 10m0s")
		require.Contains(t, ds[0].Message.Summary, "It is paused")
		require.Equal(t, 1, ds[0].Message.Count)
		f.evaluateAt(80 * time.Minute)
		require.Len(t, f.deliveries(), 1, "once, until its repeat interval")

		f.finished("backup", models.JobSucceeded, 85*time.Minute, &rj.ID) // triggered by hand at 11:15
		f.evaluateAt(86 * time.Minute)
		require.Equal(t, []string{"ops:firing", "ops:resolved"}, statuses(f.deliveries()))
		f.evaluateAt(125 * time.Minute) // 12:05: the 12:00 run is within its grace
		require.Len(t, f.deliveries(), 2)
	})
}

// An occurrence whose job failed fires after the grace period, naming the job; the next
// occurrence's success resolves it.
func TestMissedScheduleFailedRun(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		rj := f.hourly("nightly", false)
		failed := f.finished("backup", models.JobFailed, 59*time.Minute+32*time.Second, &rj.ID) // made 11:00:01
		f.evaluateAt(70 * time.Minute)
		ds := f.deliveries()
		require.Equal(t, []string{"ops:firing"}, statuses(ds))
		require.Contains(t, ds[0].Message.Summary, "failed: boom")
		require.Len(t, ds[0].Message.Jobs, 1)
		require.Equal(t, failed, ds[0].Message.Jobs[0].ID)

		f.finished("backup", models.JobSucceeded, 119*time.Minute+32*time.Second, &rj.ID) // made 12:00:01
		f.evaluateAt(121 * time.Minute)
		require.Equal(t, []string{"ops:firing", "ops:resolved"}, statuses(f.deliveries()))
	})
}

// An occurrence that went by its grace period while no node evaluated the rules (every node
// stopped), and was caught up before one evaluated again, still fires once, and resolves at
// once: the rule looks at what happened since it last looked, not only at now.
func TestMissedScheduleWhileNoNodeEvaluated(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		rj := f.hourly("nightly", false)
		f.finished("backup", models.JobSucceeded, 59*time.Minute+32*time.Second, &rj.ID) // made 11:00:01
		f.evaluateAt(61 * time.Minute)
		// Every node stops at 11:01; one starts at 13:15 and catches up on the 13:00 run.
		caughtUp := f.finished("backup", models.JobSucceeded, 3*time.Hour+15*time.Minute, &rj.ID) // made 13:15:29
		f.evaluateAt(3*time.Hour + 16*time.Minute)
		ds := f.deliveries()
		require.Equal(t, []string{"ops:firing", "ops:resolved"}, statuses(ds))
		require.Contains(t, ds[0].Message.Title, "the run due 2031-03-04T12:00:00Z did not succeed within 10m0s")
		require.Contains(t, ds[0].Message.Summary, "Nothing was enqueued for it until 2031-03-04T13:15:29Z")
		require.Contains(t, ds[0].Message.Summary, "2 occurrences missed")
		require.Equal(t, caughtUp, ds[0].Message.Jobs[0].ID)
		require.Contains(t, ds[1].Message.Summary, "succeeded again at 2031-03-04T13:15:30Z")
		all := f.alerts()
		require.Len(t, all, 1)
		require.Equal(t, models.AlertResolved, all[0].State)

		f.evaluateAt(3*time.Hour + 17*time.Minute)
		require.Len(t, f.deliveries(), 2, "told once")
	})
}

// A success stamped after an evaluation's now, but written before it read, is left to the next
// evaluation: the alert resolves once, and the success doesn't fire the switch again.
func TestMissedScheduleSuccessStampedAfterNow(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		rj := f.hourly("nightly", false)
		f.evaluateAt(70 * time.Minute) // 11:10:30: the 11:00 run never came
		require.Equal(t, []string{"ops:firing"}, statuses(f.deliveries()))
		f.finished("backup", models.JobSucceeded, 80*time.Minute, &rj.ID) // stamped 11:20:30 by a clock ahead
		f.evaluateAt(79 * time.Minute)
		require.Equal(t, []string{"ops:firing"}, statuses(f.deliveries()), "not yet: stamped after now")
		f.evaluateAt(81 * time.Minute)
		f.evaluateAt(82 * time.Minute)
		require.Equal(t, []string{"ops:firing", "ops:resolved"}, statuses(f.deliveries()))
		require.Len(t, f.alerts(), 1)
	})
}

// A rule enabled again looks from then on: an occurrence missed while it was off is not told.
func TestMissedScheduleEnabledAgain(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		rj := f.hourly("nightly", false)
		f.evaluateAt(30 * time.Minute)
		r, err := f.s.Rules.GetRule(context.Background(), "nightly late")
		require.NoError(t, err)
		r.Enabled = false
		_, err = f.s.Rules.UpdateRule(context.Background(), r, f.now())
		require.NoError(t, err)
		f.finished("backup", models.JobSucceeded, 3*time.Hour, &rj.ID) // 13:00:30: 11:00 and 12:00 missed
		f.mu.Lock()
		f.at = t0.Add(3*time.Hour + 30*time.Second) // enabled again at 13:01
		f.mu.Unlock()
		r.Enabled = true
		_, err = f.s.Rules.UpdateRule(context.Background(), r, f.now())
		require.NoError(t, err)
		f.evaluateAt(3*time.Hour + time.Minute)
		require.Empty(t, f.deliveries())
	})
}
