package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// An admin sees an open alert on one row with its jobs linked, acknowledges it and silences
// another (for an hour, then until a time typed in their zone) and unsilences it; a bad or past
// time is refused, a resolved alert goes to the history, and nothing changes without the CSRF
// token.
func TestAlertsPageActs(t *testing.T) {
	a := setupWith(t, web.Config{LocalNoAuth: true})
	now := time.Now()
	ack := a.openAlert("reports", "report.build", now.Add(-time.Hour))
	mute := a.openAlert("backups", "backup.run", now.Add(-time.Hour))

	resp, doc := a.get("/dashboard/alerts")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotEmpty(t, doc.Find(`nav.subnav a[href="/dashboard/alerts"][aria-current="page"]`).Nodes, "the nav's Alerts entry")
	require.NotEmpty(t, doc.Find(`[data-testid="channels-link"][href="/dashboard/alerts/channels"]`).Nodes)
	require.NotEmpty(t, doc.Find(`#alerts-live[hx-get="/dashboard/alerts/live"]`).Nodes, "live")
	row := doc.Find(`[data-testid="open-alerts"] [data-testid="alert-row"][data-id="` + itoa(ack) + `"]`)
	require.Contains(t, row.Text(), "reports")
	require.Contains(t, row.Text(), "report.build")
	require.NotEmpty(t, row.Find(`a[href="/dashboard/jobs/7"]`).Nodes, "its first jobs linked")
	require.Contains(t, row.Find(`[data-testid="alert-handled"]`).Text(), "no")
	require.NotEmpty(t, row.Find(`[data-testid="acknowledge"]`).Nodes)
	require.NotEmpty(t, row.Find(`[data-testid="silence-1h"]`).Nodes)

	token := a.csrf("/dashboard/alerts")
	resp, _ = a.post("/dashboard/alerts/"+itoa(ack)+"/acknowledge", url.Values{})
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "no CSRF token")
	resp, _ = a.post("/dashboard/alerts/"+itoa(ack)+"/acknowledge", url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, doc = a.get("/dashboard/alerts/live")
	row = doc.Find(`[data-testid="alert-row"][data-id="` + itoa(ack) + `"]`)
	require.Contains(t, row.Find(`[data-testid="acknowledged"]`).Text(), "by local")
	require.Empty(t, row.Find(`[data-testid="acknowledge"]`).Nodes, "acknowledged once")

	resp, _ = a.post("/dashboard/alerts/"+itoa(mute)+"/silence", url.Values{"_csrf": {token}, "for": {"1h"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	got := a.alert(mute)
	require.WithinDuration(t, time.Now().Add(time.Hour), *got.SilencedUntil, time.Minute)
	_, doc = a.get("/dashboard/alerts")
	require.NotEmpty(t, doc.Find(`[data-id="`+itoa(mute)+`"] [data-testid="silenced"]`).Nodes)

	a.setZone("America/New_York")
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	until := time.Now().In(ny).Add(48 * time.Hour).Truncate(time.Minute)
	resp, _ = a.post("/dashboard/alerts/"+itoa(mute)+"/silence", url.Values{"_csrf": {token}, "until": {until.Format("2006-01-02T15:04")}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.True(t, until.Equal(*a.alert(mute).SilencedUntil), "read in the viewer's zone: %v", a.alert(mute).SilencedUntil)
	for _, bad := range []url.Values{{"until": {"tomorrow"}}, {"until": {"2001-01-01T00:00"}}, {}} {
		bad.Set("_csrf", token)
		resp, _ = a.post("/dashboard/alerts/"+itoa(mute)+"/silence", bad)
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, bad)
	}
	require.True(t, until.Equal(*a.alert(mute).SilencedUntil), "unchanged")

	// A silenced alert's row offers Unsilence; it ends the silence, and the row offers it no more.
	_, doc = a.get("/dashboard/alerts/live")
	row = doc.Find(`[data-testid="alert-row"][data-id="` + itoa(mute) + `"]`)
	require.NotEmpty(t, row.Find(`[data-testid="unsilence"]`).Nodes)
	require.Empty(t, row.Find(`[data-testid="silence"]`).Nodes, "in place of another silence")
	require.Empty(t, doc.Find(`[data-id="`+itoa(ack)+`"] [data-testid="unsilence"]`).Nodes, "not silenced")
	resp, _ = a.post("/dashboard/alerts/"+itoa(mute)+"/unsilence", url.Values{})
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "no CSRF token")
	resp, _ = a.post("/dashboard/alerts/"+itoa(mute)+"/unsilence", url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Nil(t, a.alert(mute).SilencedUntil)
	_, doc = a.get("/dashboard/alerts/live")
	row = doc.Find(`[data-testid="alert-row"][data-id="` + itoa(mute) + `"]`)
	require.Empty(t, row.Find(`[data-testid="unsilence"]`).Nodes)
	require.Empty(t, row.Find(`[data-testid="silenced"]`).Nodes)
	require.NotEmpty(t, row.Find(`[data-testid="silence"]`).Nodes, "it can be silenced again")
	resp, _ = a.post("/dashboard/alerts/99999/unsilence", url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = a.post("/dashboard/alerts/99999/acknowledge", url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	// Resolved: out of the open ones, into the history; no more actions.
	require.NoError(t, modeltest.DB(a.store).Model(&models.Alert{}).Where("id = ?", ack).
		Updates(map[string]any{"state": models.AlertResolved, "resolved_at": time.Now()}).Error)
	_, doc = a.get("/dashboard/alerts")
	require.Empty(t, doc.Find(`[data-testid="open-alerts"] [data-id="`+itoa(ack)+`"]`).Nodes)
	require.NotEmpty(t, doc.Find(`[data-testid="alert-history"] [data-id="`+itoa(ack)+`"]`).Nodes)
	resp, _ = a.post("/dashboard/alerts/"+itoa(ack)+"/silence", url.Values{"_csrf": {token}, "for": {"4h"}})
	require.Equal(t, http.StatusConflict, resp.StatusCode, "resolved already")
}

// The history pages by 50, newest first.
func TestAlertsHistoryPages(t *testing.T) {
	a := setupWith(t, web.Config{LocalNoAuth: true})
	var ids []int64
	for i := range 51 {
		id := a.openAlert("r"+strconv.Itoa(i), "k", time.Now())
		ids = append(ids, id)
	}
	require.NoError(t, modeltest.DB(a.store).Model(&models.Alert{}).Where("id > 0").
		Updates(map[string]any{"state": models.AlertResolved, "resolved_at": time.Now()}).Error)
	_, doc := a.get("/dashboard/alerts")
	rows := doc.Find(`[data-testid="alert-history"] [data-testid="alert-row"]`)
	require.Equal(t, 50, rows.Length())
	first, _ := rows.First().Attr("data-id")
	require.Equal(t, itoa(ids[50]), first, "newest first")
	older, ok := doc.Find(`[data-testid="history-older"]`).Attr("href")
	require.True(t, ok)
	_, doc = a.get(older)
	rows = doc.Find(`[data-testid="alert-history"] [data-testid="alert-row"]`)
	require.Equal(t, 1, rows.Length())
	last, _ := rows.First().Attr("data-id")
	require.Equal(t, itoa(ids[0]), last)
	require.Empty(t, doc.Find(`[data-testid="history-older"]`).Nodes)
	require.NotEmpty(t, doc.Find(`[data-testid="history-newest"]`).Nodes)
}

// Viewers read the alerts and the rules, and can't act: no buttons, and a 403 for each action.
func TestAlertsPageViewersRead(t *testing.T) {
	a := setupWith(t, web.Config{})
	id := a.openAlert("reports", "report.build", time.Now())
	muted, err := a.store.Rules.SilenceAlert(context.Background(), id, time.Now().Add(time.Hour), time.Now())
	require.NoError(t, err, "silenced: the row would offer Unsilence to an admin")
	a.addUser("val", models.RoleViewer)
	a.login("val", password)
	resp, doc := a.get("/dashboard/alerts")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="open-alerts"]`).Text(), "report.build")
	require.Contains(t, doc.Find(`[data-testid="rules"]`).Text(), "reports")
	for _, sel := range []string{"acknowledge", "silence", "unsilence", "new-rule", "edit-rule", "delete-rule"} {
		require.Empty(t, doc.Find(`[data-testid="`+sel+`"]`).Nodes, sel)
	}
	resp, _ = a.get("/dashboard/alerts/rules/new?watch=failed")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	token := a.csrf("/dashboard/alerts")
	for _, path := range []string{"/dashboard/alerts/" + itoa(id) + "/acknowledge", "/dashboard/alerts/" + itoa(id) + "/silence", "/dashboard/alerts/" + itoa(id) + "/unsilence",
		"/dashboard/alerts/rules/new", "/dashboard/alerts/rules/reports/edit", "/dashboard/alerts/rules/reports/delete"} {
		resp, _ := a.post(path, url.Values{"_csrf": {token}, "for": {"1h"}, "watch": {"failed"}, "name": {"x"}, "scope": {"kind"}})
		require.Equal(t, http.StatusForbidden, resp.StatusCode, path)
	}
	got := a.alert(id)
	require.Nil(t, got.AcknowledgedAt)
	require.True(t, muted.SilencedUntil.Equal(*got.SilencedUntil), "neither changed nor unsilenced")
}

// alert reads one alert back.
func (a *app) alert(id int64) *models.Alert {
	a.t.Helper()
	var got models.Alert
	require.NoError(a.t, modeltest.DB(a.store).Where("id = ?", id).Take(&got).Error)
	return &got
}
