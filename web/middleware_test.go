package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

func TestSecurityHeaders(t *testing.T) {
	a := setup(t)
	resp, _ := a.get("/")
	csp := resp.Header.Get("Content-Security-Policy")
	require.Contains(t, csp, "script-src 'self'")
	require.NotContains(t, csp, "unsafe-inline")
	require.Contains(t, csp, "frame-ancestors 'none'")
	require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	require.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
	var csrfCookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "kiln_csrf" {
			csrfCookie = c
		}
	}
	require.NotNil(t, csrfCookie)
	require.True(t, csrfCookie.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, csrfCookie.SameSite)
}

func TestGzip(t *testing.T) {
	a := setup(t)
	req, _ := http.NewRequest(http.MethodGet, a.server.URL+"/", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
}

func TestOversizedBodyIsRefused(t *testing.T) {
	a := setup(t)
	token := a.csrf("/tasks/new")
	resp, _ := a.post("/tasks", url.Values{"_csrf": {token}, "title": {"x"}, "description": {strings.Repeat("x", 2<<20)}, "due_at": {"2027-01-01T10:00"}, "tz": {"UTC"}})
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	require.EqualValues(t, 0, a.countTasks())
}

func TestStaticAssets(t *testing.T) {
	a := setup(t)
	_, doc := a.get("/")
	href, ok := doc.Find(`link[rel="stylesheet"]`).Attr("href")
	require.True(t, ok)
	require.Regexp(t, `^/static/css/app\.css\?v=[0-9a-f]{10}$`, href)
	resp, err := a.client.Get(a.server.URL + href)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "text/css")
	require.Contains(t, resp.Header.Get("Cache-Control"), "immutable")
	for _, src := range []string{"js/htmx.min.js", "js/app.js"} {
		require.Equal(t, 1, doc.Find(`script[src^="/static/`+src+`?v="]`).Length(), src)
	}
	for _, path := range []string{"/static/css/", "/static/nope.js", "/static/../main.go"} {
		resp, err := a.client.Get(a.server.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		require.Contains(t, []int{http.StatusNotFound, http.StatusMovedPermanently}, resp.StatusCode, path)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	a := setup(t)
	resp, err := a.client.Get(a.server.URL + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, err = a.client.Get(a.server.URL + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.NoError(t, a.store.Close())
	resp, err = a.client.Get(a.server.URL + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

// Every state-changing route refuses a request without a CSRF token, and changes nothing.
func TestEveryActionNeedsCSRF(t *testing.T) {
	a := setup(t)
	job := a.enqueue("mail.send", nil)
	rj := a.recurring("nightly", "0 2 * * *")
	a.createTask("t", time.Now().Add(time.Hour))
	a.csrf("/tasks/new") // hold a CSRF cookie, as a browser would
	j, r := strconv.FormatInt(job.ID, 10), strconv.FormatInt(rj.ID, 10)
	for _, path := range []string{
		"/tasks", "/tasks/1", "/tasks/1/complete", "/tasks/1/reopen", "/tasks/1/delete", "/work-items",
		"/dashboard/jobs/" + j + "/cancel", "/dashboard/jobs/" + j + "/delete", "/dashboard/jobs/" + j + "/requeue", "/dashboard/jobs/" + j + "/run", "/dashboard/jobs/" + j + "/trigger",
		"/dashboard/jobs/bulk", "/dashboard/recurring/" + r + "/trigger", "/dashboard/recurring/" + r + "/pause", "/dashboard/recurring/" + r + "/edit",
		"/dashboard/queues/default/pause", "/dashboard/tokens", "/dashboard/tokens/ci/revoke",
	} {
		resp, _ := a.post(path, url.Values{"action": {"delete"}, "ids": {j}, "spec": {"* * * * *"}, "tz": {"UTC"}, "title": {"x"}, "name": {"ci"}, "role": {"admin"}})
		require.Equal(t, http.StatusForbidden, resp.StatusCode, path)
	}
	got, err := a.store.JobQueries.GetJob(context.Background(), job.ID)
	require.NoError(t, err)
	require.Equal(t, models.JobEnqueued, got.State)
	paused, err := a.store.Queues.PausedQueues(context.Background())
	require.NoError(t, err)
	require.Empty(t, paused)
	recent := modeltest.RecentJobs(t, a.store, 10)
	require.Len(t, recent, 1, "nothing was triggered or queued")
	tokens, err := a.store.Tokens.ListAPITokens(context.Background())
	require.NoError(t, err)
	require.Empty(t, tokens, "no API token was made")
}

// A one-job enqueue's answer is not compressed (resetting a compressor costs more than it
// saves); other writes' answers, the batch enqueue's among them, are.
func TestGzipSkipsOneJobEnqueues(t *testing.T) {
	a := setup(t)
	a.register("mail.send")
	token := a.token("ci", models.RoleAdmin)
	send := func(path string, body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, a.server.URL+path, strings.NewReader(body))
		req.Header.Set("Accept-Encoding", "gzip")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	resp := send("/api/v1/jobs", `{"kind":"mail.send"}`)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.Empty(t, resp.Header.Get("Content-Encoding"))
	jobs := strings.TrimSuffix(strings.Repeat(`{"kind":"mail.send"},`, 50), ",")
	resp = send("/api/v1/jobs/batch", `{"jobs":[`+jobs+`]}`)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
}
