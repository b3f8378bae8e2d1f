package web_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
)

// TestBrowserWorkflowGraph: at 375 px a run's graph keeps its size and scrolls in its box (the
// page does not), each node's text fits its box; the graph follows the run with no reload, and
// stops polling once the run has ended.
func TestBrowserWorkflowGraph(t *testing.T) {
	a := setup(t)
	ctx := browser(t)
	a.seedWorkflows()
	a.register("wf.step")
	run := a.startWorkflow("backup", "dump", "upload<dump")
	path := "/dashboard/workflows/" + itoa(run.ID)

	within(t, ctx, 10*time.Second, chromedp.EmulateViewport(375, 667), chromedp.Navigate(a.server.URL+"/dashboard/workflows/1"))
	waitFor(t, ctx, "the wide run", `document.readyState === 'complete' && !!document.querySelector('[data-testid="graph"] svg')`)
	require.Equal(t, "", eval[string](t, ctx, `(() => {
		const root = document.documentElement, box = document.querySelector('[data-testid="graph-scroll"]'), svg = box.querySelector('svg');
		if (root.scrollWidth > root.clientWidth) return 'the page scrolls sideways: ' + root.scrollWidth;
		if (box.scrollWidth <= box.clientWidth) return 'the graph fits 375 px: it was squashed? ' + box.scrollWidth;
		if (svg.getBoundingClientRect().width < svg.viewBox.baseVal.width) return 'the graph is drawn smaller than its size';
		for (const a of document.querySelectorAll('[data-testid="graph-node"]')) {
			const r = a.querySelector('rect').getBBox();
			for (const tx of a.querySelectorAll('text')) {
				const b = tx.getBBox();
				if (b.x + b.width > r.x + r.width - 2) return a.dataset.step + ': "' + tx.textContent + '" overflows its box by ' + (b.x + b.width - r.x - r.width);
			}
		}
		return '';
	})()`))
	shots(t, ctx, "workflow-375")

	within(t, ctx, 10*time.Second, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(a.server.URL+path))
	node := `document.querySelector('[data-testid="graph-node"][data-step="dump"]')`
	waitFor(t, ctx, "the run's page", `!!`+node)
	require.Equal(t, "enqueued", eval[string](t, ctx, node+`.dataset.state`))
	require.True(t, eval[bool](t, ctx, `window.__noReload = true`))
	a.finish(a.stepJob(run.ID, "dump"), models.JobSucceeded, "")
	waitFor(t, ctx, "dump succeeded on the graph", node+`.dataset.state === 'succeeded' && document.querySelector('[data-testid="graph-node"][data-step="upload"]').dataset.state === 'enqueued'`)
	a.finish(a.stepJob(run.ID, "upload"), models.JobSucceeded, "")
	waitFor(t, ctx, "the run ended", `document.querySelector('[data-testid="workflow-live"]').dataset.state === 'succeeded'`)
	require.True(t, eval[bool](t, ctx, `window.__noReload === true && !document.querySelector('[data-testid="workflow-live"]').hasAttribute('hx-get')`),
		"no reload, and no more polling")
	within(t, ctx, 10*time.Second, chromedp.Navigate(a.server.URL+"/dashboard/workflows/1"))
	waitFor(t, ctx, "the wide run", `document.readyState === 'complete'`)
	shots(t, ctx, "workflow-1280")
}
