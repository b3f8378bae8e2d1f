package web_test

import (
	"context"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// seedAlerts adds awkward alerts to seedDashboard's data: long names, every watch, an alert
// acknowledged, one silenced, one resolved, and a rule from code.
func (a *app) seedAlerts() {
	a.t.Helper()
	ctx := context.Background()
	now := time.Now()
	require.NoError(a.t, a.store.Channels.CreateChannel(ctx, &models.Channel{Name: "ops-oncall-slack-eu-west-billing", Type: models.ChannelSlack,
		Settings: models.ChannelSettings{URL: "https://hooks.slack.com/services/${secret:partner.token}"}, CreatedBy: "ada"}))
	channels := []string{"ops-oncall-slack-eu-west-billing", "billing-team-email"}
	for _, r := range []models.AlertRule{
		{Name: "partner-orders-confirmation-callbacks-eu-west late", Watch: models.WatchMissedSchedule, Scope: models.ScopeRecurring,
			Target: "partner-orders-confirmation-callbacks-eu-west", Grace: 30 * time.Minute},
		{Name: "billing reconciliation failing", Watch: models.WatchFailuresWithin, Scope: models.ScopeKind, Target: longKind, Threshold: 10, Within: 15 * time.Minute},
		{Name: "webhooks backed up", Watch: models.WatchBacklog, Scope: models.ScopeQueue, Target: "webhooks", Threshold: 1000, LongerThan: 10 * time.Minute},
		{Name: "stuck reports", Watch: models.WatchRunningLonger, Scope: models.ScopeKind, Target: "report.build", LongerThan: 2 * time.Hour},
		{Name: "no-workers", Watch: models.WatchNoWorkers, Scope: models.ScopeQueue},
	} {
		r.Channels, r.RepeatEvery, r.Enabled, r.CreatedBy = channels, 4*time.Hour, true, "ada"
		_, err := a.store.Rules.CreateRule(ctx, &r, now)
		require.NoError(a.t, err)
	}
	// Oldest first: an evaluation (openAlert's) runs only after the last one.
	old := a.openAlert("reports late", "report.build", now.Add(-48*time.Hour))
	muted := a.openAlert("webhook failures", "partner-orders-confirmation-callbacks-eu-west", now.Add(-26*time.Hour))
	acked := a.openAlert("billing-customer-invoice-reconciliation-failed-for-good", longKind, now.Add(-3*time.Hour))
	a.openAlert("mail bounced", "mail.send", now.Add(-5*time.Minute))
	require.NoError(a.t, modeltest.DB(a.store).Model(&models.Alert{}).Where("id = ?", acked).
		Updates(map[string]any{"job_ids": "[10485761,10485762,10485763,10485764,10485765]", "count": 1234567}).Error)
	_, err := a.store.Rules.AcknowledgeAlert(ctx, acked, "ada.lovelace@very-long-customer-domain-name.example.co.uk", now.Add(-time.Hour))
	require.NoError(a.t, err)
	_, err = a.store.Rules.SilenceAlert(ctx, muted, now.Add(4*time.Hour), now)
	require.NoError(a.t, err)
	resolved := a.alert(old)
	resolved.State, resolved.ResolvedAt = models.AlertResolved, &now
	_, err = a.store.Rules.EvaluateAlerts(ctx, now, 0, func(tx *models.AlertTx) error { return tx.SaveAlert(resolved) })
	require.NoError(a.t, err)
}
