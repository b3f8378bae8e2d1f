package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// runJobs claims and finishes n waiting jobs of a queue as a server would, each taking took,
// to state (with errText for failures).
func (a *app) runJobs(queue string, n int, state models.JobState, took time.Duration, errText string) {
	a.t.Helper()
	ctx := context.Background()
	claimed, err := a.store.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: queue, ServerID: "srv", Limit: n, Lease: time.Minute, Now: time.Now()})
	require.NoError(a.t, err)
	require.Len(a.t, claimed, n)
	var batch []models.JobFinish
	for _, j := range claimed {
		batch = append(batch, models.JobFinish{JobID: j.ID, ServerID: "srv", Attempt: j.Attempt, Run: j.Runs, State: state, At: time.Now(), Duration: took, Error: errText})
	}
	_, _, err = a.store.Jobs.FinishJobs(ctx, batch)
	require.NoError(a.t, err)
}

func TestKindsPages(t *testing.T) {
	forEachDialect(t, web.Config{LocalNoAuth: true}, func(t *testing.T, a *app) {
		require.NoError(t, a.engine.Register("pdf.render", func(context.Context, *models.Job) error { return nil },
			jobs.Queue("pdf"), jobs.MaxAttempts(3), jobs.Timeout(time.Minute)))
		for range 4 {
			a.enqueue("pdf.render", nil)
		}
		a.runJobs("pdf", 3, models.JobSucceeded, 40*time.Millisecond, "")
		a.enqueue("pdf.render", nil)
		a.runJobs("pdf", 2, models.JobFailed, 2*time.Second, "ghostscript: <b>exit 1</b>\nstack...")
		a.enqueue("pdf.render", nil, jobs.RunAt(time.Now().Add(time.Hour)))
		a.enqueue("stranger.kind", nil, jobs.Queue("other"))

		resp, doc := a.get("/dashboard/kinds")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "Kinds", strings.TrimSpace(doc.Find(`.subnav a[aria-current="page"]`).Text()))
		row := doc.Find(`[data-testid="kind-row"][data-kind="pdf.render"]`)
		require.Equal(t, 1, row.Length())
		facts := row.Find(`[data-testid="kind-facts"]`).Text()
		for _, want := range []string{"pdf", "3 attempts", "timeout 1m0s"} {
			require.Contains(t, facts, want)
		}
		require.Equal(t, "0", row.Find(`[data-testid="waiting"]`).Text())
		require.Equal(t, "2", row.Find(`[data-testid="failed-all"]`).Text())
		require.Equal(t, "3 ok · 2 failed", strings.TrimSpace(row.Find(`[data-testid="day-outcomes"]`).Text()))
		require.Equal(t, "3 succeeded and 2 failed in the last 24 hours", row.Find(`[data-testid="sparkline"]`).AttrOr("aria-label", ""))
		require.Equal(t, 2, row.Find(`rect`).Length(), "this hour's bar: successes with failures stacked on them")
		require.Equal(t, "2.0 s", row.Find(`[data-testid="max"]`).Text())
		p50 := row.Find(`[data-testid="p50"]`).Text()
		require.True(t, strings.HasSuffix(p50, " ms"), "p50 %q", p50)
		stranger := doc.Find(`[data-kind="stranger.kind"]`)
		require.Contains(t, stranger.Text(), "not registered here")
		require.Equal(t, "1", stranger.Find(`[data-testid="waiting"]`).Text())
		require.Contains(t, doc.Find(`[data-kind="http.request"]`).Text(), "—", "a registered kind with no runs yet has no times")

		resp, doc = a.get("/dashboard/kinds/pdf.render")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "3", doc.Find(`[data-testid="card-succeeded"] .stat-count`).Text())
		require.Equal(t, "1", doc.Find(`[data-testid="card-scheduled"] .stat-count`).Text())
		require.Equal(t, "/dashboard/jobs?kind=pdf.render&state=failed", doc.Find(`[data-testid="card-failed"]`).AttrOr("href", ""))
		require.Equal(t, "2", doc.Find(`[data-testid="day-failed"]`).Text())
		require.Equal(t, 1, doc.Find(`[data-testid="chart-kind-outcomes"]`).Length())
		require.Contains(t, doc.Find(`[data-testid="chart-kind-times"]`).Text(), "peak")
		fail := doc.Find(`[data-testid="failure-row"]`)
		require.Equal(t, 1, fail.Length(), "both failures share their first line")
		require.Equal(t, "ghostscript: <b>exit 1</b>", strings.TrimSpace(fail.Find(`[data-testid="failure-message"]`).Text()), "escaped, first line only")
		require.Equal(t, "2", fail.Find(`[data-testid="failure-count"]`).Text())
		require.Contains(t, doc.Find(`[data-testid="limits-now"]`).Text(), "No cap")

		// Limits set on the page hold in the store; bad values re-render with the error and
		// change nothing.
		token := a.csrf("/dashboard/kinds/pdf.render")
		resp, doc = a.post("/dashboard/kinds/pdf.render/limits", url.Values{"_csrf": {token}, "max_running": {"-1"}, "rate_n": {"ten"}, "rate_per": {"1m"}})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		require.NotEmpty(t, doc.Find(`[data-testid="error-max_running"]`).Text())
		require.NotEmpty(t, doc.Find(`[data-testid="error-rate_n"]`).Text())
		require.Equal(t, "-1", doc.Find(`#max_running`).AttrOr("value", ""), "what was typed stays")
		resp, doc = a.post("/dashboard/kinds/pdf.render/limits", url.Values{"_csrf": {token}, "max_running": {"2"}, "rate_n": {"10"}, "rate_per": {"500ms"}})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		require.Contains(t, doc.Find(`[data-testid="error-rate_per"]`).Text(), "Whole seconds")
		limits, err := a.store.Kinds.KindLimits(context.Background())
		require.NoError(t, err)
		require.Empty(t, limits, "nothing changed")

		resp, _ = a.post("/dashboard/kinds/pdf.render/limits", url.Values{"_csrf": {token}, "max_running": {"2"}, "rate_n": {"100"}, "rate_per": {"1m"}})
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		limits, err = a.store.Kinds.KindLimits(context.Background())
		require.NoError(t, err)
		require.Equal(t, [3]int64{2, 100, 60}, [3]int64{int64(limits["pdf.render"].MaxRunning), int64(limits["pdf.render"].RateN), limits["pdf.render"].RatePerSeconds})
		_, doc = a.get("/dashboard/kinds/pdf.render")
		require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), "Limits of pdf.render saved: at most 2 at once · 100 per 1m.")
		require.Contains(t, doc.Find(`[data-testid="limits-now"]`).Text(), "At most 2 running at once")
		require.Equal(t, "1m", doc.Find(`#rate_per`).AttrOr("value", ""))
		_, doc = a.get("/dashboard/kinds")
		require.Contains(t, doc.Find(`[data-kind="pdf.render"] [data-testid="kind-limits"]`).Text(), "at most 2 at once · 100 per 1m")

		resp, _ = a.post("/dashboard/kinds/pdf.render/limits", url.Values{"_csrf": {token}, "max_running": {"0"}, "rate_n": {"0"}, "rate_per": {""}})
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		limits, err = a.store.Kinds.KindLimits(context.Background())
		require.NoError(t, err)
		require.Empty(t, limits, "zeros remove the limits")

		resp, _ = a.get("/dashboard/kinds/no.such.kind")
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
		resp, _ = a.post("/dashboard/kinds/pdf.render/limits", url.Values{"max_running": {"1"}, "rate_n": {"0"}})
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "no CSRF token, no change")
	})
}

func TestKindsPageViewerCannotEditLimits(t *testing.T) {
	a := setupWith(t, web.Config{})
	a.addUser("val", models.RoleViewer)
	require.Equal(t, http.StatusSeeOther, a.login("val", password).StatusCode)
	a.enqueue("pdf.render", nil)
	resp, doc := a.get("/dashboard/kinds/pdf.render")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Zero(t, doc.Find(`[data-testid="limits-form"]`).Length(), "a viewer sees no form")
	token := a.csrf("/")
	resp, _ = a.post("/dashboard/kinds/pdf.render/limits", url.Values{"_csrf": {token}, "max_running": {"1"}, "rate_n": {"0"}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	limits, err := a.store.Kinds.KindLimits(context.Background())
	require.NoError(t, err)
	require.Empty(t, limits)
}

func TestKindsAPI(t *testing.T) {
	forEachDialect(t, web.Config{}, func(t *testing.T, a *app) {
		admin, viewer := a.token("ops", models.RoleAdmin), a.token("grafana", models.RoleViewer)
		a.enqueue("pdf.render", nil, jobs.Queue("pdf"))
		a.enqueue("pdf.render", nil, jobs.Queue("pdf"))
		a.runJobs("pdf", 1, models.JobSucceeded, 30*time.Millisecond, "")
		a.runJobs("pdf", 1, models.JobFailed, 3*time.Millisecond, "out of paper\ntrace")

		resp, body := a.apiCall("GET", "/api/v1/kinds/pdf.render", viewer, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, map[string]any{"succeeded": 1.0, "failed": 1.0}, body["counts"])
		day := body["last_24h"].(map[string]any)
		require.Equal(t, 1.0, day["succeeded"])
		require.Equal(t, 30.0, day["max_ms"])
		require.Equal(t, false, body["registered"])
		failures := body["failures"].([]any)
		require.Len(t, failures, 1)
		require.Equal(t, "out of paper", failures[0].(map[string]any)["message"])

		resp, _ = a.apiCall("PUT", "/api/v1/kinds/pdf.render/limits", viewer, map[string]any{"max_running": 2})
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		resp, body = a.apiCall("PUT", "/api/v1/kinds/pdf.render/limits", admin, map[string]any{"max_running": 2, "rate_n": 5, "rate_per": "soon"})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		require.Contains(t, fmt.Sprint(body["errors"]), "body.rate_per")
		resp, body = a.apiCall("PUT", "/api/v1/kinds/pdf.render/limits", admin, map[string]any{"max_running": -1})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "%v", body)
		limits, err := a.store.Kinds.KindLimits(context.Background())
		require.NoError(t, err)
		require.Empty(t, limits, "refused: nothing changed")

		resp, body = a.apiCall("PUT", "/api/v1/kinds/pdf.render/limits", admin, map[string]any{"max_running": 2, "rate_n": 5, "rate_per": "1m"})
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, map[string]any{"max_running": 2.0, "rate_n": 5.0, "rate_per": "1m"}, body["limits"])
		limits, err = a.store.Kinds.KindLimits(context.Background())
		require.NoError(t, err)
		require.Equal(t, 2, limits["pdf.render"].MaxRunning)

		resp, body = a.apiCall("GET", "/api/v1/kinds/no.such", viewer, nil)
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
		require.Contains(t, body["detail"], "No kind")
		// A name no kind can have says why, as the rule words it.
		resp, body = a.apiCall("GET", "/api/v1/kinds/pdf%09render", viewer, nil)
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
		require.Contains(t, body["detail"], `No kind "pdf\trender": A kind may not hold tabs`)
	})
}

// Kinds may be any text: each page is reached through the link the list gives, and the API
// through the same encoding, whatever the name holds.
func TestKindNamesInPaths(t *testing.T) {
	forEachDialect(t, web.Config{LocalNoAuth: true}, func(t *testing.T, a *app) {
		names := []string{"50%off", "a/b c?d#e;f", "x%41", "xA", "naïve kind", "100%25"}
		for _, n := range names {
			a.enqueue(n, nil)
		}
		_, doc := a.get("/dashboard/kinds")
		for _, n := range names {
			href, ok := doc.Find(`[data-testid="kind-row"]`).FilterFunction(func(_ int, s *goquery.Selection) bool {
				return s.AttrOr("data-kind", "") == n
			}).Find(`[data-testid="kind-link"]`).Attr("href")
			require.True(t, ok, "a link to %q", n)
			resp, page := a.get(href)
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s for %q", href, n)
			require.Equal(t, n, strings.TrimSpace(page.Find("h1").Text()), "%s opens %q", href, n)

			resp, body := a.apiCall("GET", "/api/v1/kinds/"+url.PathEscape(n), "", nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, "API for %q: %v", n, body)
			require.Equal(t, n, body["name"])
		}
		token := a.csrf("/dashboard/kinds/xA")
		resp, _ := a.post("/dashboard/kinds/"+url.PathEscape("a/b c?d#e;f")+"/limits", url.Values{"_csrf": {token}, "max_running": {"4"}, "rate_n": {"0"}})
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		resp, body := a.apiCall("PUT", "/api/v1/kinds/"+url.PathEscape("x%41")+"/limits", "", map[string]any{"max_running": 7})
		require.Equal(t, http.StatusOK, resp.StatusCode, "%v", body)
		limits, err := a.store.Kinds.KindLimits(context.Background())
		require.NoError(t, err)
		require.Equal(t, map[string]int{"a/b c?d#e;f": 4, "x%41": 7}, map[string]int{"a/b c?d#e;f": limits["a/b c?d#e;f"].MaxRunning, "x%41": limits["x%41"].MaxRunning})
		require.Len(t, limits, 2, "no other kind got a limit")

		for _, bad := range []string{"%FF", "%00", "%E2%28%A1"} {
			resp, _ = a.apiCall("GET", "/api/v1/kinds/"+bad, "", nil)
			require.Contains(t, []int{http.StatusNotFound, http.StatusUnprocessableEntity}, resp.StatusCode, "GET %s", bad)
			resp, _ = a.get("/dashboard/kinds/" + bad)
			require.Contains(t, []int{http.StatusNotFound, http.StatusBadRequest}, resp.StatusCode, "page %s", bad)
		}
	})
}

// On the kinds page a zero count is muted (a link still, but not in the link colour of an
// alert), and a kind that ran draws its day: a baseline over the 24 hours with a bar for each
// hour it ran.
func TestKindsPageMutesZerosAndDrawsTheDay(t *testing.T) {
	a := setup(t)
	require.NoError(t, a.engine.Register("pdf.render", func(context.Context, *models.Job) error { return nil }, jobs.Queue("pdf")))
	a.enqueue("pdf.render", nil)
	a.enqueue("pdf.render", nil)
	a.runJobs("pdf", 1, models.JobSucceeded, 40*time.Millisecond, "")

	_, doc := a.get("/dashboard/kinds")
	row := doc.Find(`[data-kind="pdf.render"]`)
	waiting, failed := row.Find(`[data-testid="waiting"]`), row.Find(`[data-testid="failed-all"]`)
	require.Equal(t, "1", waiting.Text())
	require.False(t, waiting.HasClass("count-zero"), "a count above zero is a plain link")
	require.Equal(t, "0", failed.Text())
	require.True(t, failed.HasClass("count-zero"), "a zero is muted")
	require.Equal(t, "/dashboard/jobs?kind=pdf.render&state=failed", failed.AttrOr("href", ""), "and still a link")
	spark := row.Find(`[data-testid="sparkline"]`)
	require.Equal(t, 1, spark.Find("line.spark-base").Length(), "the day's baseline")
	require.Equal(t, "120.0", spark.Find("line.spark-base").AttrOr("x2", ""), "across the whole sparkline")
	require.Equal(t, 1, spark.Find("rect.series-succeeded").Length(), "this hour's run")

	_, doc = a.get("/dashboard/queues")
	q := doc.Find(`[data-queue="pdf"]`)
	require.True(t, q.Find(`[data-testid="failed"]`).HasClass("count-zero"), "the queues page mutes its zeros too")
	require.False(t, q.Find(`[data-testid="enqueued"]`).HasClass("count-zero"))
}
