package web_test

import (
	"bytes"
	"context"
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

	"github.com/kilnhq/kiln/internal/metrics"
	"github.com/kilnhq/kiln/internal/secrets"
	"github.com/kilnhq/kiln/internal/tasks"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
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
	srv     *web.Server
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
	return setupServed(t, dsn, log, func(string) web.Config { return cfg })
}

// setupServed is setupLogged for a config that names the server's own address (a public URL):
// configure gets it before the server starts.
func setupServed(t *testing.T, dsn string, log *slog.Logger, configure func(url string) web.Config) *app {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	t.Cleanup(ts.Close)
	cfg := configure("http://" + ts.Listener.Addr().String())
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
	if cfg.Alerts.Secrets == nil {
		cfg.Alerts.Secrets = vault
	}
	bcfg := builtin.Config{Secrets: vault, ExecAllow: []string{"/bin/*", "/usr/bin/*"}, ExecAllowEnv: []string{"MODE"}}
	require.NoError(t, builtin.Register(engine, store.Jobs, bcfg))
	cfg.Exec = bcfg.ExecPolicy()
	srv, err := web.New(cfg, store, engine, log)
	require.NoError(t, err)
	ts.Config.Handler = srv.Handler()
	ts.Start()
	return &app{t: t, store: store, engine: engine, vault: vault, server: ts, client: newClient(t), srv: srv}
}

// register makes kinds known to the app's engine, with workers that do nothing (these tests
// run no jobs): the API and the forms take jobs of known kinds only.
func (a *app) register(kinds ...string) {
	a.t.Helper()
	for _, k := range kinds {
		require.NoError(a.t, a.engine.Register(k, func(context.Context, *models.Job) error { return nil }))
	}
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
	counts, err := a.store.Tasks.CountTasks(context.Background(), time.Now())
	require.NoError(a.t, err)
	return counts.All
}

func (a *app) createTask(title string, due time.Time) *models.Task {
	a.t.Helper()
	task, err := a.store.Tasks.CreateTask(context.Background(), models.TaskInput{Title: title, DueAt: due})
	require.NoError(a.t, err)
	return task
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

	got, err := a.store.Tasks.GetTask(context.Background(), task.ID)
	require.NoError(t, err)
	require.Equal(t, "Keep me", got.Title)
	require.False(t, got.Completed)
	require.EqualValues(t, 1, a.countTasks())
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
	events, err := a.store.JobQueries.JobEvents(context.Background(), recent[0].ID)
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
	_, err := a.store.Recurring.UpsertRecurring(ctx, &models.RecurringJob{Name: "nightly", Spec: "0 2 * * *", TimeZone: "UTC", Kind: "k", Args: "{}", Queue: "default", MaxAttempts: 1, Misfire: "relaxed"}, func() time.Time { return time.Now().Add(time.Hour) })
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
		require.Zero(t, rt.Find("polyline").Length(), "bars, not lines of one-pixel spikes")
		require.GreaterOrEqual(t, rt.Find("rect.chart-bar.series-succeeded").Length(), 1, "the newest bars hold what just finished")
		require.GreaterOrEqual(t, rt.Find("rect.chart-bar.series-failed").Length(), 1)
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
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
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
	_, _, err := a.store.Jobs.CancelJob(context.Background(), j.ID, "not needed")
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
