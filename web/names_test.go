package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
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
