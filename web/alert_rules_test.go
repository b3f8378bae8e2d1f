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
	"github.com/kilnhq/kiln/models/modeltest"
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

// "Alert me if this fails or is late" on a recurring job's row and edit page opens the rule
// form prefilled with a missed schedule of a 30m grace, the one channel ticked; on a kind's
// page, a rule on its failures. Viewers don't see the shortcuts.
func TestAlertMeShortcuts(t *testing.T) {
	a := setupWith(t, web.Config{LocalNoAuth: true})
	ctx := context.Background()
	require.NoError(t, a.store.Channels.CreateChannel(ctx, &models.Channel{Name: "ops", Type: models.ChannelWebhook,
		Settings: models.ChannelSettings{URL: "https://hooks.example.com/in"}}))
	rj := a.recurring("nightly-report", "0 2 * * *")

	_, doc := a.get("/dashboard/recurring")
	href, ok := doc.Find(`[data-testid="recurring-row"][data-name="nightly-report"] [data-testid="alert-me"]`).Attr("href")
	require.True(t, ok, "on the recurring job's row")
	_, doc = a.get("/dashboard/recurring/" + itoa(rj.ID) + "/edit")
	onEdit, ok := doc.Find(`[data-testid="alert-me"]`).Attr("href")
	require.True(t, ok, "on its edit page")
	require.Equal(t, href, onEdit)

	mine := a.recurring("hourly-sync", "@hourly")
	require.NoError(t, modeltest.DB(a.store).Model(&models.RecurringJob{}).Where("id = ?", mine.ID).Update("created_by", "local").Error)
	_, doc = a.get("/dashboard/recurring/" + itoa(mine.ID) + "/edit")
	require.NotEmpty(t, doc.Find(`[data-testid="recurring-form"]`).Nodes, "the whole form of one a person made")
	require.Contains(t, doc.Find(`[data-testid="alert-me"]`).AttrOr("href", ""), "target=hourly-sync")

	resp, doc := a.get(href)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	form := doc.Find(`[data-testid="rule-form"]`)
	for field, want := range map[string]string{"watch": "missed-schedule", "scope": "recurring", "target": "nightly-report", "grace": "30m", "name": "nightly-report failed or late"} {
		got, _ := form.Find(`input[name="` + field + `"]`).Attr("value")
		require.Equal(t, want, got, field)
	}
	_, checked := form.Find(`input[name="channels"][value="ops"]`).Attr("checked")
	require.True(t, checked, "the only channel, chosen")
	token := a.csrf(href)
	resp, _ = a.post("/dashboard/alerts/rules/new", url.Values{"_csrf": {token}, "watch": {"missed-schedule"}, "scope": {"recurring"},
		"target": {"nightly-report"}, "grace": {"30m"}, "name": {"nightly-report failed or late"}, "channels": {"ops"}, "repeat_every": {"1h"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	r, err := a.store.Rules.GetRule(ctx, "nightly-report failed or late")
	require.NoError(t, err)
	require.Equal(t, models.WatchMissedSchedule, r.Watch)
	require.Equal(t, 30*time.Minute, r.Grace)

	a.register("pdf.render")
	_, doc = a.get("/dashboard/kinds/pdf.render")
	href, ok = doc.Find(`[data-testid="alert-me"]`).Attr("href")
	require.True(t, ok, "on the kind's page")
	_, doc = a.get(href)
	form = doc.Find(`[data-testid="rule-form"]`)
	watch, _ := form.Find(`input[name="watch"]`).Attr("value")
	require.Equal(t, models.WatchFailed, watch)
	require.Equal(t, "kind", form.Find(`select[name="scope"] option[selected]`).AttrOr("value", ""))
	target, _ := form.Find(`input[name="target"]`).Attr("value")
	require.Equal(t, "pdf.render", target)

	v := setupWith(t, web.Config{})
	v.recurring("nightly-report", "0 2 * * *")
	v.addUser("val", models.RoleViewer)
	v.login("val", password)
	_, doc = v.get("/dashboard/recurring")
	require.Empty(t, doc.Find(`[data-testid="alert-me"]`).Nodes)
}

// An admin edits a person's rule in its watch's form (not its name or watch), disables it, and
// sees a bad value come back next to its field; a code-defined rule's edit is refused.
func TestRuleEdit(t *testing.T) {
	a := setupWith(t, web.Config{LocalNoAuth: true})
	ctx := context.Background()
	_, err := a.store.Rules.CreateRule(ctx, &models.AlertRule{Name: "backups late", Watch: models.WatchMissedSchedule, Scope: models.ScopeRecurring,
		Target: "nightly-backup", Grace: 30 * time.Minute, RepeatEvery: time.Hour, Enabled: true, CreatedBy: "ada"}, time.Now())
	require.NoError(t, err)
	a.openAlert("from code", "report.build", time.Now())

	_, doc := a.get("/dashboard/alerts")
	href, ok := doc.Find(`[data-testid="rule-row"][data-name="backups late"] [data-testid="edit-rule"]`).Attr("href")
	require.True(t, ok)
	require.Empty(t, doc.Find(`[data-testid="rule-row"][data-name="from code"] [data-testid="edit-rule"]`).Nodes)
	resp, doc := a.get(href)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	form := doc.Find(`[data-testid="rule-form"]`)
	require.Empty(t, form.Find(`input[name="name"]`).Nodes, "the name stays")
	require.Empty(t, form.Find(`input[name="threshold"]`).Nodes, "only the watch's fields")
	require.Equal(t, "30m0s", form.Find(`input[name="grace"]`).AttrOr("value", ""))
	_, checked := form.Find(`input[name="enabled"]`).Attr("checked")
	require.True(t, checked)

	token := a.csrf(href)
	resp, doc = a.post(href, url.Values{"_csrf": {token}, "target": {"nightly-backup"}, "grace": {"an hour"}, "enabled": {"1"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-grace"]`).Text(), "duration")
	require.Equal(t, "an hour", doc.Find(`input[name="grace"]`).AttrOr("value", ""))
	resp, _ = a.post(href, url.Values{"_csrf": {token}, "target": {"weekly-backup"}, "grace": {"2h"}, "repeat_every": {""}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	r, err := a.store.Rules.GetRule(ctx, "backups late")
	require.NoError(t, err)
	require.Equal(t, "weekly-backup", r.Target)
	require.Equal(t, 2*time.Hour, r.Grace)
	require.False(t, r.Enabled, "unticked: disabled")
	require.Zero(t, r.RepeatEvery)
	require.Equal(t, models.WatchMissedSchedule, r.Watch)

	resp, _ = a.get("/dashboard/alerts/rules/from%20code/edit")
	require.Equal(t, http.StatusConflict, resp.StatusCode)
	resp, _ = a.post("/dashboard/alerts/rules/from%20code/edit", url.Values{"_csrf": {token}, "target": {"x"}})
	require.Equal(t, http.StatusConflict, resp.StatusCode)
	resp, _ = a.post(href, url.Values{"target": {"x"}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "no CSRF token")
}
