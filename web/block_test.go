package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
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
	_, err := a.store.Jobs.InsertJobs(context.Background(), []*models.Job{j}, time.Now())
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
	require.NoError(t, a.store.Jobs.AppendJobLogs(ctx, lines))

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
		require.Contains(t, doc.Find(`[data-testid="logs-earlier"] a`).AttrOr("href", ""), "/log.txt")
		require.Less(t, doc.Find(`[data-testid="job-logs"] li`).Length(), 3000, "the log is cut")
		require.Equal(t, "line 2999 "+strings.Repeat("&", 40), doc.Find(`[data-testid="job-logs"] .log-message`).Last().Text(), "its newest lines")
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

// The response's Content-Type is cut for the page: a server sending 200 KB of '"' as its type
// made a page of 1.07 MB (each '"' is 5 bytes escaped), kept whole before results were cut.
func TestHTTPResponseContentTypeIsCut(t *testing.T) {
	a := setup(t)
	j := a.enqueue("http.request", map[string]any{"url": "https://example.com/"})
	ct := "application/json; x=" + strings.Repeat(`"`, 200<<10)
	result, err := json.Marshal(builtin.HTTPResponse{Status: 200, Headers: map[string]string{"Content-Type": ct}, Body: `{"ok":true}`, BodyBytes: 11})
	require.NoError(t, err)
	a.finishWith(j, models.JobSucceeded, string(result))
	for _, path := range []string{fmt.Sprintf("/dashboard/jobs/%d", j.ID), fmt.Sprintf("/dashboard/jobs/%d/live", j.ID)} {
		resp, page := a.getRaw(path)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Less(t, len(page), 128<<10, "%s weighs %d bytes", path, len(page))
		doc, err := goquery.NewDocumentFromReader(strings.NewReader(page))
		require.NoError(t, err)
		shown := doc.Find(`[data-testid="http-content-type"]`).Text()
		require.True(t, strings.HasPrefix(shown, `application/json; x=""`), shown)
		require.True(t, strings.HasSuffix(shown, "…"), "says it was cut")
		require.Contains(t, doc.Find(`[data-testid="http-body"]`).Text(), "\"ok\": true", "still read as JSON")
	}
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
	require.Contains(t, doc.Find(`[data-testid="args-too-big"]`).Text(), "which take up to 1 MB")
	require.Equal(t, fmt.Sprintf("/dashboard/jobs/%d/args.json", big.ID), doc.Find(`[data-testid="args-download"]`).AttrOr("href", ""))
	require.Empty(t, doc.Find(`textarea[name="args"]`).Nodes)
	require.Empty(t, doc.Find(`[data-testid="enqueue"]`).Nodes, "nothing to send without the arguments")
	require.Equal(t, "reports", doc.Find(`input[name="queue"]`).AttrOr("value", ""), "the options are still copied")

	// Deep arguments from before the check: the copy is shown compact, and refused if sent.
	deep := a.storeJob(&models.Job{Kind: "probe.nested", Args: strings.Repeat("[", 70) + strings.Repeat("]", 70)})
	_, doc = a.get(fmt.Sprintf("/dashboard/jobs/new?from=%d", deep.ID))
	require.Contains(t, doc.Find(`textarea[name="args"]`).Text(), strings.Repeat(" ", 64)+"[[[")
}

// Duplicate (and editing a recurring job) copies lists of up to formMaxRows (100) rows; longer
// ones would be lost on sending, as the form keeps 100, so the form says so, offers the
// arguments as a download and can't be sent. 2,500 empty headers, within the byte budget, made
// a form of 737 KB; here 2,000, within today's budget (which counts a '"' as its escape).
func TestDuplicateOfTooManyRowsForTheForm(t *testing.T) {
	a := setup(t)
	many := func(n int, value string) map[string]string {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprintf("%x", i)] = value
		}
		return m
	}
	argv := []string{"/bin/echo"}
	for i := range 150 {
		argv = append(argv, fmt.Sprint(i))
	}
	for _, tc := range []struct {
		kind string
		args any
		says string
	}{
		{"http.request", builtin.HTTPRequestArgs{URL: "https://example.com/", Headers: many(2000, "")}, "2000 headers"},
		{"exec", builtin.ExecArgs{Command: argv}, "150 arguments"},
		{"exec", builtin.ExecArgs{Command: []string{"/bin/env"}, Env: many(101, "1")}, "101 environment variables"},
	} {
		raw, err := json.Marshal(tc.args)
		require.NoError(t, err)
		j := a.storeJob(&models.Job{Kind: tc.kind, Args: string(raw)})
		resp, body := a.getRaw(fmt.Sprintf("/dashboard/jobs/new?from=%d", j.ID))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Less(t, len(body), 64<<10, "%s: the rows are not in the page (%d bytes)", tc.says, len(body))
		doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
		require.NoError(t, err)
		require.Contains(t, doc.Find(`[data-testid="args-too-big"]`).Text(), tc.says)
		require.Contains(t, doc.Find(`[data-testid="args-too-big"]`).Text(), "100")
		require.Equal(t, fmt.Sprintf("/dashboard/jobs/%d/args.json", j.ID), doc.Find(`[data-testid="args-download"]`).AttrOr("href", ""))
		require.Empty(t, doc.Find(`[data-testid="enqueue"]`).Nodes, "%s: nothing to send without the rows", tc.says)
	}

	raw, err := json.Marshal(builtin.HTTPRequestArgs{URL: "https://example.com/", Headers: many(2000, "")})
	require.NoError(t, err)
	rj, err := a.store.Recurring.UpsertRecurring(context.Background(), &models.RecurringJob{Name: "hook", Spec: "@daily", TimeZone: "UTC", Kind: "http.request",
		Args: string(raw), Queue: "default", MaxAttempts: 3, Misfire: models.MisfireRelaxed, CreatedBy: "ada"}, func() time.Time { return time.Now().Add(time.Hour) })
	require.NoError(t, err)
	resp, body := a.getRaw(fmt.Sprintf("/dashboard/recurring/%d/edit", rj.ID))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Less(t, len(body), 64<<10)
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	require.NoError(t, err)
	require.Contains(t, doc.Find(`[data-testid="args-too-big"]`).Text(), "2000 headers")
	require.Empty(t, doc.Find(`[data-testid="submit"]`).Nodes)
}

// A running job whose log is longer than its page holds shows its newest lines, on the page
// and in the live part polled every 2 seconds, says how many earlier ones it leaves out and
// links to log.txt; a line written later appears at the next poll, and a newest line longer
// than the page holds is cut.
func TestJobPageShowsTheNewestLogLines(t *testing.T) {
	a := setup(t)
	ctx := context.Background()
	j := a.storeJob(&models.Job{Kind: "probe.log", Args: "{}"})
	_, err := a.store.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: j.Queue, ServerID: "srv-1", Limit: 1, Lease: time.Minute, Now: time.Now()})
	require.NoError(t, err)
	line := func(i int) string { return fmt.Sprintf("line %d %s", i, strings.Repeat("x", 100)) }
	var lines []models.JobLog
	for i := range 3000 {
		lines = append(lines, models.JobLog{JobID: j.ID, Attempt: 1, At: time.Now(), Message: line(i)})
	}
	require.NoError(t, a.store.Jobs.AppendJobLogs(ctx, lines))
	logsOf := func(path string) (*goquery.Selection, *goquery.Document) {
		resp, body := a.getRaw(path)
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		require.Less(t, len(body), pageBudget, "%s weighs %d bytes", path, len(body))
		doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
		require.NoError(t, err)
		return doc.Find(`[data-testid="job-logs"] .log-message`), doc
	}
	page, live := fmt.Sprintf("/dashboard/jobs/%d", j.ID), fmt.Sprintf("/dashboard/jobs/%d/live", j.ID)
	for _, path := range []string{page, live} {
		msgs, doc := logsOf(path)
		shown := msgs.Length()
		require.Less(t, shown, 3000, "the log is cut")
		require.Greater(t, shown, 100)
		require.Equal(t, line(2999), msgs.Last().Text(), "%s shows the newest line", path)
		require.Equal(t, line(3000-shown), msgs.First().Text(), "and the lines before it, in order")
		earlier := doc.Find(`[data-testid="logs-earlier"]`)
		require.Contains(t, earlier.Text(), fmt.Sprintf("%d earlier lines", 3000-shown))
		require.Equal(t, fmt.Sprintf("/dashboard/jobs/%d/log.txt", j.ID), earlier.Find("a").AttrOr("href", ""))
	}

	require.NoError(t, modeltest.AppendJobLog(ctx, a.store, j.ID, 1, time.Now(), line(3000)))
	msgs, _ := logsOf(live)
	require.Equal(t, line(3000), msgs.Last().Text(), "a new line appears at the next poll")

	require.NoError(t, modeltest.AppendJobLog(ctx, a.store, j.ID, 1, time.Now(), "last "+strings.Repeat("&", models.JobErrorMax-5)))
	msgs, doc := logsOf(live)
	require.Equal(t, 1, msgs.Length(), "alone, it is longer than the page holds")
	require.True(t, strings.HasPrefix(msgs.Text(), "last &&&"))
	require.Contains(t, doc.Find(`[data-testid="job-logs"]`).Parent().Find(`[data-testid="block-cut"]`).Text(), "of 16 KB")
	require.Contains(t, doc.Find(`[data-testid="logs-earlier"]`).Text(), "3001 earlier lines")
}
