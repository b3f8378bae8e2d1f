package models_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// Rules are checked field by field, named once, redefined by code without losing how far they
// have looked, and deleted with their alerts.
func TestAlertRules(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		t0 := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
		_, err := s.Rules.CreateRule(ctx, &models.AlertRule{Name: " ", Watch: "sometimes", Scope: models.ScopeKind}, t0)
		require.Equal(t, models.EINVALID, models.ErrorCode(err))
		require.Equal(t, []string{"name", "watch"}, keys(models.FieldErrors(err)))
		_, err = s.Rules.CreateRule(ctx, &models.AlertRule{Name: "late", Watch: models.WatchMissedSchedule, Scope: models.ScopeKind}, t0)
		require.Equal(t, []string{"grace", "scope"}, keys(models.FieldErrors(err)), "no grace: every run would be late")
		_, err = s.Rules.CreateRule(ctx, &models.AlertRule{Name: "burst", Watch: models.WatchFailuresWithin, Scope: models.ScopeQueue}, t0)
		require.Equal(t, []string{"threshold", "within"}, keys(models.FieldErrors(err)))

		_, err = s.Rules.CreateRule(ctx, &models.AlertRule{Name: "stuck", Watch: models.WatchBacklog, Scope: models.ScopeQueue, Threshold: -1}, t0)
		require.Equal(t, []string{"longer_than", "threshold"}, keys(models.FieldErrors(err)))
		_, err = s.Rules.CreateRule(ctx, &models.AlertRule{Name: "idle", Watch: models.WatchNoWorkers, Scope: models.ScopeKind}, t0)
		require.Equal(t, []string{"scope"}, keys(models.FieldErrors(err)))

		r, err := s.Rules.CreateRule(ctx, &models.AlertRule{Name: "reports", Watch: models.WatchFailed, Scope: models.ScopeKind,
			Target: "report", Channels: []string{"ops"}, RepeatEvery: time.Hour, Enabled: true, CreatedBy: "alice"}, t0)
		require.NoError(t, err)
		require.Equal(t, t0, r.CheckedUntil)
		_, err = s.Rules.CreateRule(ctx, r, t0)
		require.Equal(t, models.ECONFLICT, models.ErrorCode(err))

		r.Channels, r.RepeatEvery = []string{"ops", "mail"}, time.Minute
		up, err := s.Rules.UpsertRule(ctx, r, t0.Add(time.Hour))
		require.NoError(t, err)
		require.Equal(t, []string{"ops", "mail"}, up.Channels)
		require.Equal(t, time.Minute, up.RepeatEvery)
		require.Equal(t, t0, up.CreatedAt.UTC(), "the rule keeps its creation")
		require.Equal(t, t0, up.CheckedUntil.UTC(), "and how far it has looked")

		_, err = s.Rules.EvaluateAlerts(ctx, t0, time.Second, func(tx *models.AlertTx) error {
			return tx.SaveAlert(&models.Alert{RuleID: r.ID, Subject: "report", State: models.AlertOpen, OpenedAt: t0, LastNotifiedAt: t0, Count: 1})
		})
		require.NoError(t, err)
		n, err := s.Rules.CountOpenAlerts(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		_, err = s.Rules.AcknowledgeAlert(ctx, 999, "bob", t0)
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))

		require.NoError(t, s.Rules.DeleteRule(ctx, "reports"))
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(s.Rules.DeleteRule(ctx, "reports")))
		all, err := s.Rules.ListAlerts(ctx, false, 10)
		require.NoError(t, err)
		require.Empty(t, all, "its alerts went with it")
	})
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// A rule is redefined in place (zero values too: disabled, no repeat), keeping its alerts,
// creation and creator; the history pages through the resolved alerts only, newest first.
func TestAlertRuleUpdateAndHistory(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		t0 := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
		r, err := s.Rules.CreateRule(ctx, &models.AlertRule{Name: "reports", Watch: models.WatchFailedInARow, Scope: models.ScopeKind,
			Target: "report", Threshold: 3, Channels: []string{"ops"}, RepeatEvery: time.Hour, Enabled: true, CreatedBy: "alice"}, t0)
		require.NoError(t, err)
		_, err = s.Rules.UpdateRule(ctx, &models.AlertRule{Name: "reports", Watch: models.WatchFailedInARow, Scope: models.ScopeKind, Threshold: 0}, time.Now())
		require.Equal(t, []string{"threshold"}, keys(models.FieldErrors(err)))
		up, err := s.Rules.UpdateRule(ctx, &models.AlertRule{Name: "reports", Watch: models.WatchFailedInARow, Scope: models.ScopeQueue,
			Target: "reports", Threshold: 5, Channels: nil, RepeatEvery: 0, Enabled: false, CreatedBy: "mallory"}, t0.Add(time.Hour))
		require.NoError(t, err)
		require.Equal(t, r.ID, up.ID)
		require.Equal(t, models.ScopeQueue, up.Scope)
		require.Equal(t, 5, up.Threshold)
		require.Empty(t, up.Channels)
		require.Zero(t, up.RepeatEvery)
		require.False(t, up.Enabled)
		require.Equal(t, "alice", up.CreatedBy, "who made it stays")
		require.Equal(t, t0, up.CreatedAt.UTC())
		_, err = s.Rules.UpdateRule(ctx, &models.AlertRule{Name: "nope", Watch: models.WatchFailed, Scope: models.ScopeKind}, time.Now())
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))

		var ids []int64
		for i := range 5 {
			al := &models.Alert{RuleID: r.ID, Subject: "s" + string(rune('a'+i)), State: models.AlertOpen, OpenedAt: t0, LastNotifiedAt: t0}
			if i != 2 {
				al.State, al.ResolvedAt = models.AlertResolved, &t0
			}
			_, err = s.Rules.EvaluateAlerts(ctx, t0.Add(time.Duration(i)*time.Minute), 0, func(tx *models.AlertTx) error { return tx.SaveAlert(al) })
			require.NoError(t, err)
			ids = append(ids, al.ID)
		}
		page, err := s.Rules.ListAlertHistory(ctx, 0, 2)
		require.NoError(t, err)
		require.Equal(t, []int64{ids[4], ids[3]}, alertIDs(page))
		page, err = s.Rules.ListAlertHistory(ctx, ids[3], 2)
		require.NoError(t, err)
		require.Equal(t, []int64{ids[1], ids[0]}, alertIDs(page), "the open one left out")
	})
}

func alertIDs(list []models.Alert) []int64 {
	out := make([]int64, 0, len(list))
	for _, a := range list {
		out = append(out, a.ID)
	}
	return out
}

// A silence ends at a time still to come; one that would already be over is refused, not taken
// as an unmute (that is UnsilenceAlert); a resolved alert is neither silenced nor unsilenced.
func TestAlertSilence(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		t0 := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
		r, err := s.Rules.CreateRule(ctx, &models.AlertRule{Name: "reports", Watch: models.WatchFailed, Scope: models.ScopeKind, Enabled: true, CreatedBy: "alice"}, t0)
		require.NoError(t, err)
		al := &models.Alert{RuleID: r.ID, Subject: "report", State: models.AlertOpen, OpenedAt: t0, LastNotifiedAt: t0}
		_, err = s.Rules.EvaluateAlerts(ctx, t0, 0, func(tx *models.AlertTx) error { return tx.SaveAlert(al) })
		require.NoError(t, err)

		a, err := s.Rules.SilenceAlert(ctx, al.ID, t0.Add(time.Hour), t0)
		require.NoError(t, err)
		require.Equal(t, t0.Add(time.Hour), a.SilencedUntil.UTC())
		for _, until := range []time.Time{t0, t0.Add(-time.Minute)} {
			_, err = s.Rules.SilenceAlert(ctx, al.ID, until, t0)
			require.Equal(t, models.EINVALID, models.ErrorCode(err), until)
			require.Equal(t, []string{"until"}, keys(models.FieldErrors(err)))
		}
		a, err = s.Rules.UnsilenceAlert(ctx, al.ID)
		require.NoError(t, err)
		require.Nil(t, a.SilencedUntil)
		require.False(t, a.Quiet(t0))
		a, err = s.Rules.UnsilenceAlert(ctx, al.ID)
		require.NoError(t, err, "not silenced: nothing to end")
		require.Nil(t, a.SilencedUntil)
		_, err = s.Rules.UnsilenceAlert(ctx, 999)
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))

		require.NoError(t, modeltest.DB(s).Model(&models.Alert{}).Where("id = ?", al.ID).Update("state", models.AlertResolved).Error)
		_, err = s.Rules.UnsilenceAlert(ctx, al.ID)
		require.Equal(t, models.ECONFLICT, models.ErrorCode(err))
		_, err = s.Rules.SilenceAlert(ctx, al.ID, t0.Add(time.Hour), t0)
		require.Equal(t, models.ECONFLICT, models.ErrorCode(err))
	})
}
