package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/tasks"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// finish claims the job and ends its attempt in the given state, as a worker would.
func (a *app) finish(job *models.Job, state models.JobState, errText string) {
	a.t.Helper()
	ctx := context.Background()
	claimed, err := a.store.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: job.Queue, ServerID: "srv-1", Limit: 100, Lease: time.Minute, Now: time.Now()})
	require.NoError(a.t, err)
	var attempt, run int
	for _, c := range claimed {
		if c.ID == job.ID {
			attempt, run = c.Attempt, c.Runs
		} else { // put the others back as they were
			_, _, err := a.store.Jobs.FinishJobs(ctx, []models.JobFinish{{JobID: c.ID, ServerID: "srv-1", Attempt: c.Attempt, Run: c.Runs, State: models.JobEnqueued, RunAt: time.Now(), RefundAttempt: true, At: time.Now()}})
			require.NoError(a.t, err)
		}
	}
	require.NotZero(a.t, attempt, "job %d was not claimable", job.ID)
	_, _, err = a.store.Jobs.FinishJobs(ctx, []models.JobFinish{{JobID: job.ID, ServerID: "srv-1", Attempt: attempt, Run: run, State: state, Error: errText, At: time.Now(), Duration: 1500 * time.Millisecond}})
	require.NoError(a.t, err)
}

func (a *app) enqueue(kind string, args any, opts ...jobs.Option) *models.Job {
	a.t.Helper()
	j, err := a.engine.Enqueue(context.Background(), kind, args, opts...)
	require.NoError(a.t, err)
	return j
}

func jobIDs(doc *goquery.Document) []string {
	return doc.Find(`[data-testid="job-row"]`).Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("data-job-id", "") })
}

func TestJobsListTabsFiltersAndPages(t *testing.T) {
	a := setup(t)
	for i := range 30 {
		kind, queue := "mail.send", "default"
		if i%3 == 0 {
			kind, queue = "report.build", "low"
		}
		a.enqueue(kind, map[string]any{"n": i, "to": "user" + strconv.Itoa(i) + "@example.com"}, jobs.Queue(queue))
	}
	failed := a.enqueue("mail.send", map[string]string{"to": "bounce@example.com"})
	a.finish(failed, models.JobFailed, "550 mailbox unavailable")
	resp, doc := a.get("/dashboard/jobs")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	tabs := map[string]string{}
	doc.Find(`[data-testid="tab"]`).Each(func(_ int, s *goquery.Selection) {
		tabs[strings.TrimSpace(strings.TrimSuffix(s.Text(), s.Find(".tab-count").Text()))] = s.Find(".tab-count").Text()
	})
	require.Equal(t, "31", tabs["All"])
	require.Equal(t, "30", tabs["Enqueued"])
	require.Equal(t, "1", tabs["Failed"])
	require.Len(t, jobIDs(doc), 20, "20 per page by default")
	require.Equal(t, "31", jobIDs(doc)[0], "newest first")

	older, _ := doc.Find(`[data-testid="older"]`).Attr("href")
	require.Equal(t, "/dashboard/jobs?before=12", older)
	require.Empty(t, doc.Find(`[data-testid="newer"]`).Nodes)
	_, doc = a.get(older)
	require.Equal(t, []string{"11", "10", "9", "8", "7", "6", "5", "4", "3", "2", "1"}, jobIDs(doc))
	newer, _ := doc.Find(`[data-testid="newer"]`).Attr("href")
	require.Equal(t, "/dashboard/jobs?after=11", newer)
	require.Empty(t, doc.Find(`[data-testid="older"]`).Nodes)

	_, doc = a.get("/dashboard/jobs?limit=50")
	require.Len(t, jobIDs(doc), 31)
	_, doc = a.get("/dashboard/jobs?kind=report.build&queue=low")
	require.Len(t, jobIDs(doc), 10)
	lowTabs := map[string]string{}
	doc.Find(`[data-testid="tab"]`).Each(func(_ int, s *goquery.Selection) {
		lowTabs[strings.TrimSpace(strings.TrimSuffix(s.Text(), s.Find(".tab-count").Text()))] = s.Find(".tab-count").Text()
	})
	require.Equal(t, "10", lowTabs["All"], "the tabs count the chosen queue's jobs")
	require.Equal(t, "10", lowTabs["Enqueued"])
	require.Equal(t, "0", lowTabs["Failed"])
	_, doc = a.get("/dashboard/jobs?q=USER7@")
	require.Equal(t, []string{"8"}, jobIDs(doc), "free text over the arguments")
	_, doc = a.get("/dashboard/jobs?state=failed&q=mailbox")
	require.Equal(t, []string{strconv.FormatInt(failed.ID, 10)}, jobIDs(doc), "and over errors")
	require.Equal(t, "550 mailbox unavailable", doc.Find(`[data-testid="job-error"]`).Text())

	// A search looks through a window of job ids at a time, and offers the next, older one.
	modeltest.SetSearchWindow(a.store, 10)
	_, doc = a.get("/dashboard/jobs?q=USER3@")
	require.Empty(t, jobIDs(doc))
	require.Contains(t, doc.Find(`[data-testid="empty"]`).Text(), "No job from #22 on matches.")
	next, _ := doc.Find(`[data-testid="search-older"]`).Attr("href")
	require.Equal(t, "/dashboard/jobs?before=22&q=USER3%40", next)
	_, doc = a.get(next)
	next, _ = doc.Find(`[data-testid="search-older"]`).Attr("href")
	require.Equal(t, "/dashboard/jobs?before=12&q=USER3%40", next)
	_, doc = a.get(next)
	require.Equal(t, []string{"4"}, jobIDs(doc), "found in the third window")
	next, _ = doc.Find(`[data-testid="search-older"]`).Attr("href")
	require.Equal(t, "/dashboard/jobs?before=2&q=USER3%40", next, "one job is left to search")
	_, doc = a.get(next)
	require.Empty(t, jobIDs(doc))
	require.Contains(t, doc.Find(`[data-testid="empty"]`).Text(), "No job matches.")
	require.Empty(t, doc.Find(`[data-testid="search-older"]`).Nodes, "nothing older is left")
	modeltest.SetSearchWindow(a.store, models.DefaultSearchWindow)

	resp, _ = a.get("/dashboard/jobs?id=" + strconv.FormatInt(failed.ID, 10))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/dashboard/jobs/31", resp.Header.Get("Location"))
	for _, bad := range []string{"?state=weird", "?limit=7", "?before=x", "?after=-2", "?id=abc", "?q=" + strings.Repeat("x", 201)} {
		resp, _ := a.get("/dashboard/jobs" + bad)
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, bad)
	}
}

func TestJobDetail(t *testing.T) {
	a := setup(t)
	parent := a.enqueue("report.build", map[string]any{"month": "2026-10", "pages": []int{1, 2}}, jobs.Timeout(time.Minute))
	child, err := a.engine.ContinueWith(context.Background(), parent.ID, "mail.send", map[string]string{"to": "boss@example.com"})
	require.NoError(t, err)
	require.NoError(t, modeltest.AppendJobLog(context.Background(), a.store, parent.ID, 1, time.Now(), "rendering page 1/2"))

	_, doc := a.get("/dashboard/jobs/" + strconv.FormatInt(parent.ID, 10))
	require.Equal(t, "report.build", doc.Find("h1 code").Text())
	require.Contains(t, doc.Find(`[data-testid="job-args"]`).Text(), "\"month\": \"2026-10\"", "arguments as pretty JSON")
	require.Equal(t, "rendering page 1/2", doc.Find(`[data-testid="job-logs"] .log-message`).Text())
	require.Contains(t, doc.Find(`[data-testid="continuations"]`).Text(), "mail.send")
	trigger, _ := doc.Find(`#job-live`).Attr("hx-trigger")
	require.Equal(t, "every 2s", trigger, "a waiting job's page updates itself")
	require.NotEmpty(t, doc.Find(`[data-testid="action-cancel"]`).Nodes)
	require.Empty(t, doc.Find(`[data-testid="action-requeue"]`).Nodes, "requeue is for finished jobs")

	a.finish(parent, models.JobFailed, "boom\ngoroutine 7 [running]:\nmain.go:12")
	_, doc = a.get("/dashboard/jobs/" + strconv.FormatInt(parent.ID, 10) + "/live")
	require.Empty(t, doc.Find("header.topbar").Nodes, "the live part comes without the layout")
	_, hasTrigger := doc.Find(`#job-live`).Attr("hx-trigger")
	require.False(t, hasTrigger, "a final job's page stops polling")
	require.Equal(t, "failed", doc.Find(`#job-live`).AttrOr("data-state", ""))
	require.Contains(t, doc.Find(`[data-testid="job-error"] pre`).Text(), "goroutine 7")
	timeline := doc.Find(`[data-testid="timeline"] li`)
	require.Equal(t, 3, timeline.Length(), "enqueued, processing, failed")
	require.Contains(t, timeline.Eq(1).Text(), "in processing", "time spent in each state")
	require.Contains(t, doc.Find(`[data-testid="attempts"]`).Text(), "1.5 s")
	require.NotEmpty(t, doc.Find(`[data-testid="action-requeue"]`).Nodes)

	_, doc = a.get("/dashboard/jobs/" + strconv.FormatInt(child.ID, 10))
	href, _ := doc.Find(`[data-testid="parent-link"]`).Attr("href")
	require.Equal(t, "/dashboard/jobs/"+strconv.FormatInt(parent.ID, 10), href)

	for _, path := range []string{"/dashboard/jobs/999", "/dashboard/jobs/abc", "/dashboard/jobs/999/live"} {
		resp, _ := a.get(path)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, path)
	}
}

func TestJobActionsAreRecordedWithTheUser(t *testing.T) {
	a := setupWith(t, web.Config{})
	a.addUser("ada", models.RoleAdmin)
	a.login("ada", password)
	job := a.enqueue("mail.send", nil)
	later := a.enqueue("mail.send", nil, jobs.RunAt(time.Now().Add(time.Hour)))
	token := a.csrf("/dashboard/jobs/" + strconv.FormatInt(job.ID, 10))
	path := func(id int64, action string) string {
		return "/dashboard/jobs/" + strconv.FormatInt(id, 10) + "/" + action
	}

	resp, _ := a.post(path(job.ID, "cancel"), url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, doc := a.get(resp.Header.Get("Location"))
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), "cancelled")
	require.Contains(t, doc.Find(`[data-testid="timeline"]`).Text(), "cancelled by ada", "who did it is in the job's history")

	resp, _ = a.post(path(job.ID, "cancel"), url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, doc = a.get(resp.Header.Get("Location"))
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), "already cancelled", "a conflict is explained, not a 500")

	a.post(path(job.ID, "requeue"), url.Values{"_csrf": {token}})
	a.post(path(later.ID, "trigger"), url.Values{"_csrf": {token}})
	a.post(path(later.ID, "delete"), url.Values{"_csrf": {token}})
	got, err := a.store.JobQueries.GetJob(context.Background(), job.ID)
	require.NoError(t, err)
	require.Equal(t, models.JobEnqueued, got.State)
	events, err := a.store.JobQueries.JobEvents(context.Background(), later.ID)
	require.NoError(t, err)
	var reasons []string
	for _, e := range events {
		reasons = append(reasons, e.Reason)
	}
	require.Equal(t, []string{"scheduled for " + later.RunAt.UTC().Format(time.RFC3339), "triggered now by ada", "deleted by ada"}, reasons)

	resp, _ = a.post(path(job.ID, "explode"), url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = a.post(path(job.ID, "cancel"), url.Values{})
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "no CSRF token")
}

func TestViewerCannotActOnJobs(t *testing.T) {
	a := setupWith(t, web.Config{})
	a.addUser("val", models.RoleViewer)
	a.login("val", password)
	job := a.enqueue("mail.send", nil)
	_, doc := a.get("/dashboard/jobs/" + strconv.FormatInt(job.ID, 10))
	require.Empty(t, doc.Find(`[data-testid="job-actions"]`).Nodes, "no action buttons")
	_, doc = a.get("/dashboard/jobs")
	require.Empty(t, doc.Find(`[data-testid="bulkbar"]`).Nodes)
	require.Empty(t, doc.Find(`input[name="ids"]`).Nodes)
	token := a.csrf("/dashboard/jobs") // the logout form carries one
	resp, _ := a.post("/dashboard/jobs/"+strconv.FormatInt(job.ID, 10)+"/cancel", url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = a.post("/dashboard/jobs/bulk", url.Values{"_csrf": {token}, "action": {"delete"}, "scope": {"all"}, "confirm": {"1"}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	got, err := a.store.JobQueries.GetJob(context.Background(), job.ID)
	require.NoError(t, err)
	require.Equal(t, models.JobEnqueued, got.State)
}

func TestBulkActions(t *testing.T) {
	a := setup(t)
	var failed []*models.Job
	for i := range 6 {
		j := a.enqueue("mail.send", map[string]int{"n": i})
		a.finish(j, models.JobFailed, "smtp down")
		failed = append(failed, j)
	}
	other := a.enqueue("report.build", nil)
	token := a.csrf("/tasks/new")

	// The selected jobs.
	resp, _ := a.post("/dashboard/jobs/bulk", url.Values{"_csrf": {token}, "action": {"requeue"}, "return_to": {"/dashboard/jobs?state=failed"},
		"ids": {strconv.FormatInt(failed[0].ID, 10), strconv.FormatInt(failed[1].ID, 10), strconv.FormatInt(other.ID, 10)}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/dashboard/jobs?state=failed", resp.Header.Get("Location"))
	_, doc := a.get("/dashboard/jobs?state=failed")
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), "2 jobs requeued. 1 skipped")
	require.Len(t, jobIDs(doc), 4)

	// All matching: first a confirmation that states N, then the action.
	all := url.Values{"_csrf": {token}, "action": {"delete"}, "scope": {"all"}, "state": {"failed"}, "kind": {"mail.send"}, "return_to": {"/dashboard/jobs?state=failed"}}
	resp, doc = a.post("/dashboard/jobs/bulk", all)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "4", doc.Find(`[data-testid="bulk-count"]`).Text())
	counts, err := a.store.JobQueries.CountJobsByState(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 4, counts[models.JobFailed], "the confirmation changes nothing")
	all.Set("confirm", "4")
	resp, _ = a.post("/dashboard/jobs/bulk", all)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	counts, err = a.store.JobQueries.CountJobsByState(context.Background())
	require.NoError(t, err)
	require.Zero(t, counts[models.JobFailed])
	require.EqualValues(t, 4, counts[models.JobDeleted])
	require.EqualValues(t, 3, counts[models.JobEnqueued], "the report and the two requeued")

	resp, _ = a.post("/dashboard/jobs/bulk", url.Values{"_csrf": {token}, "action": {"explode"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	resp, _ = a.post("/dashboard/jobs/bulk", url.Values{"_csrf": {token}, "action": {"cancel"}, "ids": {"x"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	resp, _ = a.post("/dashboard/jobs/bulk", url.Values{"_csrf": {token}, "action": {"cancel"}, "return_to": {"/dashboard/jobs"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "nothing selected: back with a hint")
}

func TestSweepRunShowsWhatItCompleted(t *testing.T) {
	a := setup(t)
	sweep := a.enqueue(tasks.KindSweepOverdue, nil)
	claimed, err := a.store.Jobs.ClaimJobs(context.Background(), models.ClaimParams{Queue: "default", ServerID: "srv-1", Limit: 1, Lease: time.Minute, Now: time.Now()})
	require.NoError(t, err)
	require.Equal(t, sweep.ID, claimed[0].ID)
	_, _, err = a.store.Jobs.FinishJobs(context.Background(), []models.JobFinish{
		{JobID: sweep.ID, ServerID: "srv-1", Attempt: 1, Run: 1, State: models.JobSucceeded, Result: `{"completed":3}`, At: time.Now()}})
	require.NoError(t, err)
	_, doc := a.get("/dashboard/jobs?kind=" + tasks.KindSweepOverdue)
	require.Equal(t, `→ {"completed":3}`, doc.Find(`[data-testid="job-result-preview"]`).Text(), "a sweep run shows how many tasks it completed")
}

// A waiting job whose kind is at its cap says it waits for a slot.
func TestJobWaitingForASlot(t *testing.T) {
	a := setup(t)
	ctx := context.Background()
	require.NoError(t, a.store.Kinds.SetKindLimits(ctx, "pdf.render", models.KindLimit{MaxRunning: 1}))
	first := a.enqueue("pdf.render", nil)
	second := a.enqueue("pdf.render", nil)
	_, doc := a.get(fmt.Sprintf("/dashboard/jobs/%d", second.ID))
	require.Empty(t, doc.Find(`[data-testid="waiting-for-slot"]`).Nodes, "nothing runs yet: a slot is free")
	claimed, err := a.store.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: first.Queue, ServerID: "srv-1", Limit: 5, Lease: time.Minute, Now: time.Now()})
	require.NoError(t, err)
	require.Len(t, claimed, 1, "the cap holds")
	_, doc = a.get(fmt.Sprintf("/dashboard/jobs/%d", second.ID))
	require.Contains(t, doc.Find(`[data-testid="waiting-for-slot"]`).Text(), "waiting for a slot (1 of 1 of its kind running)")
}
