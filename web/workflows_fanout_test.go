package web_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// itemJobs are the jobs of a run's fan-out, in the order stored (its items').
func (a *app) itemJobs(id int64, step string) []*models.Job {
	a.t.Helper()
	steps, err := a.store.Workflows.WorkflowSteps(context.Background(), id)
	require.NoError(a.t, err)
	var out []*models.Job
	for _, st := range steps {
		if st.Step == step {
			j, err := a.store.JobQueries.GetJob(context.Background(), st.JobID)
			require.NoError(a.t, err)
			out = append(out, j)
		}
	}
	return out
}

// A fan-out is one node of the graph and one row of the steps, however many its items, saying
// how far they are; a click opens its first failed item.
func TestWorkflowFanOutIsOneNode(t *testing.T) {
	forEachDialect(t, web.Config{LocalNoAuth: true}, func(t *testing.T, a *app) {
		a.register("wf.step")
		run, err := a.engine.StartWorkflow(context.Background(), jobs.NewWorkflow("render").Add(
			jobs.Step{Name: "start", Kind: "wf.step"},
			jobs.Step{Name: "render", Kind: "wf.step", Args: map[string]string{"page": "${item}"}, ForEach: []int{1, 2, 3, 4, 5}, DependsOn: []string{"start"}},
			jobs.Step{Name: "zip", Kind: "wf.step", DependsOn: []string{"render"}},
		))
		require.NoError(t, err)
		a.finish(a.stepJob(run.ID, "start"), models.JobSucceeded, "")
		items := a.itemJobs(run.ID, "render")
		require.Len(t, items, 5)
		a.finish(items[0], models.JobSucceeded, "")
		a.finish(items[3], models.JobFailed, "page 4 is blank")

		resp, doc := a.get("/dashboard/workflows/" + itoa(run.ID))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, 3, doc.Find(`[data-testid="graph-node"]`).Length(), "one node for five items")
		require.Equal(t, 2, doc.Find(`.graph-edge`).Length())
		node := doc.Find(`[data-testid="graph-node"][data-step="render"]`)
		require.Equal(t, "processing", node.AttrOr("data-state", ""), "items still to run")
		require.Contains(t, node.AttrOr("aria-label", ""), "Step render: 2/5 done · 1 failed")
		require.Equal(t, 1, node.Find(".graph-stack").Length(), "drawn as a stack")
		require.Equal(t, "/dashboard/jobs/"+itoa(items[3].ID), node.AttrOr("href", ""), "its failed item first")
		require.Contains(t, doc.Find(`[data-testid="graph-node"][data-step="zip"]`).AttrOr("aria-label", ""), "after render")
		row := doc.Find(`[data-testid="step-row"][data-step="render"]`)
		require.Equal(t, 1, row.Length())
		require.Contains(t, row.Find(`[data-testid="step-counts"]`).Text(), "2/5 done · 1 failed")

		_, doc = a.get("/dashboard/jobs/" + itoa(items[3].ID))
		require.Equal(t, "3", doc.Find(`[data-testid="workflow-item"]`).Text(), "an item's page names its index")
	})
}
