package web_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/tasks"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// liveApp is Kiln as it runs, but fast: an engine that works jobs, the overdue sweep every
// second (instead of every minute) and a work item of short steps.
func liveApp(t *testing.T) (*models.Store, *jobs.Engine, string) {
	t.Helper()
	store := modeltest.Open(t, modeltest.SQLiteDSN(t))
	engine, err := jobs.New(store, jobs.Config{PollInterval: 100 * time.Millisecond, SoftStop: 100 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, builtin.Register(engine, store.Jobs, builtin.Config{}))
	require.NoError(t, tasks.Register(engine, store.Tasks, tasks.Config{SweepEvery: "@every 1s", CountdownStep: 100 * time.Millisecond}))
	require.NoError(t, engine.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, engine.Stop(context.Background())) })
	srv, err := web.New(web.Config{LocalNoAuth: true}, store, engine, nil)
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return store, engine, ts.URL
}

// TestBrowserTasksLive opens the Tasks page on a task about to fall due and watches the overdue
// sweep complete it, with no reload: the row, its tabs' counts and the relative time follow
// the sweep, while keyboard focus and the scroll position stay where they were.
func TestBrowserTasksLive(t *testing.T) {
	store, _, base := liveApp(t)
	ctx := browser(t)
	// Enough tasks, due tomorrow, for the page to scroll in a short window.
	for i := range 12 {
		_, err := store.Tasks.CreateTask(context.Background(), models.TaskInput{Title: "Later " + strconv.Itoa(i), DueAt: time.Now().Add(24 * time.Hour)})
		require.NoError(t, err)
	}
	soon, err := store.Tasks.CreateTask(context.Background(), models.TaskInput{Title: "Due in a moment", DueAt: time.Now().Add(4 * time.Second)})
	require.NoError(t, err)
	row := `document.querySelector('[data-task-id="` + strconv.FormatInt(soon.ID, 10) + `"]')`

	within(t, ctx, 20*time.Second, recordProblems(), chromedp.EmulateViewport(1280, 500), chromedp.Navigate(base+"/"))
	waitFor(t, ctx, "the task list", `!!`+row)
	require.Equal(t, "Pending", eval[string](t, ctx, row+`.querySelector('[data-testid="badge"]').innerText`), "the page opened before the task fell due")
	require.True(t, eval[bool](t, ctx, `window.__noReload = true`))

	// A keyboard user sits on the task's Edit link, scrolled down the page.
	eval[bool](t, ctx, `(() => { `+row+`.querySelector('[data-testid="edit"]').focus(); window.scrollTo(0, 200); return true })()`)
	scrolled := eval[float64](t, ctx, `window.scrollY`)
	require.Greater(t, scrolled, 0.0, "the page scrolls at this height")

	waitFor(t, ctx, "the sweep's completion, shown live", `(() => { const r = `+row+`; return !!r && r.querySelector('[data-testid="badge"]').innerText === 'Completed' })()`)
	// Focus moves back after the swap has settled: wait for the next one to have.
	eval[bool](t, ctx, `(() => { window.__settled = 0; document.addEventListener('htmx:afterSettle', () => window.__settled++); return true })()`)
	waitFor(t, ctx, "a live update settled", `window.__settled >= 1`)
	require.Contains(t, eval[string](t, ctx, row+`.querySelector('[data-testid="task-completed"]').innerText`), "by the overdue sweeper")
	require.Equal(t, "1", eval[string](t, ctx, `[...document.querySelectorAll('[data-testid="tab"]')].find(a => a.innerText.startsWith('Completed')).querySelector('.tab-count').innerText`),
		"the tabs' counts follow")
	require.True(t, eval[bool](t, ctx, `window.__noReload === true`), "the page updated itself without a reload")
	require.True(t, eval[bool](t, ctx, `document.activeElement === `+row+`.querySelector('[data-testid="edit"]')`), "focus stays on the Edit link across live updates")
	require.Equal(t, scrolled, eval[float64](t, ctx, `window.scrollY`), "the page stays where it was scrolled")
	screenshot(t, ctx, "tasks-live")
	require.Equal(t, "", eval[string](t, ctx, `window.__problems.join('\n')`), "no CSP violation or script error")
}
