package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// knownHere is what the test app knows: the built-in kinds it registers.
const knownHere = "Known kinds: exec, http.request, jobs.cleanup, workflow.start"

// seenDaysAgo records kinds as another server registered them, days ago.
func (a *app) seenDaysAgo(days int, kinds ...string) {
	a.t.Helper()
	require.NoError(a.t, a.store.Servers.RecordKinds(context.Background(), kinds))
	for _, k := range kinds {
		require.NoError(a.t, modeltest.DB(a.store).Exec("UPDATE known_kinds SET seen_at = ? WHERE kind = ?",
			time.Now().UTC().Add(-time.Duration(days)*24*time.Hour), k).Error)
	}
}

// The API refuses a kind no server registered lately (a 422 naming it and the known kinds,
// at the kind's field), single, in a batch and for a recurring job, and stores nothing;
// allow_unknown_kind takes it anyway. A kind another server registered within the window is
// known; one it registered 8 days ago is not.
func TestAPIRefusesUnknownKinds(t *testing.T) {
	forEachDialect(t, web.Config{LocalNoAuth: true}, func(t *testing.T, a *app) {
		resp, body := a.apiCall("POST", "/api/v1/jobs", "", map[string]any{"kind": "email.send", "args": map[string]string{"to": "ada@example.com"}})
		problemAt(t, resp, body, "body.kind", "No server has registered this kind in the last 7 days")
		problemAt(t, resp, body, "body.kind", knownHere)
		require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		require.Contains(t, body["detail"], `The kind "email.send" is unknown. No server has registered this kind in the last 7 days, so no worker would run it. `+knownHere+".")
		require.Contains(t, body["detail"], "allow_unknown_kind", "the answer says how to take it anyway")

		resp, body = a.apiCall("POST", "/api/v1/jobs/batch", "", map[string]any{"jobs": []map[string]any{
			{"kind": "exec", "args": map[string]any{"command": []string{"/bin/true"}}}, {"kind": "email.send"},
		}})
		problemAt(t, resp, body, "body.jobs[1].kind", knownHere)
		require.Contains(t, body["detail"], "job 1 of the batch")
		require.Contains(t, body["detail"], `"email.send"`)

		resp, body = a.apiCall("POST", "/api/v1/recurring", "", map[string]any{"name": "digest", "spec": "@daily", "kind": "email.send"})
		problemAt(t, resp, body, "body.kind", knownHere)
		require.Empty(t, modeltestRecent(t, a), "nothing was stored")
		n, err := a.store.Recurring.CountRecurring(context.Background())
		require.NoError(t, err)
		require.Zero(t, n)

		// Its workers aren't up yet: allowed, it is taken.
		resp, body = a.apiCall("POST", "/api/v1/jobs", "", map[string]any{"kind": "email.send", "allow_unknown_kind": true})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		require.Equal(t, "email.send", body["kind"])
		resp, body = a.apiCall("POST", "/api/v1/jobs/batch", "", map[string]any{"jobs": []map[string]any{
			{"kind": "exec", "args": map[string]any{"command": []string{"/bin/true"}}}, {"kind": "email.send", "allow_unknown_kind": true},
		}})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		resp, body = a.apiCall("POST", "/api/v1/recurring", "", map[string]any{"name": "digest", "spec": "@daily", "kind": "email.send", "allow_unknown_kind": true})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)

		// Registered by other servers: within the window it is known, after it not.
		a.seenDaysAgo(6, "pdf.render")
		a.seenDaysAgo(8, "image.resize")
		resp, body = a.apiCall("POST", "/api/v1/jobs", "", map[string]any{"kind": "pdf.render"})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		resp, body = a.apiCall("POST", "/api/v1/jobs", "", map[string]any{"kind": "image.resize"})
		problemAt(t, resp, body, "body.kind", "Known kinds: exec, http.request, jobs.cleanup, pdf.render, workflow.start.")
	})
}

// The forms (New job, Duplicate, New and Edit recurring job) show the same refusal next to the
// Kind field, keep what was typed, and offer the box that allows an unknown kind; the kinds to
// choose from include those other servers registered.
func TestFormsRefuseUnknownKinds(t *testing.T) {
	a := setup(t)
	ctx := context.Background()
	a.seenDaysAgo(1, "pdf.render")
	_, doc := a.get("/dashboard/jobs/new")
	require.NotEmpty(t, doc.Find(`select[name="kind"] option[value="pdf.render"]`).Nodes, "another server's kind is offered")
	require.Empty(t, doc.Find(`[data-testid="allow-unknown-kind"]`).Nodes, "a known kind needs no allowing")

	token := a.csrf("/dashboard/jobs/new")
	form := url.Values{"_csrf": {token}, "kind": {"email.send"}, "args": {`{"to":"ada@example.com"}`}}
	resp, doc := a.post("/dashboard/jobs/new", form)
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-kind"]`).Text(), "No server has registered this kind in the last 7 days")
	require.Contains(t, doc.Find(`[data-testid="error-kind"]`).Text(), "Known kinds: exec, http.request, jobs.cleanup, pdf.render, workflow.start.")
	require.Equal(t, `{"to":"ada@example.com"}`, doc.Find(`textarea[name="args"]`).Text(), "what was typed is kept")
	require.NotEmpty(t, doc.Find(`[data-testid="allow-unknown-kind"] input[name="allow_unknown_kind"]`).Nodes, "the way to allow it is offered")
	n, err := a.store.JobQueries.CountJobs(ctx, models.JobFilter{})
	require.NoError(t, err)
	require.Zero(t, n)

	form.Set("allow_unknown_kind", "on")
	j := a.jobFrom(a.postRaw("/dashboard/jobs/new", form))
	require.Equal(t, "email.send", j.Kind)

	// Duplicate: the copy of a job whose kind nobody registers any more says so before sending.
	_, doc = a.get("/dashboard/jobs/new?from=" + strconv.FormatInt(j.ID, 10))
	require.NotEmpty(t, doc.Find(`[data-testid="allow-unknown-kind"]`).Nodes)
	form.Del("allow_unknown_kind")
	resp, doc = a.post("/dashboard/jobs/new", form)
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-kind"]`).Text(), "No server has registered this kind")

	// Recurring jobs, made and edited.
	rform := url.Values{"_csrf": {token}, "name": {"digest"}, "spec": {"@daily"}, "tz": {"UTC"}, "misfire": {"relaxed"}, "kind": {"email.send"}, "args": {"{}"}}
	resp, doc = a.post("/dashboard/recurring/new", rform)
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-kind"]`).Text(), "Known kinds: exec, http.request, jobs.cleanup, pdf.render, workflow.start.")
	require.NotEmpty(t, doc.Find(`[data-testid="allow-unknown-kind"]`).Nodes)
	rform.Set("kind", "pdf.render")
	resp, _ = a.post("/dashboard/recurring/new", rform)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "another server's kind is known")
	rj, err := a.store.Recurring.GetRecurring(ctx, "digest")
	require.NoError(t, err)
	edit := url.Values{"_csrf": {token}, "spec": {"@hourly"}, "tz": {"UTC"}, "misfire": {"relaxed"}, "kind": {"email.send"}, "args": {"{}"}}
	base := "/dashboard/recurring/" + strconv.FormatInt(rj.ID, 10)
	resp, doc = a.post(base+"/edit", edit)
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-kind"]`).Text(), "No server has registered this kind")
	edit.Set("allow_unknown_kind", "on")
	resp, _ = a.post(base+"/edit", edit)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	rj, err = a.store.Recurring.GetRecurring(ctx, "digest")
	require.NoError(t, err)
	require.Equal(t, [2]string{"email.send", "@hourly"}, [2]string{rj.Kind, rj.Spec})
}
