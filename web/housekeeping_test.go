package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
)

// tabCounts are the Jobs list's state tabs, label to count.
func tabCounts(doc *goquery.Document) map[string]string {
	out := map[string]string{}
	doc.Find(`[data-testid="tab"]`).Each(func(_ int, s *goquery.Selection) {
		n := s.Find(".tab-count").Text()
		out[strings.TrimSpace(strings.TrimSuffix(s.Text(), n))] = n
	})
	return out
}

// The dashboard leaves housekeeping jobs (here jobs.cleanup's) out of Recent jobs and the
// default Jobs list, while a normal kind shows; the toggle, a kind, a tag or a text search
// shows them; they are counted everywhere, and the API lists them.
func TestHousekeepingHidden(t *testing.T) {
	a := setup(t)
	report := a.enqueue("report.build", nil)
	a.finish(report, models.JobSucceeded, "")
	var sweeps []string
	for i := range 3 {
		j := a.enqueue(builtin.KindCleanup, nil)
		state, errText := models.JobSucceeded, ""
		if i == 2 {
			state, errText = models.JobFailed, "database is locked"
		}
		a.finish(j, state, errText)
		sweeps = append(sweeps, strconv.FormatInt(j.ID, 10))
	}
	reportID := strconv.FormatInt(report.ID, 10)
	all := append([]string{sweeps[2], sweeps[1], sweeps[0]}, reportID)

	for _, path := range []string{"/dashboard", "/dashboard/live"} {
		_, doc := a.get(path)
		kinds := doc.Find(`[data-testid="recent-row"] [data-label="Kind"]`).Map(func(_ int, s *goquery.Selection) string { return s.Text() })
		require.Equal(t, []string{"report.build"}, kinds, "%s: Recent jobs leave housekeeping out", path)
		require.Equal(t, "3", doc.Find(`[data-testid="card-succeeded"] .stat-count`).Text(), "%s: the cards count it", path)
		require.Equal(t, "1", doc.Find(`[data-testid="card-failed"] .stat-count`).Text(), path)
	}

	_, doc := a.get("/dashboard/jobs")
	require.Equal(t, []string{reportID}, jobIDs(doc), "the default list leaves housekeeping out")
	require.Equal(t, "4", tabCounts(doc)["All"], "the tabs count it")
	require.Equal(t, "1", tabCounts(doc)["Failed"])
	require.Equal(t, "(3 hidden)", doc.Find(`[data-testid="housekeeping-count"]`).Text(), "the toggle says what the tab counts but the list leaves out")
	toggle := doc.Find(`[data-testid="show-housekeeping"]`)
	require.Equal(t, 1, toggle.Length(), "the filter bar has the toggle")
	_, checked := toggle.Attr("checked")
	require.False(t, checked)
	require.Contains(t, toggle.Parent().AttrOr("title", ""), builtin.KindCleanup, "it says which kinds it shows")

	// The toggle shows them, and every link of the list keeps it.
	_, doc = a.get("/dashboard/jobs?housekeeping=1")
	require.Equal(t, all, jobIDs(doc))
	_, checked = doc.Find(`[data-testid="show-housekeeping"]`).Attr("checked")
	require.True(t, checked)
	doc.Find(`[data-testid="tab"], .pager-info a`).Each(func(_ int, s *goquery.Selection) {
		u, err := url.Parse(s.AttrOr("href", ""))
		require.NoError(t, err)
		require.Equal(t, "1", u.Query().Get("housekeeping"), "%s keeps the toggle", u)
	})
	require.Equal(t, 1, doc.Find(`[data-testid="bulk-form"] input[name="housekeeping"][value="1"]`).Length(), "so do the bulk actions")
	_, doc = a.get("/dashboard/jobs?housekeeping=1&state=failed")
	require.Equal(t, []string{sweeps[2]}, jobIDs(doc))
	_, doc = a.get("/dashboard/jobs?housekeeping=0")
	require.Equal(t, []string{reportID}, jobIDs(doc))

	// Looking for them by kind, tag or text finds them without the toggle.
	_, doc = a.get("/dashboard/jobs?kind=" + builtin.KindCleanup)
	require.Equal(t, all[:3], jobIDs(doc))
	_, doc = a.get("/dashboard/jobs?q=database+is+locked")
	require.Equal(t, []string{sweeps[2]}, jobIDs(doc), "a failed sweep's error is found by searching for it")

	// A tab of housekeeping jobs only says they are hidden, and links to them.
	_, doc = a.get("/dashboard/jobs?state=failed")
	require.Empty(t, jobIDs(doc))
	show, _ := doc.Find(`[data-testid="housekeeping-hidden"] a`).Attr("href")
	require.Equal(t, "/dashboard/jobs?housekeeping=1&state=failed", show)
	require.Equal(t, "(1 hidden)", doc.Find(`[data-testid="housekeeping-count"]`).Text(), "of the tab's state")
	_, doc = a.get("/dashboard/jobs?housekeeping=1")
	require.Zero(t, doc.Find(`[data-testid="housekeeping-count"]`).Length(), "none hidden when shown")

	resp, doc := a.get("/dashboard/jobs?housekeeping=maybe")
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-message"]`).Text(), `"housekeeping" must be 1`)

	// "All matching" acts on what the list shows.
	token := a.csrf("/dashboard/jobs")
	for form, want := range map[string]string{"": "1", "1": "4"} {
		_, doc = a.post("/dashboard/jobs/bulk", url.Values{"_csrf": {token}, "action": {"delete"}, "scope": {"all"}, "housekeeping": {form}})
		require.Equal(t, want, doc.Find(`[data-testid="bulk-count"]`).Text(), "housekeeping=%q", form)
	}

	// Counted on the Kinds page, and listed by the API.
	_, doc = a.get("/dashboard/kinds")
	require.Equal(t, "1", doc.Find(`[data-kind="`+builtin.KindCleanup+`"] [data-testid="failed-all"]`).Text())
	_, body := a.apiCall(http.MethodGet, "/api/v1/jobs", "", nil)
	require.Len(t, body["jobs"], 4, "the API is for programs: every job")
}

// Recent jobs with nothing but housekeeping to show say so, instead of "No job has started
// yet": the sweep runs at every start, so this is the first page a new install shows.
func TestRecentJobsOnlyHousekeeping(t *testing.T) {
	a := setup(t)
	_, doc := a.get("/dashboard")
	require.Equal(t, "No job has started yet.", doc.Find(`[data-testid="recent-empty"]`).Text())
	a.finish(a.enqueue(builtin.KindCleanup, nil), models.JobSucceeded, "")
	for _, path := range []string{"/dashboard", "/dashboard/live"} {
		_, doc = a.get(path)
		empty := doc.Find(`[data-testid="recent-empty"]`)
		require.Equal(t, "Only housekeeping jobs have run lately: show them.", empty.Text(), path)
		require.Equal(t, "/dashboard/jobs?housekeeping=1", empty.Find("a").AttrOr("href", ""))
	}
}
