package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// seedAudit appends n entries: actors ada and bob in turn, targets job 1..n, the first ten a
// week old.
func (a *app) seedAudit(n int) {
	a.t.Helper()
	for i := range n {
		at := time.Now()
		if i < 10 {
			at = at.Add(-7 * 24 * time.Hour)
		}
		e := models.AuditEntry{At: at, Actor: []string{"ada", "bob"}[i%2], ActorKind: models.AuditActorUser, IP: "192.0.2.1",
			Action: "POST /dashboard/jobs/:id/requeue", Target: fmt.Sprintf("job %d", i+1), Outcome: "303"}
		require.NoError(a.t, a.store.Audit.AppendAudit(context.Background(), &e))
	}
}

func auditRowIDs(doc *goquery.Document) []string {
	var ids []string
	doc.Find(`[data-testid="audit-row"]`).Each(func(_ int, s *goquery.Selection) {
		id, _ := s.Attr("data-id")
		ids = append(ids, id)
	})
	return ids
}

// The page lists entries newest first in pages of 50, older and back newer; filters choose by
// who, target, action and time; a time it can't read is said next to the form; viewers may not
// read it.
func TestAuditPageFiltersAndPages(t *testing.T) {
	forEachDialect(t, web.Config{LocalNoAuth: true}, func(t *testing.T, a *app) {
		a.seedAudit(60)
		resp, doc := a.get("/dashboard/audit")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		ids := auditRowIDs(doc)
		require.Len(t, ids, 50)
		require.Equal(t, "60", ids[0])
		require.Zero(t, doc.Find(`[data-testid="newer"]`).Length())
		older, ok := doc.Find(`[data-testid="older"]`).Attr("href")
		require.True(t, ok)
		_, doc = a.get(older)
		ids = auditRowIDs(doc)
		require.Equal(t, []string{"10", "9", "8", "7", "6", "5", "4", "3", "2", "1"}, ids)
		newer, ok := doc.Find(`[data-testid="newer"]`).Attr("href")
		require.True(t, ok)
		_, doc = a.get(newer)
		ids = auditRowIDs(doc)
		require.Len(t, ids, 50)
		require.Equal(t, "60", ids[0], "back to the newest page")

		_, doc = a.get("/dashboard/audit?actor=bob&target=" + url.QueryEscape("job 4"))
		require.Equal(t, []string{"4"}, auditRowIDs(doc))
		_, doc = a.get("/dashboard/audit?action=login")
		require.Equal(t, 1, doc.Find(`[data-testid="empty"]`).Length())
		until := time.Now().Add(-24 * time.Hour).UTC().Format("2006-01-02T15:04")
		_, doc = a.get("/dashboard/audit?until=" + until)
		require.Len(t, auditRowIDs(doc), 10, "the week-old entries only (the page reads the range in the viewer's zone, UTC here)")
		v, _ := doc.Find(`input[name="until"]`).Attr("value")
		require.Equal(t, until, v, "the filter is kept in the form")

		resp, doc = a.get("/dashboard/audit?since=yesterday")
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		require.Contains(t, doc.Find(`[data-testid="form-error"]`).Text(), `not "yesterday"`)
		resp, _ = a.get("/dashboard/audit?before=x")
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	})

	b := setupWith(t, web.Config{})
	b.addUser("vera", models.RoleViewer)
	require.Equal(t, http.StatusSeeOther, b.login("vera", password).StatusCode)
	resp, _ := b.get("/dashboard/audit")
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "viewers may not read the trail")
}

// GET /api/v1/audit pages with next/before and filters as the page does; admin tokens only.
func TestAPIAudit(t *testing.T) {
	forEachDialect(t, web.Config{}, func(t *testing.T, a *app) {
		a.seedAudit(12)
		tok := a.token("siem", models.RoleAdmin)
		resp, body := a.apiCall(http.MethodGet, "/api/v1/audit?limit=5", tok, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		entries := body["entries"].([]any)
		require.Len(t, entries, 5)
		first := entries[0].(map[string]any)
		require.EqualValues(t, 12, first["id"])
		require.Equal(t, "bob", first["actor"])
		require.Len(t, first["hash"], 64)
		require.Equal(t, "8", body["next"])

		resp, body = a.apiCall(http.MethodGet, "/api/v1/audit?limit=5&before=3", tok, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Len(t, body["entries"], 2)
		require.Nil(t, body["next"], "the last page")

		since := url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
		resp, body = a.apiCall(http.MethodGet, "/api/v1/audit?actor=ada&since="+since, tok, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Len(t, body["entries"], 1, "ada's entries of the last hour: job 11")
		require.Equal(t, "job 11", body["entries"].([]any)[0].(map[string]any)["target"])

		resp, _ = a.apiCall(http.MethodGet, "/api/v1/audit?since=yesterday", tok, nil)
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		resp, body = a.apiCall(http.MethodGet, "/api/v1/audit", a.token("peek", models.RoleViewer), nil)
		require.Equal(t, http.StatusForbidden, resp.StatusCode, body)
		resp, _ = a.apiCall(http.MethodGet, "/api/v1/audit", "", nil)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	})
}

// seedAuditAwkward appends entries as wide as the audit page meets: a long route, target,
// details and user agent, an IPv6 address, and a refusal.
func (a *app) seedAuditAwkward() {
	a.t.Helper()
	for _, e := range []models.AuditEntry{
		{Actor: "token ci-deploy-pipeline-for-the-billing-service", ActorKind: models.AuditActorToken, IP: "2001:db8:85a3::8a2e:370:7334",
			UserAgent: "kiln-client/1.4 (linux; amd64) go1.24", Action: "PUT /api/v1/recurring/:name", Target: "recurring partner-order-confirmation-callbacks-eu-west",
			Details: models.AuditDetails(map[string]any{"spec": models.AuditChange{Before: "*/5 * * * *", After: "0 */2 * * MON-FRI"},
				"args": models.AuditChange{Before: `{"url":"https://partner.example.com/v2/orders/confirmation-callback"}`, After: `{"url":"https://partner.example.com/v3/orders/confirmation-callback-with-retries"}`}}),
			Outcome: "200"},
		{Actor: "mallory", ActorKind: models.AuditActorUser, IP: "203.0.113.250", Action: "login", Outcome: models.AuditRefused},
	} {
		require.NoError(a.t, a.store.Audit.AppendAudit(context.Background(), &e))
	}
}
