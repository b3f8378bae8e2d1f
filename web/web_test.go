package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/metrics"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/secrets"
	"github.com/kilnhq/kiln/tasks"
	"github.com/kilnhq/kiln/web"
)

// app is a Kiln web server on a real SQLite database, with a browser-like client: a cookie jar,
// and redirects reported instead of followed.
type app struct {
	t       *testing.T
	store   *models.Store
	engine  *jobs.Engine
	vault   *secrets.Vault
	server  *httptest.Server
	client  *http.Client
	openapi *spec // the API's document, fetched once (see spec_test.go)
}

// setup serves with local requests acting as an admin (the test client is on loopback);
// setupWith takes the whole config, for tests of login and roles.
func setup(t *testing.T) *app {
	t.Helper()
	return setupWith(t, web.Config{LocalNoAuth: true})
}

func setupWith(t *testing.T, cfg web.Config) *app {
	t.Helper()
	return setupDSN(t, cfg, modeltest.SQLiteDSN(t))
}

// forEachDialect runs fn as subtests named sqlite and postgres, each with an app on a fresh
// database of that dialect.
func forEachDialect(t *testing.T, cfg web.Config, fn func(t *testing.T, a *app)) {
	t.Helper()
	for _, d := range modeltest.Dialects {
		t.Run(d.Name, func(t *testing.T) { fn(t, setupDSN(t, cfg, d.DSN(t))) })
	}
}

func setupDSN(t *testing.T, cfg web.Config, dsn string) *app {
	t.Helper()
	return setupLogged(t, cfg, dsn, nil)
}

// setupLogged is setupDSN with the server's log written to log.
func setupLogged(t *testing.T, cfg web.Config, dsn string, log *slog.Logger) *app {
	t.Helper()
	store := modeltest.Open(t, dsn)
	m := metrics.New(store)
	engine, err := jobs.New(store, jobs.Config{NoWorkers: true, Observer: m}) // enqueues; these tests run no jobs
	require.NoError(t, err)
	m.SetEngine(engine)
	if cfg.Metrics == nil {
		cfg.Metrics = m
	}
	vault, err := secrets.Open(context.Background(), store, "")
	require.NoError(t, err)
	if cfg.Secrets == nil {
		cfg.Secrets = vault
	}
	require.NoError(t, engine.RegisterBuiltins(jobs.BuiltinConfig{Secrets: vault, ExecAllow: []string{"/bin/*", "/usr/bin/*"}, ExecAllowEnv: []string{"MODE"}}))
	srv, err := web.New(cfg, store, engine, log)
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &app{t: t, store: store, engine: engine, vault: vault, server: ts, client: newClient(t)}
}

// newClient is a browser-like client: a cookie jar, and redirects reported, not followed.
func newClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
}

// setZone makes the client's pages render in zone, as the browser script would.
func (a *app) setZone(zone string) {
	u, _ := url.Parse(a.server.URL)
	a.client.Jar.SetCookies(u, []*http.Cookie{{Name: "kiln_tz", Value: url.QueryEscape(zone), Path: "/"}})
}

func (a *app) do(req *http.Request) (*http.Response, *goquery.Document) {
	a.t.Helper()
	resp, err := a.client.Do(req)
	require.NoError(a.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(a.t, err)
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
	require.NoError(a.t, err)
	return resp, doc
}

func (a *app) get(path string) (*http.Response, *goquery.Document) {
	a.t.Helper()
	req, err := http.NewRequest(http.MethodGet, a.server.URL+path, nil)
	require.NoError(a.t, err)
	return a.do(req)
}

func (a *app) post(path string, form url.Values) (*http.Response, *goquery.Document) {
	a.t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.server.URL+path, strings.NewReader(form.Encode()))
	require.NoError(a.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return a.do(req)
}

// csrf fetches a page and returns the CSRF token of its first form, as a browser would send it.
func (a *app) csrf(path string) string {
	a.t.Helper()
	resp, doc := a.get(path)
	require.Equal(a.t, http.StatusOK, resp.StatusCode, "GET %s", path)
	token, ok := doc.Find(`input[name="_csrf"]`).First().Attr("value")
	require.True(a.t, ok, "no CSRF field on %s", path)
	require.NotEmpty(a.t, token)
	return token
}

func (a *app) countTasks() int64 {
	a.t.Helper()
	counts, err := a.store.CountTasks(context.Background(), time.Now())
	require.NoError(a.t, err)
	return counts.All
}

func (a *app) createTask(title string, due time.Time) *models.Task {
	a.t.Helper()
	task, err := a.store.CreateTask(context.Background(), models.TaskInput{Title: title, DueAt: due})
	require.NoError(a.t, err)
	return task
}

func rowTitles(doc *goquery.Document) []string {
	var titles []string
	doc.Find(`[data-testid="task-title"]`).Each(func(_ int, s *goquery.Selection) {
		titles = append(titles, strings.TrimSpace(s.Text()))
	})
	return titles
}

func TestCreateTaskThroughForm(t *testing.T) {
	a := setup(t)
	token := a.csrf("/tasks/new")
	resp, _ := a.post("/tasks", url.Values{
		"_csrf": {token}, "title": {"  File the taxes  "}, "description": {"Before the deadline."},
		// 14 March 2027 is the day New York moves to daylight time: 09:30 EDT is 13:30 UTC.
		"due_at": {"2027-03-14T09:30"}, "tz": {"America/New_York"},
	})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/", resp.Header.Get("Location"))

	_, doc := a.get("/")
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), "File the taxes")
	require.Equal(t, []string{"File the taxes"}, rowTitles(doc))
	require.Contains(t, doc.Find(`[data-testid="task-due"] time`).Text(), "Sun 14 Mar 2027, 13:30", "shown in UTC without a zone cookie")
	_, doc = a.get("/")
	require.Empty(t, doc.Find(`[data-testid="flash"]`).Nodes, "a flash shows once")

	a.setZone("America/New_York")
	_, doc = a.get("/")
	require.Contains(t, doc.Find(`[data-testid="task-due"] time`).Text(), "Sun 14 Mar 2027, 09:30", "shown in the viewer's zone")
	require.Contains(t, doc.Text(), "Times are shown in America/New_York")

	tasks, err := a.store.ListTasks(context.Background(), models.TaskFilter{Status: models.TaskAll})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	require.Equal(t, time.Date(2027, 3, 14, 13, 30, 0, 0, time.UTC), tasks[0].DueAt.UTC(), "stored in UTC")
	require.Equal(t, "Before the deadline.", tasks[0].Description)
}

// A task form posted without its time zone (no JavaScript, curl) is read in the viewer's zone
// as last seen, else in the server's, and the flash says which.
func TestCreateTaskWithoutZone(t *testing.T) {
	a := setup(t)
	form := url.Values{"_csrf": {a.csrf("/tasks/new")}, "title": {"No zone"}, "due_at": {"2027-05-01T10:00"}, "tz": {""}}
	resp, _ := a.post("/tasks", form)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, doc := a.get("/")
	server := web.ServerZoneName()
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), "read in "+server+" (the server's zone)")

	a.setZone("Asia/Tokyo")
	form = url.Values{"_csrf": {a.csrf("/tasks/new")}, "title": {"Tokyo"}, "due_at": {"2027-05-01T10:00"}} // no tz field at all
	resp, _ = a.post("/tasks", form)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, doc = a.get("/")
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), "read in Asia/Tokyo (your browser's zone)")

	tasks, err := a.store.ListTasks(context.Background(), models.TaskFilter{Status: models.TaskAll})
	require.NoError(t, err)
	due := map[string]time.Time{}
	for _, task := range tasks {
		due[task.Title] = task.DueAt.UTC()
	}
	loc, err := time.LoadLocation(server)
	require.NoError(t, err)
	require.Equal(t, time.Date(2027, 5, 1, 10, 0, 0, 0, loc).UTC(), due["No zone"])
	require.Equal(t, time.Date(2027, 5, 1, 1, 0, 0, 0, time.UTC), due["Tokyo"], "10:00 in Tokyo")
}

func TestCreateTaskBadInput(t *testing.T) {
	valid := url.Values{"title": {"Plan the offsite"}, "description": {"Venue & <agenda>"}, "due_at": {"2027-05-01T10:00"}, "tz": {"Europe/Berlin"}}
	tests := []struct {
		name, field, value, message string
	}{
		{"empty title", "title", "   ", "Title is required."},
		{"title too long", "title", strings.Repeat("t", 201), "at most 200 characters"},
		{"description too long", "description", strings.Repeat("d", 5001), "at most 5000 characters"},
		{"missing due date", "due_at", "", "Due date is required."},
		{"unparseable due date", "due_at", "next tuesday", "is not a date and time"},
		{"impossible due date", "due_at", "2027-02-30T10:00", "is not a date and time"},
		{"unknown time zone", "tz", "Mars/Olympus_Mons", "Unknown time zone"},
		{"path as time zone", "tz", "../../etc/passwd", "Unknown time zone"},
		{"server-local zone", "tz", "Local", "Unknown time zone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := setup(t)
			form := url.Values{"_csrf": {a.csrf("/tasks/new")}}
			for k, v := range valid {
				form[k] = v
			}
			form.Set(tt.field, tt.value)
			before := a.countTasks()
			resp, doc := a.post("/tasks", form)
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
			require.Equal(t, before, a.countTasks(), "nothing is written")
			require.Contains(t, doc.Find(`[data-testid="error-`+tt.field+`"]`).Text(), tt.message)
			require.Len(t, doc.Find(`.field-error`).Nodes, 1, "only the bad field is marked")
			require.NotEmpty(t, doc.Find(`[data-testid="form-error"]`).Text())
			// Everything typed comes back as typed.
			for _, f := range []string{"title", "due_at", "tz"} {
				got, _ := doc.Find(`input[name="` + f + `"]`).Attr("value")
				require.Equal(t, form.Get(f), got, "field %s keeps its value", f)
			}
			require.Equal(t, form.Get("description"), doc.Find(`textarea[name="description"]`).Text())
			aria, _ := doc.Find(`#` + tt.field).Attr("aria-invalid")
			require.Equal(t, "true", aria)
		})
	}
}

func TestCSRFIsRequired(t *testing.T) {
	a := setup(t)
	task := a.createTask("Keep me", time.Now().Add(time.Hour))
	a.csrf("/tasks/new") // the client now holds a CSRF cookie, as a browser that visited would
	form := url.Values{"title": {"Forged"}, "due_at": {"2027-01-01T10:00"}, "tz": {"UTC"}}
	for _, tc := range []struct{ name, token string }{{"missing", ""}, {"wrong", "not-the-token"}} {
		for _, path := range []string{"/tasks", "/tasks/1", "/tasks/1/complete", "/tasks/1/reopen", "/tasks/1/delete", "/work-items"} {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			if tc.token != "" {
				f.Set("_csrf", tc.token)
			}
			resp, doc := a.post(path, f)
			require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s token on %s", tc.name, path)
			require.Contains(t, doc.Find(`[data-testid="error-message"]`).Text(), "Reload the page")
		}
	}
	// A browser announcing a cross-site form post is refused even with the right token.
	req, err := http.NewRequest(http.MethodPost, a.server.URL+"/tasks/1/complete",
		strings.NewReader(url.Values{"_csrf": {a.csrf("/tasks/new")}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, _ := a.do(req)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	got, err := a.store.GetTask(context.Background(), task.ID)
	require.NoError(t, err)
	require.Equal(t, "Keep me", got.Title)
	require.False(t, got.Completed)
	require.EqualValues(t, 1, a.countTasks())
}

func TestUnknownTask(t *testing.T) {
	a := setup(t)
	token := a.csrf("/tasks/new")
	for _, path := range []string{"/tasks/999/edit", "/tasks/999/delete", "/tasks/abc/edit", "/tasks/-1", "/tasks/99999999999999999999/edit", "/no/such/page"} {
		resp, doc := a.get(path)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, path)
		require.NotEmpty(t, doc.Find(`[data-testid="error-page"]`).Nodes, path)
	}
	valid := url.Values{"_csrf": {token}, "title": {"x"}, "due_at": {"2027-01-01T10:00"}, "tz": {"UTC"}}
	for _, path := range []string{"/tasks/999", "/tasks/999/complete", "/tasks/999/reopen", "/tasks/999/delete"} {
		resp, doc := a.post(path, valid)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, path)
		require.Contains(t, doc.Find(`[data-testid="error-message"]`).Text(), "Task 999 does not exist")
	}
	require.EqualValues(t, 0, a.countTasks())

	req, _ := http.NewRequest(http.MethodGet, a.server.URL+"/tasks/999/edit", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := a.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "application/json")
	var body struct {
		Error struct{ Code, Message string }
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Equal(t, "not_found", body.Error.Code)
	require.Contains(t, body.Error.Message, "Task 999 does not exist")
}

func TestEditTask(t *testing.T) {
	a := setup(t)
	a.setZone("Asia/Tokyo")
	task := a.createTask("Renew passport", time.Date(2027, 6, 1, 0, 30, 0, 0, time.UTC))
	_, doc := a.get("/tasks/1/edit")
	val := func(name string) string { v, _ := doc.Find(`input[name="` + name + `"]`).Attr("value"); return v }
	require.Equal(t, "Renew passport", val("title"))
	require.Equal(t, "2027-06-01T09:30", val("due_at"), "due date shown in the viewer's zone")
	require.Equal(t, "Asia/Tokyo", val("tz"))
	token := val("_csrf")

	resp, doc := a.post("/tasks/1", url.Values{"_csrf": {token}, "title": {""}, "due_at": {"2027-06-02T09:30"}, "tz": {"Asia/Tokyo"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-title"]`).Text(), "Title is required.")
	got, err := a.store.GetTask(context.Background(), task.ID)
	require.NoError(t, err)
	require.Equal(t, "Renew passport", got.Title, "a rejected edit changes nothing")

	resp, _ = a.post("/tasks/1", url.Values{"_csrf": {token}, "title": {"Renew passport and ID"}, "description": {"Photos first"}, "due_at": {"2027-06-02T09:30"}, "tz": {"Asia/Tokyo"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	got, err = a.store.GetTask(context.Background(), task.ID)
	require.NoError(t, err)
	require.Equal(t, "Renew passport and ID", got.Title)
	require.Equal(t, "Photos first", got.Description)
	require.Equal(t, time.Date(2027, 6, 2, 0, 30, 0, 0, time.UTC), got.DueAt.UTC())
}

func TestCompleteReopenDelete(t *testing.T) {
	a := setup(t)
	a.createTask("Call the plumber", time.Now().Add(-time.Hour))
	token := a.csrf("/")

	resp, _ := a.post("/tasks/1/complete", url.Values{"_csrf": {token}, "return_to": {"/?status=overdue"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/?status=overdue", resp.Header.Get("Location"), "back to the tab the action came from")
	_, doc := a.get("/?status=completed")
	require.Equal(t, []string{"Call the plumber"}, rowTitles(doc))
	require.Contains(t, doc.Find(`[data-testid="task-completed"]`).Text(), "by a user")
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), "marked complete")
	require.Equal(t, "Completed", strings.TrimSpace(doc.Find(`[data-testid="badge"]`).Text()))

	resp, _ = a.post("/tasks/1/reopen", url.Values{"_csrf": {token}, "return_to": {"//evil.example/"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/", resp.Header.Get("Location"), "no open redirect")
	_, doc = a.get("/?status=overdue")
	require.Equal(t, []string{"Call the plumber"}, rowTitles(doc))

	_, doc = a.get("/tasks/1/delete")
	require.Contains(t, doc.Find(`[data-testid="confirm-delete"]`).Text(), "Call the plumber")
	require.EqualValues(t, 1, a.countTasks(), "the confirmation page deletes nothing")
	resp, _ = a.post("/tasks/1/delete", url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.EqualValues(t, 0, a.countTasks())
	_, doc = a.get("/")
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), "deleted")
	require.NotEmpty(t, doc.Find(`[data-testid="empty"]`).Nodes)
}

func TestTaskListFilters(t *testing.T) {
	a := setup(t)
	now := time.Now()
	a.createTask("future", now.Add(3*time.Hour))
	a.createTask("past", now.Add(-50*time.Hour))
	done := a.createTask("done", now.Add(-time.Hour))
	_, err := a.store.CompleteTask(context.Background(), done.ID, models.CompletedBySweeper, now)
	require.NoError(t, err)

	_, doc := a.get("/")
	counts := map[string]string{}
	doc.Find(`[data-testid="tab"]`).Each(func(_ int, s *goquery.Selection) {
		counts[strings.TrimSpace(strings.TrimSuffix(s.Text(), s.Find(".tab-count").Text()))] = s.Find(".tab-count").Text()
	})
	require.Equal(t, map[string]string{"All": "3", "Pending": "1", "Overdue": "1", "Completed": "1"}, counts)
	require.Equal(t, []string{"past", "done", "future"}, rowTitles(doc))

	_, doc = a.get("/?status=pending")
	require.Equal(t, []string{"future"}, rowTitles(doc))
	require.Contains(t, doc.Find(`[data-testid="task-due"] .rel`).Text(), "in 2 h") // just under 3 h by now
	_, doc = a.get("/?status=overdue")
	require.Equal(t, []string{"past"}, rowTitles(doc))
	require.Contains(t, doc.Find(`[data-testid="task-due"] .rel`).Text(), "2 days ago")
	require.Equal(t, "Overdue", strings.TrimSpace(doc.Find(`[data-testid="badge"]`).Text()))
	_, doc = a.get("/?status=completed")
	require.Equal(t, []string{"done"}, rowTitles(doc))
	require.Contains(t, doc.Find(`[data-testid="task-completed"]`).Text(), "by the overdue sweeper")

	for _, q := range []string{"?status=done", "?page=0", "?page=abc", "?page=-3"} {
		resp, doc := a.get("/" + q)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, q)
		require.NotEmpty(t, doc.Find(`[data-testid="error-message"]`).Text(), q)
	}
}

func TestTaskListPages(t *testing.T) {
	a := setup(t)
	tasks := make([]models.Task, 120)
	for i := range tasks {
		tasks[i] = models.Task{Title: "t", DueAt: time.Now().Add(time.Duration(i+1) * time.Hour).UTC()}
	}
	require.NoError(t, modeltest.DB(a.store).Create(&tasks).Error)
	_, doc := a.get("/")
	require.Len(t, doc.Find(`[data-testid="task-row"]`).Nodes, 50)
	require.Contains(t, doc.Find(".pager").Text(), "Page 1 of 3")
	_, doc = a.get("/?page=3")
	require.Len(t, doc.Find(`[data-testid="task-row"]`).Nodes, 20)
	_, doc = a.get("/?page=4")
	require.Contains(t, doc.Find(`[data-testid="empty"]`).Text(), "past the end")
}

func TestPagesEscapeUserInput(t *testing.T) {
	a := setup(t)
	a.createTask(`<script>alert("x")</script>`, time.Now().Add(time.Hour))
	resp, err := a.client.Get(a.server.URL + "/")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.NotContains(t, string(body), `<script>alert`)
	require.Contains(t, string(body), `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`)
}

func TestQueueWorkItem(t *testing.T) {
	a := setup(t)
	a.createTask("Anything", time.Now().Add(time.Hour))
	token := a.csrf("/")
	resp, _ := a.post("/work-items", url.Values{"_csrf": {token}, "return_to": {"/?status=pending"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/?status=pending", resp.Header.Get("Location"))
	recent := modeltest.RecentJobs(t, a.store, 10)
	require.Len(t, recent, 1)
	require.Equal(t, tasks.KindCountdown, recent[0].Kind)
	require.Equal(t, models.JobEnqueued, recent[0].State)
	_, doc := a.get("/?status=pending")
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), fmt.Sprintf("job #%d", recent[0].ID))
	events, err := a.store.JobEvents(context.Background(), recent[0].ID)
	require.NoError(t, err)
	require.Equal(t, "enqueued by local", events[0].Reason, "who queued it is in its history")
}

func TestOverview(t *testing.T) {
	a := setup(t)
	ctx := context.Background()
	var made []*models.Job
	for i := range 4 {
		j := a.enqueue("report.build", map[string]int{"n": i})
		made = append(made, j)
		state := models.JobSucceeded
		errText := ""
		if i == 3 {
			state, errText = models.JobFailed, "disk full\nat line 3"
		}
		a.finish(j, state, errText)
	}
	a.enqueue("report.build", nil)
	a.enqueue("report.later", nil, jobs.RunAt(time.Now().Add(time.Hour)))
	_, err := a.store.UpsertRecurring(ctx, &models.RecurringJob{Name: "nightly", Spec: "0 2 * * *", TimeZone: "UTC", Kind: "k", Args: "{}", Queue: "default", MaxAttempts: 1, Misfire: "relaxed"}, func() time.Time { return time.Now().Add(time.Hour) })
	require.NoError(t, err)

	for _, path := range []string{"/dashboard", "/dashboard/live"} {
		resp, doc := a.get(path)
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		card := func(key string) string { return doc.Find(`[data-testid="card-` + key + `"] .stat-count`).Text() }
		require.Equal(t, "3", card("succeeded"))
		require.Equal(t, "1", card("failed"))
		require.Equal(t, "1", card("enqueued"))
		require.Equal(t, "1", card("scheduled"))
		require.Equal(t, "1", card("recurring"))
		href, _ := doc.Find(`[data-testid="card-failed"]`).Attr("href")
		require.Equal(t, "/dashboard/jobs?state=failed", href)
		rt := doc.Find(`[data-testid="chart-realtime"]`)
		require.Equal(t, "3", rt.Find(`[data-testid="legend-series-succeeded"] strong`).Text(), "the realtime chart counts what just finished")
		require.Equal(t, "1", rt.Find(`[data-testid="legend-series-failed"] strong`).Text())
		require.Equal(t, "0", rt.Find(`[data-testid="legend-series-rescued"] strong`).Text())
		require.Equal(t, 3, rt.Find("polyline").Length(), "succeeded, failed and rescued")
		require.Contains(t, rt.Find("desc").Text(), "Succeeded 3, Failed 1, Rescued 0")
		poll, _ := doc.Find(`#overview-live`).Attr("hx-trigger")
		require.Equal(t, "every 2s", poll)

		// Recent jobs: the ones that finished (or started) last, latest first, linked.
		recent := doc.Find(`[data-testid="recent-row"]`)
		require.Equal(t, 4, recent.Length(), "the waiting and the scheduled job have not started")
		first := recent.First()
		href, _ = first.Find(`[data-testid="recent-link"]`).Attr("href")
		require.Equal(t, fmt.Sprintf("/dashboard/jobs/%d", made[3].ID), href)
		require.Contains(t, first.Text(), "failed")
		require.Contains(t, first.Text(), "disk full")
		require.NotContains(t, first.Text(), "at line 3", "the error's first line only")
		require.Contains(t, first.Find(`[data-label="When"]`).Text(), "finished")
		all, _ := doc.Find(`[data-testid="all-jobs"]`).Attr("href")
		require.Equal(t, "/dashboard/jobs", all)
	}
	_, doc := a.get("/dashboard")
	history := doc.Find(`[data-testid="chart-history"]`)
	bars := history.Find("rect title").Map(func(_ int, s *goquery.Selection) string { return s.Text() })
	require.Len(t, bars, 2, "only the current hour has finished jobs: one stacked bar of two parts")
	require.Regexp(t, `^Succeeded.*: 3$`, bars[0])
	require.Regexp(t, `^Failed.*: 1$`, bars[1])
	require.Len(t, history.Find("text.chart-label").Nodes, 6+5, "an hour label every 4 hours, and 5 gridline labels")
	require.Equal(t, "3", history.Find(`[data-testid="legend-series-succeeded"] strong`).Text())
	_, doc = a.get("/dashboard?history=7d")
	require.Contains(t, doc.Find(`[data-testid="chart-history"] desc`).Text(), "per day")
	require.Equal(t, "3", doc.Find(`[data-testid="chart-history"] [data-testid="legend-series-succeeded"] strong`).Text())
	resp, _ := a.get("/dashboard?history=1y")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	_, doc = a.get("/dashboard/live?history=7d")
	require.Empty(t, doc.Find("header.topbar").Nodes, "the live part comes without the layout")
	require.Contains(t, doc.Find(`[data-testid="chart-history"] desc`).Text(), "per day", "the history chart updates live too, in its range")
	poll, _ := doc.Find(`#overview-live`).Attr("hx-get")
	require.Equal(t, "/dashboard/live?history=7d", poll)
}

// A job cancelled before it ran is in Recent jobs as finished, not as running.
func TestRecentJobsCancelledBeforeItRan(t *testing.T) {
	a := setup(t)
	j := a.enqueue("report.build", nil, jobs.RunAt(time.Now().Add(time.Hour)))
	_, _, err := a.store.CancelJob(context.Background(), j.ID, "not needed")
	require.NoError(t, err)
	_, doc := a.get("/dashboard")
	row := doc.Find(`[data-testid="recent-row"]`)
	require.Equal(t, 1, row.Length())
	require.Contains(t, row.Text(), "cancelled")
	require.NotContains(t, row.Text(), "running")
	require.Contains(t, row.Find(`[data-label="When"]`).Text(), "finished")
}

// syncBuffer is a log that a server's goroutines write while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
