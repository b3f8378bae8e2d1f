package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// hostile is an actor and a detail that would run in the page if it were not escaped.
const hostile = `<script>alert("x")</script><img src=x onerror=alert(1)>`

// appendEntry appends an entry by actor on target (and kind), with details.
func (a *app) appendEntry(actor, action, target, kind string, details map[string]any) int64 {
	a.t.Helper()
	e := models.AuditEntry{Actor: actor, ActorKind: models.AuditActorUser, IP: "198.51.100.4", UserAgent: "audit-ua/2", Action: action,
		Target: target, Kind: kind, Details: models.AuditDetails(details), Outcome: "303"}
	require.NoError(a.t, a.store.Audit.AppendAudit(context.Background(), &e))
	return e.ID
}

// sectionRows are the ids of the rows of the page's Audit section with id.
func sectionRows(t *testing.T, doc *goquery.Document, id string) []string {
	t.Helper()
	section := doc.Find("section#" + id)
	require.Equal(t, 1, section.Length(), "the page has its Audit section %s", id)
	return auditRowIDs(goquery.NewDocumentFromNode(section.Nodes[0]))
}

// A job's, a recurring job's and a kind's page each list their own entries, newest first, and
// no other's: who, the action's name (the whole action in its title), the details in words,
// the outcome, never where from. A kind's lists those about its jobs and about the kind, old
// ones by target alone. An actor or a detail that is markup is shown as text. Viewers see the
// sections, without the link to the audit page they may not read.
func TestAuditSectionsListTheirOwnEntries(t *testing.T) {
	forEachDialect(t, web.Config{}, func(t *testing.T, a *app) {
		a.addUser("ada", models.RoleAdmin)
		a.addUser("vera", models.RoleViewer)
		job, other, quiet := a.jobIn(models.JobCancelled), a.jobIn(models.JobCancelled), a.jobIn(models.JobCancelled)
		rj := a.recurring("nightly", "0 2 * * *")
		a.recurring("hourly", "@hourly")
		retry := a.appendEntry("ada", "jobs.retry POST /dashboard/jobs/:id/retry", "job "+itoa(job.ID), "mail.send",
			map[string]any{"priority": models.AuditChange{Before: 1, After: 5}})
		evil := a.appendEntry(hostile, "jobs.cancel POST /api/v1/jobs/:id/cancel", "job "+itoa(job.ID), "", map[string]any{"reason": hostile})
		otherJob := a.appendEntry("bob", "jobs.delete POST /dashboard/jobs/:id/delete", "job "+itoa(other.ID), "mail.send", nil)
		paused := a.appendEntry("ada", "recurring.pause POST /dashboard/recurring/:id/pause", "recurring nightly", "",
			map[string]any{"paused": models.AuditChange{Before: false, After: true}})
		a.appendEntry("ada", "recurring.pause POST /dashboard/recurring/:id/pause", "recurring hourly", "", nil)
		oldKind := a.appendEntry("ada", "POST /dashboard/kinds/:kind/limits", "kind mail.send", "", map[string]any{"max_running": models.AuditChange{Before: 0, After: 3}})
		a.appendEntry("ada", "limits.manage POST /dashboard/kinds/:kind/limits", "kind pdf.render", "pdf.render", nil)
		a.appendEntry("ada", "queues.pause POST /dashboard/queues/:name/pause", "queue low", "", nil)

		require.Equal(t, http.StatusSeeOther, a.login("ada", password).StatusCode)
		// A change to the kind through the page: the entry names the kind, from its path.
		kindPath := "/dashboard/kinds/mail.send"
		resp, _ := a.post(kindPath+"/limits", url.Values{"_csrf": {a.csrf(kindPath)}, "max_running": {"2"}, "rate_n": {"0"}, "rate_per": {"1m"}})
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		limits := a.auditEntries()[len(a.auditEntries())-1]
		require.Equal(t, "kind mail.send", limits.Target)
		require.Equal(t, "mail.send", limits.Kind)

		jobPath := "/dashboard/jobs/" + itoa(job.ID)
		resp, body := a.getRaw(jobPath)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.NotContains(t, body, "<script>alert", "markup is escaped")
		require.NotContains(t, body, "<img src=x")
		require.NotContains(t, body, "198.51.100.4", "where from stays on the admins' page")
		require.NotContains(t, body, "audit-ua/2")
		_, doc := a.get(jobPath)
		require.Equal(t, []string{itoa(evil), itoa(retry)}, sectionRows(t, doc, "job-audit"))
		row := doc.Find(`#job-audit [data-testid="audit-row"][data-id="` + itoa(evil) + `"]`)
		require.Equal(t, hostile, row.Find(`[data-testid="audit-actor"]`).Text(), "shown as text")
		require.Equal(t, "reason: "+hostile, row.Find(`[data-testid="audit-details"]`).Text())
		row = doc.Find(`#job-audit [data-testid="audit-row"][data-id="` + itoa(retry) + `"]`)
		action := row.Find(`[data-testid="audit-action"]`)
		require.Equal(t, "jobs.retry", action.Text())
		require.Equal(t, "jobs.retry POST /dashboard/jobs/:id/retry", action.AttrOr("title", ""))
		require.Equal(t, "priority: 1 → 5", row.Find(`[data-testid="audit-details"]`).Text())
		require.Contains(t, row.Text(), "303")
		require.Equal(t, 1, row.Find("time").Length(), "when, as the page's other tables show it")
		require.Equal(t, "/dashboard/audit?target=job+"+itoa(job.ID), doc.Find(`#job-audit [data-testid="audit-all"]`).AttrOr("href", ""))

		_, doc = a.get("/dashboard/jobs/" + itoa(other.ID))
		require.Equal(t, []string{itoa(otherJob)}, sectionRows(t, doc, "job-audit"))
		_, doc = a.get("/dashboard/jobs/" + itoa(quiet.ID))
		require.Empty(t, sectionRows(t, doc, "job-audit"))
		require.Equal(t, "No one has changed this job.", doc.Find(`#job-audit [data-testid="audit-empty"]`).Text())

		_, doc = a.get("/dashboard/recurring/" + itoa(rj.ID) + "/edit")
		require.Equal(t, []string{itoa(paused)}, sectionRows(t, doc, "recurring-audit"))
		require.Equal(t, "paused: false → true", doc.Find(`#recurring-audit [data-testid="audit-details"]`).Text())
		require.Equal(t, "/dashboard/audit?target=recurring+nightly", doc.Find(`#recurring-audit [data-testid="audit-all"]`).AttrOr("href", ""))

		_, doc = a.get(kindPath)
		require.Equal(t, []string{itoa(limits.ID), itoa(oldKind), itoa(otherJob), itoa(retry)}, sectionRows(t, doc, "kind-audit"),
			"its jobs' entries and the kind's own, the one made before entries had a kind too")
		require.Equal(t, "/dashboard/audit?kind=mail.send", doc.Find(`#kind-audit [data-testid="audit-all"]`).AttrOr("href", ""))

		a.client = newClient(t)
		require.Equal(t, http.StatusSeeOther, a.login("vera", password).StatusCode)
		for path, id := range map[string]string{jobPath: "job-audit", kindPath: "kind-audit"} {
			resp, doc = a.get(path)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.NotEmpty(t, sectionRows(t, doc, id), "viewers see who changed what they may see")
			require.Zero(t, doc.Find(`[data-testid="audit-all"]`).Length(), "but no link to the audit page")
		}
		resp, _ = a.get("/dashboard/audit?target=" + url.QueryEscape("job "+itoa(job.ID)))
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
	})
}

// The audit page and GET /api/v1/audit filter by kind, exactly; the API's entries name theirs.
func TestAuditFilterByKind(t *testing.T) {
	forEachDialect(t, web.Config{LocalNoAuth: true}, func(t *testing.T, a *app) {
		mail := a.appendEntry("ada", "jobs.retry POST /dashboard/jobs/:id/retry", "job 1", "mail.send", nil)
		a.appendEntry("ada", "jobs.retry POST /dashboard/jobs/:id/retry", "job 2", "mail.sender", nil)
		a.appendEntry("ada", "jobs.retry POST /dashboard/jobs/:id/retry", "job 3", "", nil)
		_, doc := a.get("/dashboard/audit?kind=mail.send")
		require.Equal(t, []string{itoa(mail)}, auditRowIDs(doc))
		require.Equal(t, "mail.send", doc.Find(`input[name="kind"]`).AttrOr("value", ""), "the filter is kept in the form")

		tok := a.token("siem", models.RoleAdmin)
		resp, body := a.apiCall(http.MethodGet, "/api/v1/audit?kind=mail.send", tok, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		entries := body["entries"].([]any)
		require.Len(t, entries, 1)
		require.Equal(t, "mail.send", entries[0].(map[string]any)["kind"])
		resp, body = a.apiCall(http.MethodGet, "/api/v1/audit?kind="+url.QueryEscape(strings.Repeat("k", 101)), tok, nil)
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
	})
}
