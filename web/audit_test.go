package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// auditEntries is the whole trail, oldest first.
func (a *app) auditEntries() []models.AuditEntry {
	a.t.Helper()
	page, err := a.store.Audit.ListAudit(context.Background(), models.AuditFilter{}, 0, 0, models.MaxAuditPage)
	require.NoError(a.t, err)
	out := page.Entries
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// postFrom posts a form as a browser behind a proxy that says the client is at ip.
func (a *app) postFrom(path string, form url.Values, ip string) *http.Response {
	a.t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.server.URL+path, strings.NewReader(form.Encode()))
	require.NoError(a.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", ip)
	req.Header.Set("User-Agent", "audit-test/1.0")
	resp, _ := a.do(req)
	return resp
}

// A failed login, a login, a job's retry and a logout are each one entry, with the user (or
// the username tried), the client's address from a trusted proxy, and the outcome; reads are
// not recorded.
func TestAuditRecordsLoginsAndARetry(t *testing.T) {
	forEachDialect(t, web.Config{TrustProxy: true}, func(t *testing.T, a *app) {
		a.addUser("ada", models.RoleAdmin)
		const ip = "203.0.113.9"
		resp := a.postFrom("/login", url.Values{"_csrf": {a.csrf("/login")}, "username": {"ada"}, "password": {"not the password"}}, ip)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		resp = a.postFrom("/login", url.Values{"_csrf": {a.csrf("/login")}, "username": {"ada"}, "password": {password}}, ip)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)

		job := a.jobIn(models.JobCancelled)
		jobPath := "/dashboard/jobs/" + itoa(job.ID)
		resp = a.postFrom(jobPath+"/requeue", url.Values{"_csrf": {a.csrf(jobPath)}}, ip)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		a.get("/dashboard/jobs")
		resp = a.postFrom("/logout", url.Values{"_csrf": {a.csrf("/dashboard")}}, ip)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)

		got := a.auditEntries()
		require.Len(t, got, 4, "GETs are not recorded: %+v", got)
		for _, e := range got {
			require.Equal(t, "ada", e.Actor)
			require.Equal(t, models.AuditActorUser, e.ActorKind)
			require.Equal(t, ip, e.IP, "the client's address, through the trusted proxy")
			require.Equal(t, "audit-test/1.0", e.UserAgent)
			require.NotContains(t, e.Details, password)
		}
		require.Equal(t, []string{"login", "login", "jobs.retry POST /dashboard/jobs/:id/requeue", "logout"},
			[]string{got[0].Action, got[1].Action, got[2].Action, got[3].Action})
		require.Equal(t, models.AuditRefused, got[0].Outcome)
		require.Equal(t, models.AuditOK, got[1].Outcome)
		require.Equal(t, "job "+itoa(job.ID), got[2].Target)
		require.Equal(t, models.AuditOK, got[2].Outcome, "written with the change")
		require.JSONEq(t, `{"state":{"before":"cancelled","after":"enqueued"}}`, got[2].Details)
		v, err := a.store.Audit.VerifyAudit(context.Background())
		require.NoError(t, err)
		require.Zero(t, v.BadID, v.Problem)
	})
}

// A secret's value is never recorded, from the page or the API: only its name.
func TestAuditKeepsSecretValuesOut(t *testing.T) {
	a := setup(t)
	const value = "s3cret-VALUE-never-logged"
	resp, _ := a.post("/dashboard/secrets", url.Values{"_csrf": {a.csrf("/dashboard/secrets")}, "name": {"db-password"}, "value": {value}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	tok := a.token("deploy", models.RoleAdmin)
	resp, _ = a.apiCall(http.MethodPut, "/api/v1/secrets/smtp-pass", tok, map[string]string{"value": value})
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	resp, _ = a.apiCall(http.MethodPut, "/api/v1/secrets/smtp-pass", tok, map[string]string{"value": value + "2"})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = a.post("/dashboard/secrets/db-password/delete", url.Values{"_csrf": {a.csrf("/dashboard/secrets")}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)

	got := a.auditEntries()
	require.Len(t, got, 4)
	raw, err := json.Marshal(got)
	require.NoError(t, err)
	require.NotContains(t, string(raw), value)
	require.Equal(t, "secret db-password", got[0].Target)
	require.Equal(t, "local", got[0].Actor)
	require.JSONEq(t, `{"created":true}`, got[0].Details)
	require.Equal(t, "secret smtp-pass", got[1].Target)
	require.Equal(t, "token deploy", got[1].Actor)
	require.Equal(t, models.AuditActorToken, got[1].ActorKind)
	require.Equal(t, models.AuditOK, got[1].Outcome)
	require.JSONEq(t, `{"created":false}`, got[2].Details)
	require.Equal(t, "secret db-password", got[3].Target)
	require.Equal(t, "secrets.manage POST /dashboard/secrets/:name/delete", got[3].Action)
}

// Pausing and resuming a recurring job records its paused flag before and after, under its
// name, from the page and the API; a viewer's refused attempt is recorded as refused.
func TestAuditRecordsRecurringPauseWithBeforeAndAfter(t *testing.T) {
	forEachDialect(t, web.Config{LocalNoAuth: true}, func(t *testing.T, a *app) {
		a.register("report.build")
		resp, body := a.apiCall(http.MethodPost, "/api/v1/recurring", "", map[string]any{"name": "nightly", "spec": "0 3 * * *", "kind": "report.build"})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		tok := a.token("ops", models.RoleAdmin)
		resp, _ = a.apiCall(http.MethodPost, "/api/v1/recurring/nightly/pause", tok, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		rj, err := a.store.Recurring.GetRecurring(context.Background(), "nightly")
		require.NoError(t, err)
		page := "/dashboard/recurring"
		resp, _ = a.post(page+"/"+itoa(rj.ID)+"/resume", url.Values{"_csrf": {a.csrf(page)}})
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		viewer := a.token("peek", models.RoleViewer)
		resp, _ = a.apiCall(http.MethodPost, "/api/v1/recurring/nightly/pause", viewer, nil)
		require.Equal(t, http.StatusForbidden, resp.StatusCode)

		got := a.auditEntries()
		require.Len(t, got, 4) // create, pause, resume, refused pause
		require.Equal(t, "recurring.edit POST /api/v1/recurring", got[0].Action)
		require.Equal(t, "token ops", got[1].Actor)
		require.Equal(t, "recurring nightly", got[1].Target)
		require.Equal(t, "recurring.pause POST /api/v1/recurring/:name/pause", got[1].Action)
		require.JSONEq(t, `{"paused":{"before":false,"after":true}}`, got[1].Details)
		require.Equal(t, "local", got[2].Actor)
		require.Equal(t, "recurring nightly", got[2].Target, "the page's path has the id; the entry names it")
		require.JSONEq(t, `{"paused":{"before":true,"after":false}}`, got[2].Details)
		require.Equal(t, "token peek", got[3].Actor)
		require.Equal(t, "403", got[3].Outcome)
		require.Empty(t, got[3].Details, "refused: nothing changed")
	})
}

// A bulk action is one entry with its filter and counts; asking to confirm one on every
// matching job changes nothing and is not recorded.
func TestAuditRecordsBulkActionsOnce(t *testing.T) {
	a := setup(t)
	j1, j2 := a.jobIn(models.JobCancelled), a.jobIn(models.JobCancelled)
	token := a.csrf("/dashboard/jobs")
	resp, _ := a.post("/dashboard/jobs/bulk", url.Values{"_csrf": {token}, "action": {"requeue"}, "ids": {itoa(j1.ID), itoa(j2.ID)}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, _ = a.post("/dashboard/jobs/bulk", url.Values{"_csrf": {token}, "action": {"cancel"}, "scope": {"all"}, "state": {"enqueued"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, "the confirmation page")
	require.Len(t, a.auditEntries(), 1, "asking to confirm is not recorded")
	resp, _ = a.post("/dashboard/jobs/bulk", url.Values{"_csrf": {token}, "action": {"cancel"}, "scope": {"all"}, "state": {"enqueued"}, "confirm": {"1"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)

	got := a.auditEntries()
	require.Len(t, got, 2)
	require.Equal(t, "jobs.bulk POST /dashboard/jobs/bulk", got[0].Action)
	require.JSONEq(t, `{"action":"requeue","scope":"selected","filter":"/dashboard/jobs","done":2,"skipped":0}`, got[0].Details)
	require.JSONEq(t, `{"action":"cancel","scope":"all","filter":"/dashboard/jobs?state=enqueued","done":2,"skipped":0}`, got[1].Details)
}
