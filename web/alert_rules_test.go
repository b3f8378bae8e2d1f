package web_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// Each watch's form shows the fields that watch reads, and only those; a bad rule comes back
// with each error next to its field and the values as typed (422), nothing stored; a good one
// is listed in words; a person's rule is deleted, a code-defined one is refused.
func TestRuleForm(t *testing.T) {
	a := setupWith(t, web.Config{LocalNoAuth: true})
	ctx := context.Background()

	_, doc := a.get("/dashboard/alerts/rules/new")
	for _, w := range models.Watches {
		require.NotEmpty(t, doc.Find(`[data-testid="watch-`+w+`"]`).Nodes, w)
	}
	for watch, want := range map[string][]string{
		models.WatchFailed:         {"scope"},
		models.WatchFailuresWithin: {"scope", "threshold", "within"},
		models.WatchMissedSchedule: {"grace"},
		models.WatchBacklog:        {"scope", "threshold", "longer_than"},
		models.WatchNoWorkers:      {},
	} {
		_, doc = a.get("/dashboard/alerts/rules/new?watch=" + watch)
		for _, f := range []string{"threshold", "within", "grace", "longer_than"} {
			shown := len(doc.Find(`input[name="`+f+`"]`).Nodes) > 0
			require.Equal(t, slices.Contains(want, f), shown, "%s: %s", watch, f)
		}
		require.Equal(t, slices.Contains(want, "scope"), len(doc.Find(`select[name="scope"]`).Nodes) > 0, watch)
	}
	require.NotEmpty(t, doc.Find(`[data-testid="no-channels"] a[href="/dashboard/alerts/channels"]`).Nodes, "no channel: say so, link to making one")

	require.NoError(t, a.store.Channels.CreateChannel(ctx, &models.Channel{Name: "ops", Type: models.ChannelWebhook,
		Settings: models.ChannelSettings{URL: "https://hooks.example.com/in"}}))
	token := a.csrf("/dashboard/alerts/rules/new?watch=failures-within")
	resp, doc := a.post("/dashboard/alerts/rules/new", url.Values{"_csrf": {token}, "watch": {"failures-within"}, "name": {""},
		"scope": {"kind"}, "target": {"report.build"}, "threshold": {"three"}, "within": {"soon"}, "channels": {"ops"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-name"]`).Text(), "Give the rule a name")
	require.Contains(t, doc.Find(`[data-testid="error-threshold"]`).Text(), "whole number")
	require.Contains(t, doc.Find(`[data-testid="error-within"]`).Text(), "duration")
	typed, _ := doc.Find(`input[name="within"]`).Attr("value")
	require.Equal(t, "soon", typed)
	_, checked := doc.Find(`input[name="channels"][value="ops"]`).Attr("checked")
	require.True(t, checked, "the channels as ticked")
	resp, doc = a.post("/dashboard/alerts/rules/new", url.Values{"_csrf": {token}, "watch": {"missed-schedule"}, "name": {"x"},
		"scope": {"kind"}, "grace": {"-5m"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.NotEmpty(t, doc.Find(`[data-testid="error-grace"]`).Nodes)
	rules, err := a.store.Rules.ListRules(ctx)
	require.NoError(t, err)
	require.Empty(t, rules, "nothing half-made")

	resp, _ = a.post("/dashboard/alerts/rules/new", url.Values{"watch": {"failed"}, "name": {"x"}, "scope": {"kind"}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "no CSRF token, no rule")
	resp, _ = a.post("/dashboard/alerts/rules/new", url.Values{"_csrf": {token}, "watch": {"failures-within"}, "name": {"reports failing"},
		"scope": {"kind"}, "target": {"report.build"}, "threshold": {"3"}, "within": {"10m"}, "channels": {"ops"}, "repeat_every": {"1h"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	r, err := a.store.Rules.GetRule(ctx, "reports failing")
	require.NoError(t, err)
	require.Equal(t, 10*time.Minute, r.Within)
	require.Equal(t, []string{"ops"}, r.Channels)
	require.Equal(t, "local", r.CreatedBy)
	resp, doc = a.post("/dashboard/alerts/rules/new", url.Values{"_csrf": {token}, "watch": {"failed"}, "name": {"reports failing"}, "scope": {"kind"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-name"]`).Text(), "another name")

	a.openAlert("from code", "report.build", time.Now()) // a rule with no CreatedBy, as jobs.AlertOnFailure stores it
	_, doc = a.get("/dashboard/alerts")
	row := doc.Find(`[data-testid="rule-row"][data-name="reports failing"]`)
	require.Contains(t, row.Text(), "more than 3 failures within 10m0s")
	require.Contains(t, row.Text(), "kind report.build")
	code := doc.Find(`[data-testid="rule-row"][data-name="from code"]`)
	require.NotEmpty(t, code.Find(`[data-testid="from-code"]`).Nodes)
	require.Empty(t, code.Find(`[data-testid="delete-rule"]`).Nodes)
	require.NotEmpty(t, doc.Find(`[data-testid="code-note"]`).Nodes)

	resp, _ = a.post("/dashboard/alerts/rules/from%20code/delete", url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusConflict, resp.StatusCode)
	resp, _ = a.post("/dashboard/alerts/rules/reports%20failing/delete", url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	rules, err = a.store.Rules.ListRules(ctx)
	require.NoError(t, err)
	require.Len(t, rules, 1)
	require.Equal(t, "from code", rules[0].Name)
}
