package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
)

// probeArgs are issue 24's arguments: 5,000 nested arrays around 40,000 zeros (90 KB), which
// the job page indented into 450 MB.
var probeArgs = strings.Repeat("[", 5000) + strings.TrimSuffix(strings.Repeat("0,", 40_000), ",") + strings.Repeat("]", 5000)

// Arguments nested deeper than jobs.ArgsMaxDepth are refused with a 422 naming args: through
// the API (one job, a batch, a recurring job) and the forms.
func TestDeepArgsAreRefused(t *testing.T) {
	a := setup(t)
	a.register("probe.nested", "k")
	deep := json.RawMessage(`{"a":` + probeArgs + `}`)
	resp, body := a.apiCall("POST", "/api/v1/jobs", "", map[string]any{"kind": "probe.nested", "args": json.RawMessage(probeArgs)})
	problemAt(t, resp, body, "body.args", "more than 64 levels deep")
	resp, body = a.apiCall("POST", "/api/v1/jobs/batch", "", map[string]any{"jobs": []map[string]any{{"kind": "k"}, {"kind": "k", "args": deep}}})
	problemAt(t, resp, body, "body.jobs[1].args", "more than 64 levels deep")
	resp, body = a.apiCall("POST", "/api/v1/recurring", "", map[string]any{"name": "deep", "spec": "@daily", "kind": "k", "args": deep})
	problemAt(t, resp, body, "body.args", "more than 64 levels deep")

	token := a.csrf("/dashboard/jobs/new")
	resp, doc := a.post("/dashboard/jobs/new", url.Values{"_csrf": {token}, "kind": {"probe.nested"}, "args": {string(deep)}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-args"]`).Text(), "more than 64 levels deep")
	resp, doc = a.post("/dashboard/recurring/new", url.Values{"_csrf": {token}, "name": {"deep"}, "spec": {"@daily"}, "tz": {"UTC"},
		"misfire": {"relaxed"}, "kind": {"probe.nested"}, "args": {string(deep)}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-args"]`).Text(), "more than 64 levels deep")
	require.Empty(t, modeltestRecent(t, a), "nothing was stored")

	_, doc = a.get("/api/docs")
	require.Contains(t, doc.Find(`#enqueue-job`).Text(), fmt.Sprintf("at most %d levels deep", jobs.ArgsMaxDepth), "the reference says so")
}
