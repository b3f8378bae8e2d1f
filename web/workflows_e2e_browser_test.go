package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// stepWork is how kind "wf.step" works in workingApp: each step waits for release to close,
// then succeeds, except a step whose args say {"fail": true}, which fails for good while
// broken is true.
type stepWork struct {
	release chan struct{}
	broken  atomic.Bool
}

// workingApp is an app (see setup) whose engine works jobs, fast, with local requests acting
// as an admin; its steps of kind "wf.step" work as w says.
func workingApp(t *testing.T, w *stepWork) *app {
	t.Helper()
	store := modeltest.Open(t, modeltest.SQLiteDSN(t))
	engine, err := jobs.New(store, jobs.Config{PollInterval: 50 * time.Millisecond, SoftStop: 100 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, engine.Register("wf.step", func(ctx context.Context, job *models.Job) error {
		select {
		case <-w.release:
		case <-ctx.Done():
			return ctx.Err()
		}
		var args struct {
			Fail bool `json:"fail"`
		}
		if err := job.DecodeArgs(&args); err != nil {
			return jobs.Permanent(err)
		}
		if args.Fail && w.broken.Load() {
			return jobs.Permanent(errors.New("step broken on purpose"))
		}
		return nil
	}))
	require.NoError(t, engine.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, engine.Stop(context.Background())) })
	srv, err := web.New(web.Config{LocalNoAuth: true}, store, engine, nil)
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &app{t: t, store: store, engine: engine, server: ts, client: newClient(t), srv: srv}
}

// startDiamond starts a -> b, c -> d through the API, b with args bArgs, and returns its id.
func (a *app) startDiamond(tok string, bArgs map[string]any) int64 {
	a.t.Helper()
	resp, body := a.apiCall(http.MethodPost, "/api/v1/workflows", tok, map[string]any{"name": "diamond", "steps": []map[string]any{
		{"name": "a", "kind": "wf.step"},
		{"name": "b", "kind": "wf.step", "depends_on": []string{"a"}, "args": bArgs},
		{"name": "c", "kind": "wf.step", "depends_on": []string{"a"}},
		{"name": "d", "kind": "wf.step", "depends_on": []string{"b", "c"}},
	}})
	require.Equal(a.t, http.StatusCreated, resp.StatusCode, body)
	return int64(body["id"].(float64))
}

// graphStates is a JavaScript expression: the run page's "step=state" pairs, as the graph
// draws them, in step order, then the run's own state.
const graphStates = `[...document.querySelectorAll('[data-testid="graph-node"]')].map(n => n.dataset.step + '=' + n.dataset.state).sort().join(' ') + ' run=' + document.querySelector('[data-testid="workflow-live"]').dataset.state`

// TestBrowserWorkflowEndToEnd runs workflows for real, as the README's "Workflows" tells: a
// diamond started through the API turns green on its open page with no reload, a node opens
// its step's job (which links back to the run), and a run whose step failed is retried from
// its page once the step is fixed, to succeed.
func TestBrowserWorkflowEndToEnd(t *testing.T) {
	ctx := browser(t)
	w := &stepWork{release: make(chan struct{})}
	w.broken.Store(true)
	a := workingApp(t, w)
	tok := a.token("deployer", models.RoleOperator)

	id := a.startDiamond(tok, map[string]any{})
	path := "/dashboard/workflows/" + itoa(id)
	require.Eventually(t, func() bool { return a.stepJob(id, "a").State == models.JobProcessing }, 5*time.Second, 20*time.Millisecond, "a worker takes step a")
	within(t, ctx, 10*time.Second, recordProblems(), chromedp.Navigate(a.server.URL+path))
	waitFor(t, ctx, "the run's graph", `document.readyState === 'complete' && document.querySelectorAll('[data-testid="graph-node"]').length === 4`)
	require.True(t, eval[bool](t, ctx, `window.__marker = true`))
	require.True(t, eval[bool](t, ctx, `(() => { window.__swaps = 0; document.addEventListener('htmx:beforeSwap', () => window.__swaps++); return true })()`))
	require.Equal(t, "a=processing b=awaiting c=awaiting d=awaiting run=running", eval[string](t, ctx, graphStates), "the page opened while step a works")
	close(w.release)
	waitFor(t, ctx, "every step succeeded on the graph", graphStates+` === 'a=succeeded b=succeeded c=succeeded d=succeeded run=succeeded'`)
	require.True(t, eval[bool](t, ctx, `window.__marker === true`), "no reload")
	require.GreaterOrEqual(t, eval[int](t, ctx, `window.__swaps`), 1, "the page followed the run by polling")
	require.Equal(t, "succeeded", eval[string](t, ctx, `document.querySelector('[data-testid="workflow-live"] .page-head [data-testid="badge"]').innerText.trim().toLowerCase()`),
		"the run's header says succeeded")
	require.True(t, eval[bool](t, ctx, `[...document.querySelectorAll('[data-testid="graph-node"]')].every(n => n.classList.contains('badge-succeeded'))`),
		"each node is coloured as succeeded")
	require.False(t, eval[bool](t, ctx, `document.querySelector('[data-testid="workflow-live"]').hasAttribute('hx-get')`), "polling stops once the run has ended")

	// A node opens its step's job, which links back to the run.
	b := a.stepJob(id, "b")
	within(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS(`[data-testid="graph-node"][data-step="b"]`)))
	waitFor(t, ctx, "step b's job page", `location.pathname === '/dashboard/jobs/`+itoa(b.ID)+`' && !!document.querySelector('[data-testid="workflow-link"]')`)
	require.Equal(t, path, eval[string](t, ctx, `document.querySelector('[data-testid="workflow-link"] a').getAttribute('href')`))
	require.Contains(t, eval[string](t, ctx, `document.querySelector('[data-testid="workflow-link"]').innerText`), "Step b of workflow diamond #"+itoa(id))

	// A run whose step b fails: b failed, d skipped, the run failed; fixed, it is retried.
	failing := a.startDiamond(tok, map[string]any{"fail": true})
	within(t, ctx, 10*time.Second, chromedp.Navigate(a.server.URL+"/dashboard/workflows/"+itoa(failing)))
	waitFor(t, ctx, "the run failed", graphStates+` === 'a=succeeded b=failed c=succeeded d=skipped run=failed'`)
	require.Equal(t, "failed", eval[string](t, ctx, `document.querySelector('[data-testid="workflow-live"] .page-head [data-testid="badge"]').innerText.trim().toLowerCase()`))
	w.broken.Store(false)
	within(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS(`[data-testid="action-retry"]`)))
	waitFor(t, ctx, "the retried run succeeded", graphStates+` === 'a=succeeded b=succeeded c=succeeded d=succeeded run=succeeded'`)
	require.Contains(t, eval[string](t, ctx, `document.querySelector('[data-testid="flash"]').innerText`), "runs again its steps that failed")
	run, err := a.store.Workflows.GetWorkflow(context.Background(), failing)
	require.NoError(t, err)
	require.Equal(t, models.WorkflowSucceeded, run.State)
	require.Equal(t, "", eval[string](t, ctx, `window.__problems.join('\n')`), "no CSP violation or script error")
}
