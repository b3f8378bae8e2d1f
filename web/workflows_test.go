package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// startWorkflow starts a run of steps of kind wf.step (register it first); each step is
// "name" or "name<dep1,dep2".
func (a *app) startWorkflow(name string, steps ...string) *models.Workflow {
	a.t.Helper()
	w := jobs.NewWorkflow(name)
	for _, st := range steps {
		n, deps, _ := strings.Cut(st, "<")
		s := jobs.Step{Name: n, Kind: "wf.step"}
		if deps != "" {
			s.DependsOn = strings.Split(deps, ",")
		}
		w.Add(s)
	}
	run, err := a.engine.StartWorkflow(context.Background(), w)
	require.NoError(a.t, err)
	return run
}

// stepJob is the job of a run's step.
func (a *app) stepJob(id int64, step string) *models.Job {
	a.t.Helper()
	steps, err := a.store.Workflows.WorkflowSteps(context.Background(), id)
	require.NoError(a.t, err)
	for _, st := range steps {
		if st.Step == step {
			j, err := a.store.JobQueries.GetJob(context.Background(), st.JobID)
			require.NoError(a.t, err)
			return j
		}
	}
	a.t.Fatalf("run %d has no step %s", id, step)
	return nil
}

func rowIDs(doc *goquery.Document) []string {
	return doc.Find(`[data-testid="workflow-row"]`).Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("data-id", "") })
}

// The runs list shows each run's state and progress, newest first, filtered by state and name;
// a run's page draws its graph, each step a link to its job, live while it runs; a step's job
// links back to its run.
func TestWorkflowPages(t *testing.T) {
	forEachDialect(t, web.Config{LocalNoAuth: true}, func(t *testing.T, a *app) {
		a.register("wf.step")
		diamond := a.startWorkflow("nightly backup", "a", "b<a", "c<a", "d<b,c")
		deploy := a.startWorkflow("deploy", "only")
		a.finish(a.stepJob(deploy.ID, "only"), models.JobFailed, "boom")

		resp, doc := a.get("/dashboard/workflows")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, []string{itoa(deploy.ID), itoa(diamond.ID)}, rowIDs(doc), "newest first")
		row := doc.Find(`[data-testid="workflow-row"][data-id="` + itoa(diamond.ID) + `"]`)
		require.Contains(t, row.Find(`td[data-label="Steps done"]`).Text(), "0 / 4")
		require.Equal(t, "running", row.Find(`[data-testid="badge"]`).Text())
		require.Equal(t, "/dashboard/workflows/"+itoa(diamond.ID), row.Find("a").AttrOr("href", ""))
		row = doc.Find(`[data-testid="workflow-row"][data-id="` + itoa(deploy.ID) + `"]`)
		require.Contains(t, row.Find(`td[data-label="Steps done"]`).Text(), "1 / 1")
		require.Contains(t, row.Find(`td[data-label="Steps done"]`).Text(), "1 failed")
		require.Equal(t, "failed", row.Find(`[data-testid="badge"]`).Text())
		require.Equal(t, 1, doc.Find(`nav.subnav a[href="/dashboard/workflows"][aria-current="page"]`).Length(), "Workflows in the navigation")

		_, doc = a.get("/dashboard/workflows?state=failed")
		require.Equal(t, []string{itoa(deploy.ID)}, rowIDs(doc))
		_, doc = a.get("/dashboard/workflows?name=night")
		require.Equal(t, []string{itoa(diamond.ID)}, rowIDs(doc))
		_, doc = a.get("/dashboard/workflows?state=running&name=deploy")
		require.Empty(t, rowIDs(doc))
		require.Equal(t, 1, doc.Find(`[data-testid="empty"]`).Length())
		_, doc = a.get("/dashboard/workflows?before=" + itoa(deploy.ID))
		require.Equal(t, []string{itoa(diamond.ID)}, rowIDs(doc), "a keyset page: the runs before deploy")
		require.Equal(t, "/dashboard/workflows", doc.Find(`[data-testid="newest"]`).AttrOr("href", ""))
		resp, doc = a.get("/dashboard/workflows?state=bogus")
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		require.Contains(t, doc.Find(`[data-testid="form-error"]`).Text(), `not "bogus"`)
		resp, _ = a.get("/dashboard/workflows?before=x")
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)

		resp, doc = a.get("/dashboard/workflows/" + itoa(diamond.ID))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		live := doc.Find(`[data-testid="workflow-live"]`)
		require.Equal(t, "/dashboard/workflows/"+itoa(diamond.ID)+"/live", live.AttrOr("hx-get", ""), "live while it runs")
		require.Equal(t, 1, doc.Find(`[data-testid="graph"] svg`).Length())
		nodes := doc.Find(`[data-testid="graph-node"]`)
		require.Equal(t, 4, nodes.Length())
		require.Equal(t, 4, doc.Find(`.graph-edge`).Length())
		for _, step := range []string{"a", "b", "c", "d"} {
			node := doc.Find(`[data-testid="graph-node"][data-step="` + step + `"]`)
			require.Equal(t, "/dashboard/jobs/"+itoa(a.stepJob(diamond.ID, step).ID), node.AttrOr("href", ""), step)
			require.Contains(t, node.AttrOr("aria-label", ""), "Step "+step+": ")
			require.Equal(t, 1, doc.Find(`[data-testid="step-row"][data-step="`+step+`"]`).Length())
		}
		require.Equal(t, "enqueued", doc.Find(`[data-testid="graph-node"][data-step="a"]`).AttrOr("data-state", ""))
		require.Equal(t, "Step a: enqueued", doc.Find(`[data-testid="graph-node"][data-step="a"]`).AttrOr("aria-label", ""), "no duration yet")
		require.Contains(t, doc.Find(`[data-testid="graph-node"][data-step="d"]`).AttrOr("aria-label", ""), "after b, c")
		resp, doc = a.get("/dashboard/workflows/" + itoa(diamond.ID) + "/live")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, 4, doc.Find(`[data-testid="graph-node"]`).Length())

		_, doc = a.get("/dashboard/workflows/" + itoa(deploy.ID))
		require.Empty(t, doc.Find(`[data-testid="workflow-live"]`).AttrOr("hx-get", ""), "an ended run stops polling")
		node := doc.Find(`[data-testid="graph-node"][data-step="only"]`)
		require.Equal(t, "failed", node.AttrOr("data-state", ""))
		require.Regexp(t, `^Step only: failed · [\d.]+ (µs|ms|s)$`, node.AttrOr("aria-label", ""), "its job's duration, started to finished")
		require.Contains(t, node.AttrOr("class", ""), "badge-failed", "coloured as its state's badge")

		for _, path := range []string{"/dashboard/workflows/999999", "/dashboard/workflows/x"} {
			resp, _ = a.get(path)
			require.Equal(t, http.StatusNotFound, resp.StatusCode, path)
		}

		b := a.stepJob(diamond.ID, "b")
		_, doc = a.get("/dashboard/jobs/" + itoa(b.ID))
		link := doc.Find(`[data-testid="workflow-link"]`)
		require.Equal(t, "Step b of workflow nightly backup #"+itoa(diamond.ID)+" running", strings.Join(strings.Fields(link.Text()), " "))
		require.Equal(t, "/dashboard/workflows/"+itoa(diamond.ID), link.Find("a").AttrOr("href", ""))
		_, doc = a.get("/dashboard/jobs/" + itoa(b.ID) + "/live")
		require.Equal(t, 1, doc.Find(`[data-testid="workflow-link"]`).Length(), "in the live part too")
		lone := a.enqueue("wf.step", nil)
		_, doc = a.get("/dashboard/jobs/" + itoa(lone.ID))
		require.Zero(t, doc.Find(`[data-testid="workflow-link"]`).Length())
	})
}

// as logs a fresh client in as a new user of role.
func (a *app) as(name, role string) {
	a.t.Helper()
	a.addUser(name, role)
	a.client = newClient(a.t)
	require.Equal(a.t, http.StatusSeeOther, a.login(name, password).StatusCode)
}

// actionButtons are the run page's action buttons, by test id.
func (a *app) actionButtons(id int64) []string {
	a.t.Helper()
	resp, doc := a.get("/dashboard/workflows/" + itoa(id))
	require.Equal(a.t, http.StatusOK, resp.StatusCode)
	return doc.Find(`[data-testid="workflow-actions"] button`).Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("data-testid", "") })
}

// workflowAction posts an action as the run page's button does, and returns the flash it
// leaves and its kind.
func (a *app) workflowAction(id int64, action string) (string, string) {
	a.t.Helper()
	path := "/dashboard/workflows/" + itoa(id)
	resp, _ := a.post(path+"/"+action, url.Values{"_csrf": {a.csrf(path)}})
	require.Equal(a.t, http.StatusSeeOther, resp.StatusCode, action)
	require.Equal(a.t, path, resp.Header.Get("Location"))
	_, doc := a.get(path)
	flash := doc.Find(`[data-testid="flash"]`)
	return strings.TrimSpace(flash.Find("span").Text()), flash.AttrOr("data-kind", flash.AttrOr("class", ""))
}

// The run page offers cancel and retry to a role that may, when the run's state allows; a
// refused action is a flash error, not a 500; each action is one audit entry.
func TestWorkflowActionsByRoleAndState(t *testing.T) {
	forEachDialect(t, web.Config{}, func(t *testing.T, a *app) {
		a.register("wf.step")
		run := a.startWorkflow("backup", "a", "b<a")
		path := "/dashboard/workflows/" + itoa(run.ID)

		a.as("vic", models.RoleViewer)
		require.Empty(t, a.actionButtons(run.ID), "a viewer sees no action")
		resp, _ := a.post(path+"/cancel", url.Values{"_csrf": {a.csrf(path)}})
		require.Equal(t, http.StatusForbidden, resp.StatusCode)

		a.as("ops", models.RoleOperator)
		require.Equal(t, []string{"action-cancel"}, a.actionButtons(run.ID), "a running run: cancel, not retry")
		resp, _ = a.post(path+"/cancel", url.Values{})
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "no CSRF token, no action")
		before := len(a.auditEntries())

		msg, kind := a.workflowAction(run.ID, "retry")
		require.Contains(t, msg, "still running")
		require.Contains(t, kind, "error")
		entries := a.auditEntries()[before:]
		require.Len(t, entries, 1)
		require.Equal(t, "workflow "+itoa(run.ID), entries[0].Target)
		require.Equal(t, "409", entries[0].Outcome)

		msg, kind = a.workflowAction(run.ID, "cancel")
		require.Contains(t, msg, "cancelled")
		require.Contains(t, kind, "success")
		got, err := a.store.Workflows.GetWorkflow(context.Background(), run.ID)
		require.NoError(t, err)
		require.Equal(t, models.WorkflowCancelled, got.State)
		entries = a.auditEntries()[before+1:]
		require.Len(t, entries, 1, "one entry for the cancel")
		require.Equal(t, "workflow "+itoa(run.ID), entries[0].Target)
		require.Equal(t, "ops", entries[0].Actor)
		require.Equal(t, models.AuditOK, entries[0].Outcome)
		require.True(t, strings.HasPrefix(entries[0].Action, "jobs.cancel "), entries[0].Action)

		require.Equal(t, []string{"action-retry"}, a.actionButtons(run.ID), "a cancelled run: retry, not cancel")
		msg, _ = a.workflowAction(run.ID, "cancel")
		require.Contains(t, msg, "already cancelled")
		msg, kind = a.workflowAction(run.ID, "retry")
		require.Contains(t, msg, "runs again")
		require.Contains(t, kind, "success")
		require.Equal(t, []string{"action-cancel"}, a.actionButtons(run.ID))

		done := a.startWorkflow("done", "only")
		a.finish(a.stepJob(done.ID, "only"), models.JobSucceeded, "")
		require.Empty(t, a.actionButtons(done.ID), "every step succeeded: nothing to retry")
		resp, _ = a.post("/dashboard/workflows/"+itoa(done.ID)+"/nope", url.Values{"_csrf": {a.csrf(path)}})
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
}
