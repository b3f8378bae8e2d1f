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

// TestBrowserHousekeepingHidden: with the sweep running every second, the overview's Recent
// jobs show the work item and none of the sweeps, across live updates; the Jobs list hides the
// sweeps until "Show housekeeping" is ticked, which applies at once.
func TestBrowserHousekeepingHidden(t *testing.T) {
	store, engine, base := liveApp(t)
	ctx := browser(t)
	item, err := tasks.EnqueueCountdown(context.Background(), engine)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		n, err := store.JobQueries.CountJobs(context.Background(), models.JobFilter{Kind: tasks.KindSweepOverdue, State: models.JobSucceeded})
		return err == nil && n >= 3
	}, 20*time.Second, 50*time.Millisecond, "the sweep runs")
	itemLink := `/dashboard/jobs/` + strconv.FormatInt(item.ID, 10)

	within(t, ctx, 20*time.Second, recordProblems(), chromedp.Navigate(base+"/dashboard"))
	waitFor(t, ctx, "the work item in Recent jobs", `[...document.querySelectorAll('[data-testid="recent-link"]')].some(a => a.getAttribute('href') === '`+itemLink+`')`)
	recentKinds := `[...document.querySelectorAll('[data-testid="recent-row"] [data-label="Kind"]')].map(e => e.innerText).join(',')`
	require.NotContains(t, eval[string](t, ctx, recentKinds), tasks.KindSweepOverdue)
	eval[bool](t, ctx, `(() => { window.__swaps = 0; document.addEventListener('htmx:afterSettle', () => window.__swaps++); return true })()`)
	waitFor(t, ctx, "two live updates, a sweep or two later", `window.__swaps >= 2`)
	require.NotContains(t, eval[string](t, ctx, recentKinds), tasks.KindSweepOverdue, "nor after live updates")
	screenshot(t, ctx, "overview-without-housekeeping")

	within(t, ctx, 20*time.Second, chromedp.Navigate(base+"/dashboard/jobs"))
	waitFor(t, ctx, "the jobs list", `!!document.querySelector('[data-testid="jobs"]')`)
	rowKinds := `[...document.querySelectorAll('[data-testid="job-kind"]')].map(e => e.innerText).join(',')`
	require.NotContains(t, eval[string](t, ctx, rowKinds), tasks.KindSweepOverdue)
	require.Contains(t, eval[string](t, ctx, rowKinds), tasks.KindCountdown)
	within(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS(`[data-testid="show-housekeeping"]`)))
	waitFor(t, ctx, "the sweeps listed once the toggle is ticked", `location.search.includes('housekeeping=1') && `+rowKinds+`.includes('`+tasks.KindSweepOverdue+`')`)
	require.True(t, eval[bool](t, ctx, `document.querySelector('[data-testid="show-housekeeping"]').checked`))
	screenshot(t, ctx, "jobs-with-housekeeping")
	require.Equal(t, "", eval[string](t, ctx, `window.__problems.join('\n')`), "no CSP violation or script error")
}
