package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// problemAt requires a 422 problem with a detail at location whose message says says.
func problemAt(t *testing.T, resp *http.Response, body map[string]any, location, says string) {
	t.Helper()
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
	raw, _ := json.Marshal(body["errors"])
	var details []struct{ Location, Message string }
	require.NoError(t, json.Unmarshal(raw, &details))
	for _, d := range details {
		if d.Location == location {
			require.Contains(t, d.Message, says, body)
			return
		}
	}
	t.Fatalf("no detail at %s: %v", location, body)
}

// Names holding control or bidi characters are refused, naming the field, through the API
// and the forms.
func TestNamesWithControlOrBidiCharactersAreRefused(t *testing.T) {
	a := setup(t)
	a.register("k")
	for _, tc := range []struct {
		path     string
		body     map[string]any
		location string
	}{
		{"/api/v1/jobs", map[string]any{"kind": "mail\u202Esend"}, "body.kind"},
		{"/api/v1/jobs", map[string]any{"kind": "k", "queue": "mail\nq"}, "body.queue"},
		{"/api/v1/jobs", map[string]any{"kind": "k", "tags": []string{"ok", "x\u2066y"}}, "body.tags"},
		{"/api/v1/jobs/batch", map[string]any{"jobs": []map[string]any{{"kind": "k"}, {"kind": "k", "queue": "a\tb"}}}, "body.jobs[1].queue"},
		{"/api/v1/recurring", map[string]any{"name": "nightly\u202E", "spec": "@daily", "kind": "k"}, "body.name"},
		{"/api/v1/recurring", map[string]any{"name": "nightly", "spec": "@daily", "kind": "k\r"}, "body.kind"},
	} {
		resp, body := a.apiCall("POST", tc.path, "", tc.body)
		problemAt(t, resp, body, tc.location, "may not hold")
	}
	token := a.csrf("/dashboard/jobs/new")
	for field, form := range map[string]url.Values{
		"kind":  {"kind": {"mail\nsend"}},
		"queue": {"kind": {"k"}, "queue": {"q\u200Fx"}},
		"tags":  {"kind": {"k"}, "tags": {"ok, a\u202Eb"}},
	} {
		form.Set("_csrf", token)
		resp, doc := a.post("/dashboard/jobs/new", form)
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, field)
		require.Contains(t, doc.Find(`[data-testid="error-`+field+`"]`).Text(), "may not hold", field)
	}
	resp, doc := a.post("/dashboard/recurring/new", url.Values{"_csrf": {token}, "name": {"night\u202Ely"}, "spec": {"@daily"}, "tz": {"UTC"},
		"misfire": {"relaxed"}, "kind": {"k"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-name"]`).Text(), "bidi controls")
	require.Empty(t, modeltestRecent(t, a), "nothing was stored")
}

// Invisible characters (zero-width spaces, word joiners, byte order marks), Unicode line
// breaks and spaces other than the plain one are refused in names through the API, as the
// review sent them: "default\u2060" looks like "default" and is another queue. So are the names
// "." and "..", which make a link such as /dashboard/queues/../pause lead elsewhere. Unique
// keys and Idempotency-Keys refuse control, format and bidi characters, naming their field.
func TestNamesWithInvisibleCharactersAreRefused(t *testing.T) {
	a := setup(t)
	a.register("k")
	for _, tc := range []struct {
		path     string
		body     map[string]any
		location string
		says     string
	}{
		{"/api/v1/jobs", map[string]any{"kind": "report\u200b"}, "body.kind", "invisible"},
		{"/api/v1/jobs", map[string]any{"kind": "k", "queue": "default\u2060"}, "body.queue", "invisible"},
		{"/api/v1/jobs", map[string]any{"kind": "k", "unique_key": "x\u202ey"}, "body.unique_key", "may not hold"},
		{"/api/v1/jobs", map[string]any{"kind": "a\u2028b"}, "body.kind", "line breaks"},
		{"/api/v1/jobs", map[string]any{"kind": "k", "queue": ".."}, "body.queue", `may not be "." or ".."`},
		{"/api/v1/jobs/batch", map[string]any{"jobs": []map[string]any{{"kind": "k"}, {"kind": "k", "unique_key": "a\x1b[2Kb"}}}, "body.jobs[1].unique_key", "may not hold"},
		// A batch of one job names it too.
		{"/api/v1/jobs/batch", map[string]any{"jobs": []map[string]any{{"kind": "k", "unique_key": "a\x1b[2Kb"}}}, "body.jobs[0].unique_key", "may not hold"},
		{"/api/v1/jobs/batch", map[string]any{"jobs": []map[string]any{{"kind": "report\u200b"}}}, "body.jobs[0].kind", "invisible"},
		{"/api/v1/recurring", map[string]any{"name": "nightly-sync\u200b", "spec": "@daily", "kind": "k"}, "body.name", "invisible"},
		{"/api/v1/recurring", map[string]any{"name": "nightly", "spec": "@daily", "kind": "noop\ufeff"}, "body.kind", "invisible"},
		{"/api/v1/recurring", map[string]any{"name": "nightly", "spec": "@daily", "kind": "k", "queue": "default\u00a0"}, "body.queue", "spaces other than"},
		{"/api/v1/recurring", map[string]any{"name": ".", "spec": "@daily", "kind": "k"}, "body.name", `may not be "." or ".."`},
	} {
		resp, body := a.apiCall("POST", tc.path, "", tc.body)
		problemAt(t, resp, body, tc.location, tc.says)
	}
	req, err := http.NewRequest("POST", a.server.URL+"/api/v1/jobs", strings.NewReader(`{"kind":"k"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "order\u202e17")
	resp, err := a.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	problemAt(t, resp, body, "header.Idempotency-Key", "may not hold")
	require.Empty(t, modeltestRecent(t, a), "nothing was stored")
}
