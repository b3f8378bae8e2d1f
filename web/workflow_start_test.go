package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// workflowSpec is a workflow.start job's arguments with these steps.
func workflowSpec(steps ...map[string]any) map[string]any {
	return map[string]any{"name": "nightly", "steps": steps}
}

// A recurring entry (or a job) that starts a workflow is refused when it is made, as
// POST /v1/workflows refuses the same spec: 422, the detail at the step's place under args,
// saying which step; nothing is stored. A good one is made.
func TestAPIWorkflowStartChecked(t *testing.T) {
	forEachDialect(t, web.Config{}, func(t *testing.T, a *app) {
		a.register("db.dump")
		tok := a.token("root", models.RoleAdmin)
		for _, tc := range []struct {
			steps []map[string]any
			at    string
			says  string
		}{
			{[]map[string]any{{"name": "a", "kind": "db.dump", "depends_on": []string{"b"}}, {"name": "b", "kind": "db.dump", "depends_on": []string{"a"}}},
				"body.args.steps[0]", `step "a" is part of a cycle`},
			{[]map[string]any{{"name": "a", "kind": "db.dump"}, {"name": "b", "kind": "db.dump", "depends_on": []string{"nope"}}},
				"body.args.steps[1]", `step "b" depends on "nope"`},
			{[]map[string]any{{"name": "a", "kind": "db.dump", "timeout": "soon"}}, "body.args.steps[0].timeout", "Step a: A positive Go duration"},
			{[]map[string]any{{"name": "a", "kind": "no.such.kind"}}, "body.args.steps[0].kind", "Step a: No server has registered"},
		} {
			resp, body := a.apiCall(http.MethodPost, "/api/v1/recurring", tok, map[string]any{"name": "nightly", "spec": "0 2 * * *",
				"kind": builtin.KindWorkflowStart, "args": workflowSpec(tc.steps...)})
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
			requireProblemAt(t, body, tc.at, tc.says)
			resp, body = a.apiCall(http.MethodPost, "/api/v1/jobs", tok, map[string]any{"kind": builtin.KindWorkflowStart, "args": workflowSpec(tc.steps...)})
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
			requireProblemAt(t, body, tc.at, tc.says)
		}
		all, err := a.store.Recurring.ListRecurring(t.Context())
		require.NoError(t, err)
		require.Empty(t, all, "nothing half-made")

		resp, body := a.apiCall(http.MethodPost, "/api/v1/recurring", tok, map[string]any{"name": "nightly", "spec": "0 2 * * *", "time_zone": "Europe/Berlin",
			"kind": builtin.KindWorkflowStart, "args": workflowSpec(map[string]any{"name": "dump", "kind": "db.dump"})})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		resp, body = a.apiCall(http.MethodPost, "/api/v1/recurring/nightly/trigger", tok, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Equal(t, builtin.KindWorkflowStart, body["job"].(map[string]any)["kind"])
	})
}

// Scheduling a workflow needs what its strongest step needs: an operator may start one of
// ordinary kinds, as a job or through POST /v1/workflows, but not one with an exec or
// http.request step, however deep; and only an admin makes recurring entries at all.
func TestWorkflowStartNeedsWhatItsStepsNeed(t *testing.T) {
	forEachDialect(t, web.Config{}, func(t *testing.T, a *app) {
		a.register("db.dump")
		ops, admin := a.token("ops", models.RoleOperator), a.token("root", models.RoleAdmin)
		plain := workflowSpec(map[string]any{"name": "dump", "kind": "db.dump"})
		code := workflowSpec(map[string]any{"name": "dump", "kind": "db.dump"},
			map[string]any{"name": "run", "kind": "exec", "args": map[string]any{"command": []string{"/bin/true"}}, "depends_on": []string{"dump"}})
		nested := workflowSpec(map[string]any{"name": "inner", "kind": builtin.KindWorkflowStart, "args": code})
		hook := workflowSpec(map[string]any{"name": "tell", "kind": "http.request", "args": map[string]any{"url": "https://hooks.example.com/x"}})

		resp, body := a.apiCall(http.MethodPost, "/api/v1/jobs", ops, map[string]any{"kind": builtin.KindWorkflowStart, "args": plain})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		for _, spec := range []map[string]any{code, nested, hook} {
			resp, body = a.apiCall(http.MethodPost, "/api/v1/jobs", ops, map[string]any{"kind": builtin.KindWorkflowStart, "args": spec, "delay": "1h"})
			require.Equal(t, http.StatusForbidden, resp.StatusCode, body)
			resp, body = a.apiCall(http.MethodPost, "/api/v1/jobs/batch", ops, map[string]any{"jobs": []map[string]any{{"kind": builtin.KindWorkflowStart, "args": spec}}})
			require.Equal(t, http.StatusForbidden, resp.StatusCode, body)
			resp, body = a.apiCall(http.MethodPost, "/api/v1/recurring", ops, map[string]any{"name": "n", "spec": "@daily", "kind": builtin.KindWorkflowStart, "args": spec})
			require.Equal(t, http.StatusForbidden, resp.StatusCode, body)
		}
		resp, body = a.apiCall(http.MethodPost, "/api/v1/workflows", ops, workflowSpec(map[string]any{"name": "inner", "kind": builtin.KindWorkflowStart, "args": code}))
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "a step that starts a workflow with an exec step: %v", body)

		resp, body = a.apiCall(http.MethodPost, "/api/v1/recurring", admin, map[string]any{"name": "nightly", "spec": "@daily", "kind": builtin.KindWorkflowStart, "args": nested})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		resp, body = a.apiCall(http.MethodPost, "/api/v1/jobs", admin, map[string]any{"kind": builtin.KindWorkflowStart, "args": code})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	})
}

// On the dashboard, an operator's New job form may not start a workflow with an exec step, nor
// duplicate a job that does; the recurring form shows a bad spec's refusal beside the
// arguments, naming the step; a workflow.start job's page links the run it started.
func TestWorkflowStartOnTheDashboard(t *testing.T) {
	a, roles := setupRoles(t)
	a.register("db.dump")
	code, err := json.Marshal(workflowSpec(map[string]any{"name": "run", "kind": "exec", "args": map[string]any{"command": []string{"/bin/true"}}}))
	require.NoError(t, err)
	var operator, admin roleClient
	for _, rc := range roles {
		switch rc.role {
		case "operator":
			operator = rc
		case "admin":
			admin = rc
		}
	}
	resp, _ := operator.page.post("/dashboard/jobs/new", url.Values{"_csrf": {operator.csrf}, "kind": {builtin.KindWorkflowStart}, "args": {string(code)}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = operator.page.post("/dashboard/jobs/new", url.Values{"_csrf": {operator.csrf}, "kind": {builtin.KindWorkflowStart},
		"args": {`{"name": "nightly", "steps": [{"name": "dump", "kind": "db.dump"}]}`}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "ordinary steps: an operator's to start")
	j, err := a.engine.Enqueue(context.Background(), builtin.KindWorkflowStart, json.RawMessage(code))
	require.NoError(t, err)
	resp, _ = operator.page.get("/dashboard/jobs/new?from=" + strconv.FormatInt(j.ID, 10))
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "its copy would be refused")

	form := url.Values{"_csrf": {admin.csrf}, "name": {"nightly"}, "spec": {"0 2 * * *"}, "tz": {"UTC"}, "misfire": {"relaxed"}, "overlap": {"skip"},
		"kind": {builtin.KindWorkflowStart}, "args": {`{"name": "nightly", "steps": [{"name": "dump", "kind": "db.dump", "depends_on": ["upload"]}, {"name": "upload", "kind": "db.dump", "depends_on": ["dump"]}]}`}}
	resp, doc := admin.page.post("/dashboard/recurring/new", form)
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-args"]`).Text(), `step "dump" is part of a cycle`)
	form.Set("args", `{"name": "nightly", "steps": [{"name": "dump", "kind": "db.dump", "timeout": "soon"}]}`)
	resp, doc = admin.page.post("/dashboard/recurring/new", form)
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-args"]`).Text(), "Step dump: A positive Go duration")
	form.Set("args", `{"name": "nightly", "steps": [{"name": "dump", "kind": "db.dump"}]}`)
	resp, _ = admin.page.post("/dashboard/recurring/new", form)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	rj, err := a.store.Recurring.GetRecurring(context.Background(), "nightly")
	require.NoError(t, err)
	require.Equal(t, builtin.KindWorkflowStart, rj.Kind)
	form.Del("name")
	form.Set("args", `{"name": "nightly", "steps": [{"name": "dump", "kind": "db.dump"}, {"name": "upload", "kind": "db.dump", "depends_on": ["gone"]}]}`)
	resp, doc = admin.page.post("/dashboard/recurring/"+strconv.FormatInt(rj.ID, 10)+"/edit", form)
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "an edit is checked as a creation is")
	require.Contains(t, doc.Find(`[data-testid="error-args"]`).Text(), `step "upload" depends on "gone"`)

	_, doc = admin.page.get("/dashboard/jobs/" + strconv.FormatInt(j.ID, 10))
	require.Empty(t, doc.Find(`[data-testid="started-workflow-link"]`).Nodes, "no run yet")
	run, err := a.engine.StartWorkflow(context.Background(), jobs.NewWorkflow("nightly").Add(jobs.Step{Name: "dump", Kind: "db.dump"}).StartedBy(j.ID))
	require.NoError(t, err)
	_, doc = admin.page.get("/dashboard/jobs/" + strconv.FormatInt(j.ID, 10))
	link := doc.Find(`[data-testid="started-workflow-link"] a`)
	require.Equal(t, "/dashboard/workflows/"+strconv.FormatInt(run.ID, 10), link.AttrOr("href", ""))
	require.Contains(t, link.Text(), "nightly #"+strconv.FormatInt(run.ID, 10))
}
