package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// pageBudget is the most a job page with every block full may weigh: a handful of blocks of
// 64 KB and the page around them.
const pageBudget = 300 << 10

// storeJob stores a job as it is, past the engine's checks: data from before them.
func (a *app) storeJob(j *models.Job) *models.Job {
	a.t.Helper()
	if j.Queue == "" {
		j.Queue = "default"
	}
	j.MaxAttempts = 3
	_, err := a.store.InsertJobs(context.Background(), []*models.Job{j}, time.Now())
	require.NoError(a.t, err)
	return j
}

// getRaw fetches path and returns the response with its whole body.
func (a *app) getRaw(path string) (*http.Response, string) {
	a.t.Helper()
	resp, err := a.client.Get(a.server.URL + path)
	require.NoError(a.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(a.t, err)
	return resp, string(b)
}

// A job whose arguments, result, error and log are huge or deeply nested gets a page (and a
// live fragment) within the budget, each block saying where it was cut and linking to the
// whole value, which is served as stored, to viewers too.
func TestJobPageOfHugeValuesStaysWithinBudget(t *testing.T) {
	a := setupWith(t, web.Config{})
	a.addUser("vic", models.RoleViewer)
	require.Equal(t, http.StatusSeeOther, a.login("vic", password).StatusCode)
	ctx := context.Background()
	j := a.storeJob(&models.Job{Kind: "probe.nested", Args: probeArgs})
	a.finish(j, models.JobFailed, strings.Repeat(`<"boom"> `, 2000))
	var lines []models.JobLog
	for i := range 3000 {
		lines = append(lines, models.JobLog{JobID: j.ID, Attempt: 1, At: time.Now(), Message: fmt.Sprintf("line %d %s", i, strings.Repeat("&", 40))})
	}
	require.NoError(t, a.store.AppendJobLogs(ctx, lines))

	for _, path := range []string{fmt.Sprintf("/dashboard/jobs/%d", j.ID), fmt.Sprintf("/dashboard/jobs/%d/live", j.ID)} {
		resp, body := a.getRaw(path)
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		require.Less(t, len(body), pageBudget, "%s weighs %d bytes", path, len(body))
		doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
		require.NoError(t, err)
		args := doc.Find(`[data-testid="job-args"]`)
		require.True(t, strings.HasPrefix(args.Text(), "[\n  [\n    ["), "indented where it is shallow")
		require.Contains(t, args.Text(), strings.Repeat(" ", 64)+"[[[[", "compact past 32 levels")
		cut := args.Parent().Find(`[data-testid="block-cut"]`)
		require.Contains(t, cut.Text(), "of 88 KB")
		require.Equal(t, fmt.Sprintf("/dashboard/jobs/%d/args.json", j.ID), cut.Find(`a`).AttrOr("href", ""))
		require.Contains(t, doc.Find(`[data-testid="job-logs"]`).Parent().Find(`[data-testid="block-cut"] a`).AttrOr("href", ""), "/log.txt")
		require.Less(t, doc.Find(`[data-testid="job-logs"] li`).Length(), 3000, "the log is cut")
		require.Equal(t, "line 0 "+strings.Repeat("&", 40), doc.Find(`[data-testid="job-logs"] .log-message`).First().Text())
	}

	resp, body := a.getRaw(fmt.Sprintf("/dashboard/jobs/%d/args.json", j.ID))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	require.Equal(t, fmt.Sprintf(`attachment; filename=job-%d-args.json`, j.ID), resp.Header.Get("Content-Disposition"))
	require.Equal(t, probeArgs, body, "as stored")
	resp, body = a.getRaw(fmt.Sprintf("/dashboard/jobs/%d/log.txt", j.ID))
	require.Equal(t, "text/plain; charset=UTF-8", resp.Header.Get("Content-Type"))
	require.Equal(t, 3000, strings.Count(body, "\n"))
	require.Contains(t, body, " #1 line 2999 ")
	_, body = a.getRaw(fmt.Sprintf("/dashboard/jobs/%d/error.txt", j.ID))
	require.True(t, strings.HasPrefix(body, `<"boom"> <"boom">`))
	_, body = a.getRaw(fmt.Sprintf("/dashboard/jobs/%d/history.txt", j.ID))
	require.Contains(t, body, "processing > failed, attempt 1, on srv-1")
	resp, _ = a.getRaw(fmt.Sprintf("/dashboard/jobs/%d/response-body", j.ID))
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "not an http.request job")
	resp, _ = a.getRaw("/dashboard/jobs/999999/args.json")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	a.client.Jar = nil // logged out
	resp, _ = a.getRaw(fmt.Sprintf("/dashboard/jobs/%d/args.json", j.ID))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "behind the login, like the page")
}

// An http.request job's response body is shown within the budget and served whole as text,
// never with the type the remote server gave it.
func TestHTTPResponseBodyIsBudgeted(t *testing.T) {
	a := setup(t)
	j := a.enqueue("http.request", map[string]any{"url": "https://example.com/"})
	body := "<script>" + strings.Repeat("x", 200<<10)
	a.finishWith(j, models.JobSucceeded, fmt.Sprintf(`{"status":200,"headers":{"Content-Type":"text/html"},"body":%q,"body_bytes":%d,"duration_ms":3}`, body, len(body)))
	resp, page := a.getRaw(fmt.Sprintf("/dashboard/jobs/%d", j.ID))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Less(t, len(page), pageBudget)
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(page))
	require.NoError(t, err)
	require.Contains(t, doc.Find(`[data-testid="http-body"]`).Parent().Find(`[data-testid="block-cut"] a`).AttrOr("href", ""), "/response-body")
	resp, raw := a.getRaw(fmt.Sprintf("/dashboard/jobs/%d/response-body", j.ID))
	require.Equal(t, "text/plain; charset=UTF-8", resp.Header.Get("Content-Type"))
	require.Contains(t, resp.Header.Get("Content-Disposition"), "attachment")
	require.Equal(t, body, raw)
}

// Duplicate copies arguments that fit the form; bigger ones are offered as a download
// instead of a textarea of megabytes, and the form can't be sent without them.
func TestDuplicateOfArgsTooBigForTheForm(t *testing.T) {
	a := setup(t)
	small := a.enqueue("report.build", map[string]any{"month": "2026-11"})
	_, doc := a.get(fmt.Sprintf("/dashboard/jobs/new?from=%d", small.ID))
	require.Equal(t, "{\n  \"month\": \"2026-11\"\n}", doc.Find(`textarea[name="args"]`).Text())

	big := a.enqueue("report.build", map[string]any{"rows": strings.Repeat("r", 100<<10)}, jobs.Queue("reports"))
	resp, body := a.getRaw(fmt.Sprintf("/dashboard/jobs/new?from=%d", big.ID))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Less(t, len(body), 64<<10, "the arguments are not in the page")
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	require.NoError(t, err)
	require.Contains(t, doc.Find(`[data-testid="args-too-big"]`).Text(), "100 KB")
	require.Equal(t, fmt.Sprintf("/dashboard/jobs/%d/args.json", big.ID), doc.Find(`[data-testid="args-download"]`).AttrOr("href", ""))
	require.Empty(t, doc.Find(`textarea[name="args"]`).Nodes)
	require.Empty(t, doc.Find(`[data-testid="enqueue"]`).Nodes, "nothing to send without the arguments")
	require.Equal(t, "reports", doc.Find(`input[name="queue"]`).AttrOr("value", ""), "the options are still copied")

	// Deep arguments from before the check: the copy is shown compact, and refused if sent.
	deep := a.storeJob(&models.Job{Kind: "probe.nested", Args: strings.Repeat("[", 70) + strings.Repeat("]", 70)})
	_, doc = a.get(fmt.Sprintf("/dashboard/jobs/new?from=%d", deep.ID))
	require.Contains(t, doc.Find(`textarea[name="args"]`).Text(), strings.Repeat(" ", 64)+"[[[")
}
