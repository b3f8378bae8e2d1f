package web_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// A workflow starts through the API: its steps, their jobs and graph come back, and GET shows
// the run; a bad graph is a 422 naming the step's place in the body; an operator may not start
// a step that runs code; the start is one audit entry.
func TestAPIWorkflows(t *testing.T) {
	forEachDialect(t, web.Config{}, func(t *testing.T, a *app) {
		a.register("db.dump", "s3.upload")
		tok := a.token("ops", models.RoleOperator)
		resp, body := a.apiCall(http.MethodPost, "/api/v1/workflows", tok, map[string]any{"name": "backup", "steps": []map[string]any{
			{"name": "dump", "kind": "db.dump", "args": map[string]any{"db": "main"}},
			{"name": "upload", "kind": "s3.upload", "depends_on": []string{"dump"}, "queue": "uploads"},
			{"name": "tell", "kind": "s3.upload", "depends_on": []string{"upload"}, "on": "finished"},
		}})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		require.Equal(t, "running", body["state"])
		require.Equal(t, float64(3), body["steps_total"])
		steps := body["steps"].([]any)
		require.Len(t, steps, 3)
		first, last := steps[0].(map[string]any), steps[2].(map[string]any)
		require.Equal(t, "dump", first["name"])
		require.Equal(t, "enqueued", first["state"])
		require.Equal(t, []any{}, first["depends_on"])
		require.Equal(t, "awaiting", last["state"])
		require.Equal(t, []any{"upload"}, last["depends_on"])
		id := int64(body["id"].(float64))

		resp, got := a.apiCall(http.MethodGet, "/api/v1/workflows/"+itoa(id), tok, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "backup", got["name"])
		job, err := a.store.JobQueries.GetJob(t.Context(), int64(last["job_id"].(float64)))
		require.NoError(t, err)
		require.Equal(t, models.ContinueOnFinish, job.ContinueOn)

		entries := a.auditEntries()
		require.Len(t, entries, 1, "before the other runs below")
		require.Equal(t, "workflow "+itoa(id), entries[0].Target)
		require.Equal(t, models.AuditOK, entries[0].Outcome)

		for _, tc := range []struct {
			steps []map[string]any
			at    string
			says  string
		}{
			{[]map[string]any{{"name": "a", "kind": "db.dump", "depends_on": []string{"b"}}, {"name": "b", "kind": "db.dump", "depends_on": []string{"a"}}},
				"body.steps[0]", "part of a cycle"},
			{[]map[string]any{{"name": "a", "kind": "db.dump"}, {"name": "b", "kind": "db.dump", "depends_on": []string{"nope"}}},
				"body.steps[1]", `depends on "nope"`},
			{[]map[string]any{{"name": "a", "kind": "db.dump", "timeout": "soon"}}, "body.steps[0].timeout", "positive Go duration"},
			{[]map[string]any{{"name": "a", "kind": "no.such.kind"}}, "body.steps[0].kind", "No server has registered this kind"},
			{[]map[string]any{{"name": "a", "kind": "db.dump"}, {"name": "b", "kind": "db.dump", "depends_on": []string{"a"}, "args": map[string]any{"x": "${steps.a.output}"}}},
				"body.steps[1]", "is not a template"},
			{[]map[string]any{{"name": "a", "kind": "db.dump"}, {"name": "b", "kind": "db.dump", "args": map[string]any{"x": "${steps.a.result}"}}},
				"body.steps[1]", `"a" is not one of the steps it depends on`},
			{[]map[string]any{{"name": "a", "kind": "db.dump", "for_each": 5}}, "body.steps[0].for_each", "not a list"},
			{[]map[string]any{{"name": "a", "kind": "db.dump", "for_each": "files"}}, "body.steps[0]", "one template of a result"},
			{[]map[string]any{{"name": "a", "kind": "db.dump", "args": map[string]any{"x": "${item}"}}}, "body.steps[0]", "has no for_each"},
		} {
			resp, body := a.apiCall(http.MethodPost, "/api/v1/workflows", tok, map[string]any{"name": "bad", "steps": tc.steps})
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
			requireProblemAt(t, body, tc.at, tc.says)
		}

		resp, body = a.apiCall(http.MethodPost, "/api/v1/workflows", tok, map[string]any{"name": "pdfs", "steps": []map[string]any{
			{"name": "render", "kind": "db.dump", "for_each": []any{"a", map[string]int{"n": 2}}, "args": map[string]any{"doc": "${item}"}},
			{"name": "zip", "kind": "s3.upload", "depends_on": []string{"render"}, "args": map[string]any{"sizes": "${steps.render.result}"}},
		}})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		steps = body["steps"].([]any)
		require.Len(t, steps, 3, "a job per item, and zip")
		for i, want := range []string{`{"doc":"a"}`, `{"doc":{"n":2}}`} {
			st := steps[i].(map[string]any)
			require.Equal(t, "render", st["name"])
			require.Equal(t, float64(i), st["item"])
			job, err := a.store.JobQueries.GetJob(t.Context(), int64(st["job_id"].(float64)))
			require.NoError(t, err)
			require.JSONEq(t, want, job.Args)
		}
		require.NotContains(t, steps[2].(map[string]any), "item")

		resp, _ = a.apiCall(http.MethodPost, "/api/v1/workflows", tok, map[string]any{"name": "code", "steps": []map[string]any{
			{"name": "run", "kind": "exec", "args": map[string]any{"command": []string{"true"}}}}})
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "exec needs an admin")
		resp, _ = a.apiCall(http.MethodPost, "/api/v1/workflows", a.token("peek", models.RoleViewer), map[string]any{"name": "x",
			"steps": []map[string]any{{"name": "a", "kind": "db.dump"}}})
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		resp, _ = a.apiCall(http.MethodGet, "/api/v1/workflows/999999", tok, nil)
		require.Equal(t, http.StatusNotFound, resp.StatusCode)

		resp, body = a.apiCall(http.MethodPost, "/api/v1/workflows/"+itoa(id)+"/retry", tok, nil)
		require.Equal(t, http.StatusConflict, resp.StatusCode, "still running: %v", body)
		resp, body = a.apiCall(http.MethodPost, "/api/v1/workflows/"+itoa(id)+"/cancel", tok, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Equal(t, "cancelled", body["state"])
		resp, _ = a.apiCall(http.MethodPost, "/api/v1/workflows/"+itoa(id)+"/cancel", tok, nil)
		require.Equal(t, http.StatusConflict, resp.StatusCode, "ended already")
		resp, body = a.apiCall(http.MethodPost, "/api/v1/workflows/"+itoa(id)+"/retry", tok, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Equal(t, "running", body["state"])
		resp, _ = a.apiCall(http.MethodPost, "/api/v1/workflows/"+itoa(id)+"/cancel", a.token("peek2", models.RoleViewer), nil)
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
	})
}

// requireProblemAt checks a problem's details hold one at location that says says.
func requireProblemAt(t *testing.T, problem map[string]any, location, says string) {
	t.Helper()
	errs, _ := problem["errors"].([]any)
	for _, e := range errs {
		d := e.(map[string]any)
		if d["location"] == location {
			require.Contains(t, d["message"], says)
			return
		}
	}
	t.Fatalf("no detail at %s in %v", location, problem)
}
