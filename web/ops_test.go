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

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

func (a *app) recurring(name, spec string) *models.RecurringJob {
	a.t.Helper()
	return a.recurringIn(name, spec, "UTC")
}

func (a *app) recurringIn(name, spec, tz string) *models.RecurringJob {
	a.t.Helper()
	sched, err := jobs.ParseSchedule(spec, tz)
	require.NoError(a.t, err)
	rj, err := a.store.Recurring.UpsertRecurring(context.Background(), &models.RecurringJob{
		Name: name, Spec: spec, TimeZone: tz, Kind: "report.build", Args: "{}", Queue: "default", MaxAttempts: 3, Misfire: models.MisfireRelaxed,
	}, func() time.Time { return sched.Next(time.Now()) })
	require.NoError(a.t, err)
	return rj
}

func TestRecurringPage(t *testing.T) {
	a := setup(t)
	rj := a.recurring("nightly-report", "0 2 * * *")
	base := "/dashboard/recurring/" + strconv.FormatInt(rj.ID, 10)

	_, doc := a.get("/dashboard/recurring")
	row := doc.Find(`[data-testid="recurring-row"]`)
	require.Equal(t, "0 2 * * *", row.Find(`[data-testid="spec"]`).Text())
	require.Equal(t, "at 02:00 every day", row.Find(`[data-testid="describe"]`).Text())
	next := row.Find(`[data-testid="next-runs"] time`).Map(func(_ int, s *goquery.Selection) string { return s.Text() })
	require.Len(t, next, 3, "the next three runs")
	for _, n := range next {
		require.Contains(t, n, "02:00")
	}
	require.Contains(t, row.Text(), "never")
	require.Empty(t, row.Find(`[data-testid="kind-last"]`).Nodes)

	// A job of the entry's kind that came from elsewhere (start-up, the API) is shown beside
	// "not yet by this schedule", not hidden behind "never".
	other := &models.Job{Kind: "report.build", Queue: "default", Args: "{}", MaxAttempts: 1}
	_, err := a.store.Jobs.InsertJobs(context.Background(), []*models.Job{other}, time.Now())
	require.NoError(t, err)
	_, doc = a.get("/dashboard/recurring")
	row = doc.Find(`[data-testid="recurring-row"]`)
	require.Contains(t, row.Find(`[data-testid="not-yet"]`).Text(), "not yet by this schedule")
	href, _ := row.Find(`[data-testid="kind-last"] a`).Attr("href")
	require.Equal(t, "/dashboard/jobs/"+strconv.FormatInt(other.ID, 10), href)
	require.Contains(t, row.Find(`[data-testid="kind-last"]`).Text(), "enqueued")

	token := a.csrf("/dashboard/recurring")
	resp, _ := a.post(base+"/trigger", url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, doc = a.get("/dashboard/recurring")
	triggered := other.ID + 1
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), fmt.Sprintf("triggered as job #%d", triggered))
	last, _ := doc.Find(`[data-testid="last-job"]`).Attr("href")
	require.Equal(t, fmt.Sprintf("/dashboard/jobs/%d", triggered), last)
	require.Empty(t, doc.Find(`[data-testid="kind-last"]`).Nodes, "the schedule's own run is shown once it has one")
	events, err := a.store.JobQueries.JobEvents(context.Background(), triggered)
	require.NoError(t, err)
	require.Equal(t, "triggered now from recurring job nightly-report by local", events[0].Reason)

	a.post(base+"/pause", url.Values{"_csrf": {token}})
	_, doc = a.get("/dashboard/recurring")
	require.Contains(t, doc.Find(`[data-testid="recurring-row"]`).Text(), "paused")
	require.NotEmpty(t, doc.Find(`[data-testid="resume"]`).Nodes)
	got, err := a.store.Recurring.GetRecurring(context.Background(), "nightly-report")
	require.NoError(t, err)
	require.True(t, got.Paused)
	a.post(base+"/resume", url.Values{"_csrf": {token}})
	got, err = a.store.Recurring.GetRecurring(context.Background(), "nightly-report")
	require.NoError(t, err)
	require.False(t, got.Paused)

	// Edit the schedule: a bad cron comes back with the error beside the field.
	_, doc = a.get(base + "/edit")
	spec, _ := doc.Find(`input[name="spec"]`).Attr("value")
	require.Equal(t, "0 2 * * *", spec)
	resp, doc = a.post(base+"/edit", url.Values{"_csrf": {token}, "spec": {"0 25 * * *"}, "tz": {"Europe/Berlin"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-spec"]`).Text(), "0 25 * * *")
	typed, _ := doc.Find(`input[name="tz"]`).Attr("value")
	require.Equal(t, "Europe/Berlin", typed, "typed values are kept")
	resp, doc = a.post(base+"/edit", url.Values{"_csrf": {token}, "spec": {"0 3 * * *"}, "tz": {"Nowhere/Town"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-tz"]`).Text(), "Unknown time zone")
	got, err = a.store.Recurring.GetRecurring(context.Background(), "nightly-report")
	require.NoError(t, err)
	require.Equal(t, "0 2 * * *", got.Spec, "nothing saved")

	resp, _ = a.post(base+"/edit", url.Values{"_csrf": {token}, "spec": {"30 6 * * 1-5"}, "tz": {"Europe/Berlin"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, doc = a.get("/dashboard/recurring")
	require.Equal(t, "at 06:30 on weekdays", doc.Find(`[data-testid="describe"]`).Text())
	require.Contains(t, doc.Find(`[data-testid="recurring-row"]`).Text(), "edited")
	require.Equal(t, "overlap: allow", doc.Find(`[data-testid="overlap"]`).Text())

	// The overlap policy: a bad one is refused beside its field; a good one is saved and shown,
	// with the skips it counted.
	resp, doc = a.post(base+"/edit", url.Values{"_csrf": {token}, "spec": {"30 6 * * 1-5"}, "tz": {"Europe/Berlin"}, "overlap": {"sometimes"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-overlap"]`).Text(), "Choose one")
	resp, _ = a.post(base+"/edit", url.Values{"_csrf": {token}, "spec": {"30 6 * * 1-5"}, "tz": {"Europe/Berlin"}, "overlap": {"skip"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, err = a.store.Recurring.UpdateRecurring(context.Background(), "nightly-report", func(_ models.Tx, rj *models.RecurringJob) error {
		at := time.Now().UTC()
		rj.Skipped, rj.LastSkippedAt = 3, &at
		return nil
	})
	require.NoError(t, err)
	_, doc = a.get("/dashboard/recurring")
	require.Equal(t, "overlap: skip", doc.Find(`[data-testid="overlap"]`).Text())
	require.Contains(t, doc.Find(`[data-testid="skipped"]`).Text(), "skipped 3 occurrences while the run before had not finished")
	_, doc = a.get(base + "/edit")
	require.Equal(t, "skip", doc.Find(`input[name="overlap"][checked]`).AttrOr("value", ""))

	for _, path := range []string{"/dashboard/recurring/999/edit", "/dashboard/recurring/x/edit"} {
		resp, _ := a.get(path)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, path)
	}
	resp, _ = a.post(base+"/explode", url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestRecurringViewerForbidden(t *testing.T) {
	a := setupWith(t, web.Config{})
	a.addUser("val", models.RoleViewer)
	a.login("val", password)
	rj := a.recurring("nightly-report", "0 2 * * *")
	_, doc := a.get("/dashboard/recurring")
	require.Empty(t, doc.Find(`[data-testid="pause"]`).Nodes)
	token := a.csrf("/dashboard/recurring")
	base := "/dashboard/recurring/" + strconv.FormatInt(rj.ID, 10)
	for _, action := range []string{"trigger", "pause", "edit"} {
		resp, _ := a.post(base+"/"+action, url.Values{"_csrf": {token}, "spec": {"* * * * *"}, "tz": {"UTC"}})
		require.Equal(t, http.StatusForbidden, resp.StatusCode, action)
	}
	resp, _ := a.get(base + "/edit")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = a.post("/dashboard/queues/default/pause", url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
}

func TestServersPage(t *testing.T) {
	a := setup(t)
	ctx := context.Background()
	now := time.Now().UTC()
	require.NoError(t, a.store.Servers.UpsertServer(ctx, &models.Server{ID: "alive-1", Host: "kiln-a", PID: 10, StartedAt: now.Add(-time.Hour), HeartbeatAt: now, Queues: "default=10", Workers: 10, Busy: 3}))
	require.NoError(t, a.store.Servers.UpsertServer(ctx, &models.Server{ID: "quiet-2", Host: "kiln-b", PID: 20, StartedAt: now.Add(-time.Hour), HeartbeatAt: now.Add(-time.Minute), Queues: "critical=4", Workers: 4}))
	_, doc := a.get("/dashboard/servers")
	rows := doc.Find(`[data-testid="server-row"]`)
	require.Equal(t, 2, rows.Length())
	require.Contains(t, rows.Eq(0).Text(), "alive-1")
	require.NotContains(t, rows.Eq(0).Text(), "possibly down")
	require.Equal(t, "3 / 10", rows.Eq(0).Find(`[data-testid="busy"]`).Text())
	require.Contains(t, rows.Eq(1).Text(), "possibly down", "silent for three heartbeats")
}

func TestQueuesPage(t *testing.T) {
	a := setup(t)
	a.enqueue("mail.send", nil, jobs.RunAt(time.Now().Add(-2*time.Hour))) // due two hours ago
	a.enqueue("mail.send", nil)
	a.enqueue("report.build", nil, jobs.Queue("low"))
	_, doc := a.get("/dashboard/queues")
	rows := doc.Find(`[data-testid="queue-row"]`)
	require.Equal(t, 2, rows.Length())
	require.Equal(t, "default", rows.Eq(0).AttrOr("data-queue", ""))
	require.Equal(t, "2", rows.Eq(0).Find(`[data-testid="enqueued"]`).Text())
	require.Equal(t, "2 h ago", strings.TrimSpace(rows.Eq(0).Find(`[data-testid="oldest"]`).Text()), "the oldest waiting job's age")

	token := a.csrf("/dashboard/queues")
	resp, _ := a.post("/dashboard/queues/low/pause", url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, doc = a.get("/dashboard/queues")
	low := doc.Find(`[data-queue="low"]`)
	require.Contains(t, low.Text(), "paused")
	require.Contains(t, low.Text(), "by local")
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), "Queue low paused")
	paused, err := a.store.Queues.PausedQueues(context.Background())
	require.NoError(t, err)
	require.True(t, paused["low"])
	a.post("/dashboard/queues/low/resume", url.Values{"_csrf": {token}})
	paused, err = a.store.Queues.PausedQueues(context.Background())
	require.NoError(t, err)
	require.Empty(t, paused)
	resp, _ = a.post("/dashboard/queues/low/explode", url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-queue="low"] [data-testid="workers"]`).Text(), "none", "no live server works low")

	// Every queue a live server works is listed, jobs or not, with its workers; a dead
	// server's queues are not.
	ctx, now := context.Background(), time.Now()
	require.NoError(t, a.store.Servers.UpsertServer(ctx, &models.Server{ID: "a", Host: "kiln-a", PID: 1, StartedAt: now, HeartbeatAt: now, Queues: "default=10,reports=3", Workers: 13}))
	require.NoError(t, a.store.Servers.UpsertServer(ctx, &models.Server{ID: "b", Host: "kiln-b", PID: 2, StartedAt: now, HeartbeatAt: now, Queues: "default=5", Workers: 5}))
	require.NoError(t, a.store.Servers.UpsertServer(ctx, &models.Server{ID: "dead", Host: "kiln-c", PID: 3, StartedAt: now.Add(-time.Hour), HeartbeatAt: now.Add(-time.Hour), Queues: "critical=4", Workers: 4}))
	for _, server := range []string{"a", "dead"} { // a job running on a live server, one held by a dead one
		claimed, err := a.store.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "default", ServerID: server, Limit: 1, Lease: time.Minute, Now: now})
		require.NoError(t, err)
		require.Len(t, claimed, 1)
	}
	_, doc = a.get("/dashboard/queues")
	names := doc.Find(`[data-testid="queue-row"]`).Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("data-queue", "") })
	require.Equal(t, []string{"default", "low", "reports"}, names)
	workers := func(q string) string {
		return strings.Join(strings.Fields(doc.Find(`[data-queue="`+q+`"] [data-testid="workers"]`).Text()), " ")
	}
	require.Equal(t, "1 busy of 15 on 2 servers", workers("default"), "the dead server's job is processing, not busy")
	require.Equal(t, "0 busy of 3 on 1 server", workers("reports"))
	require.Equal(t, "0", doc.Find(`[data-queue="reports"] [data-testid="enqueued"]`).Text())
}

// The recurring page and the schedule form say what the next clock change does to a run.
func TestRecurringClockChangeNotes(t *testing.T) {
	a := setup(t)
	rj := a.recurringIn("backup", "30 2 * * *", "Europe/Berlin")
	a.recurringIn("hourly", "0 * * * *", "UTC")

	_, doc := a.get("/dashboard/recurring")
	backup := doc.Find(`[data-testid="recurring-row"][data-name="backup"]`)
	note := backup.Find(`[data-testid="next-clock-change"]`).Text()
	require.Contains(t, note, "in Europe/Berlin: 02:30 does not exist on ", "Berlin goes forward from 02:00 to 03:00 each March")
	require.Contains(t, note, "(clocks go forward from 02:00 to 03:00): runs at 03:00")
	require.Empty(t, doc.Find(`[data-testid="recurring-row"][data-name="hourly"] [data-testid="next-clock-change"]`).Nodes, "UTC has no clock changes")

	// The form previews what it will save, including the clock changes.
	_, doc = a.get("/dashboard/recurring/" + strconv.FormatInt(rj.ID, 10) + "/edit")
	require.Equal(t, "Runs at 02:30 every day, Europe/Berlin time.", doc.Find(`[data-testid="preview-describe"]`).Text())
	require.Len(t, doc.Find(`[data-testid="preview-runs"] li`).Nodes, 5)
	require.Contains(t, doc.Find(`[data-testid="schedule-preview"] [data-testid="next-clock-change"]`).Text(), "02:30 does not exist on")
	hx, _ := doc.Find(`input[name="spec"]`).Attr("hx-get")
	require.Equal(t, "/dashboard/recurring/preview", hx)
	include, _ := doc.Find(`input[name="spec"]`).Attr("hx-include")
	require.NotContains(t, include, "csrf", "the token never goes in a URL")

	preview := func(spec, tz string) (*http.Response, *goquery.Document) {
		return a.get("/dashboard/recurring/preview?" + url.Values{"spec": {spec}, "tz": {tz}}.Encode())
	}
	resp, doc := preview("30 1 * * *", "America/New_York")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "Runs at 01:30 every day, America/New_York time.", doc.Find(`[data-testid="preview-describe"]`).Text())
	require.Contains(t, doc.Find(`[data-testid="next-clock-change"]`).Text()+doc.Find(`[data-testid="clock-note"]`).Text(), "01:30 happens twice on ")
	resp, doc = preview("0 0 30 2 *", "UTC")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="preview-error"]`).Text(), "never runs: February has no day 30")
	_, doc = preview("* * * * *", "Mars/Olympus")
	require.Contains(t, doc.Find(`[data-testid="preview-error"]`).Text(), "unknown time zone")
	_, doc = preview("0 0 */2 * MON", "UTC")
	require.Equal(t, "Runs at 00:00 on every 2nd day of the month (1, 3, 5, …), if it is a Monday, UTC time.", doc.Find(`[data-testid="preview-describe"]`).Text())
	resp, doc = preview(`<script>alert(1)</script>`, "UTC")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	html, _ := doc.Html()
	require.NotContains(t, html, "<script>alert")
	require.Contains(t, doc.Find(`[data-testid="preview-error"]`).Text(), "<script>alert(1)</script>", "shown, escaped")
	resp, doc = preview(strings.Repeat("* ", 200), "UTC")
	require.Equal(t, http.StatusOK, resp.StatusCode, "htmx swaps only a 200 in: the panel must say why")
	require.Contains(t, doc.Find(`[data-testid="preview-error"]`).Text(), "too long")
	_, doc = preview("0 0 * * 7/2", "UTC")
	require.Contains(t, doc.Find(`[data-testid="preview-error"]`).Text(), "7 is Sunday: write 0/2")

	// A schedule that never runs is refused when saved, saying why.
	token := a.csrf("/dashboard/recurring")
	resp, doc = a.post("/dashboard/recurring/"+strconv.FormatInt(rj.ID, 10)+"/edit", url.Values{"_csrf": {token}, "spec": {"0 0 31 4,6,9,11 *"}, "tz": {"UTC"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-spec"]`).Text(), "never runs: April, June, September or November has no day 31")
	require.Contains(t, doc.Find(`[data-testid="preview-error"]`).Text(), "never runs")
}

// A queue's links to its jobs escape its name: "a+b#c&d" filters on itself, not on "a b".
func TestQueueLinksEscapeTheName(t *testing.T) {
	a := setup(t)
	odd := "a+b#c&d"
	j := a.enqueue("mail.send", nil, jobs.Queue(odd))
	a.enqueue("mail.send", nil, jobs.Queue("a"))
	_, doc := a.get("/dashboard/queues")
	href, ok := doc.Find(`[data-queue="` + odd + `"] [data-testid="enqueued"]`).Attr("href")
	require.True(t, ok)
	link, err := url.Parse(href)
	require.NoError(t, err)
	require.Empty(t, link.Fragment, "nothing of the name is taken for a fragment")
	require.Equal(t, odd, link.Query().Get("queue"))
	resp, doc := a.get(link.RequestURI()) // as a browser follows it
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, []string{strconv.FormatInt(j.ID, 10)}, jobIDs(doc), "exactly that queue's job")
}
