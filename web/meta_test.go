package web_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// robots.txt answers without a login (a crawler has none) and keeps every crawler out of the
// dashboard.
func TestRobotsTxtNeedsNoLogin(t *testing.T) {
	a := setupWith(t, web.Config{}) // login required
	resp, err := a.client.Get(a.server.URL + "/robots.txt")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "not a redirect to the login page")
	require.Equal(t, "text/plain; charset=UTF-8", resp.Header.Get("Content-Type"))
	require.Equal(t, "User-agent: *\nDisallow: /\n", string(body))
	require.Empty(t, resp.Cookies(), "no session or CSRF cookie for a crawler")
}

// Every page says what it is in a meta description of its own.
func TestEveryPageHasADescription(t *testing.T) {
	a := setup(t)
	task := a.createTask("Plan the offsite", time.Now().Add(24*time.Hour))
	job := a.enqueue("report.build", nil)
	a.finish(job, models.JobFailed, "disk full")
	rj := a.recurring("nightly-report", "0 2 * * *")
	pages := []string{
		"/", "/tasks/new", fmt.Sprintf("/tasks/%d/edit", task.ID), fmt.Sprintf("/tasks/%d/delete", task.ID),
		"/dashboard", "/dashboard/jobs", fmt.Sprintf("/dashboard/jobs/%d", job.ID), "/dashboard/jobs/new",
		"/dashboard/recurring", fmt.Sprintf("/dashboard/recurring/%d/edit", rj.ID), "/dashboard/recurring/new",
		"/dashboard/queues", "/dashboard/servers", "/dashboard/secrets", "/dashboard/tokens", "/dashboard/kinds",
		"/dashboard/kinds/report.build", "/api/docs",
	}
	seen := map[string]string{}
	check := func(a *app, path string, status int) {
		t.Helper()
		resp, doc := a.get(path)
		require.Equal(t, status, resp.StatusCode, path)
		metas := doc.Find(`head meta[name="description"]`)
		require.Equal(t, 1, metas.Length(), "%s has one meta description", path)
		d := metas.AttrOr("content", "")
		require.GreaterOrEqual(t, len(d), 40, "%s: a sentence, not a word: %q", path, d)
		require.LessOrEqual(t, len(d), 200, "%s: short enough to be shown whole: %q", path, d)
		require.True(t, strings.HasSuffix(d, "."), "%s: %q", path, d)
		if other, ok := seen[d]; ok {
			t.Errorf("%s has the description of %s: %q", path, other, d)
		}
		seen[d] = path
	}
	for _, path := range pages {
		check(a, path, http.StatusOK)
	}
	check(a, "/dashboard/nope", http.StatusNotFound)
	check(setupWith(t, web.Config{}), "/login", http.StatusOK)
}
