package web_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"regexp"
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

// TestBrowserDashboard drives the dashboard as an operator would, in Chromium, against a real
// engine that works jobs: log in, queue a work item and watch its progress advance without a
// reload, cancel a running job, requeue a failed one, pause a recurring job.
func TestBrowserDashboard(t *testing.T) {
	ctx := browser(t)
	store := modeltest.Open(t, modeltest.SQLiteDSN(t))
	engine, err := jobs.New(store, jobs.Config{PollInterval: 100 * time.Millisecond, SoftStop: 100 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, builtin.Register(engine, store.Jobs, builtin.Config{}))
	require.NoError(t, tasks.Register(engine, store.Tasks, tasks.Config{CountdownStep: 1500 * time.Millisecond}))
	require.NoError(t, engine.Register("always.fails", func(context.Context, *models.Job) error { return errors.New("upstream said no") }, jobs.MaxAttempts(1)))
	require.NoError(t, engine.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, engine.Stop(context.Background())) })
	srv, err := web.New(web.Config{}, store, engine, nil) // no local bypass: log in like anyone
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	_, err = store.Users.CreateUser(context.Background(), "ada", password, models.RoleAdmin)
	require.NoError(t, err)
	base := ts.URL

	// Log in.
	within(t, ctx, 20*time.Second, recordProblems(), chromedp.Navigate(base+"/dashboard"))
	waitFor(t, ctx, "the login page", `location.pathname === '/login'`)
	within(t, ctx, 10*time.Second,
		chromedp.SetValue(chromedp.CSS("#username"), "ada"),
		chromedp.SetValue(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
	)
	waitFor(t, ctx, "the overview after login", `location.pathname === '/dashboard' && !!document.querySelector('[data-testid="overview-live"]')`)
	require.Equal(t, "ada", eval[string](t, ctx, `document.querySelector('[data-testid="username"]').innerText`))
	screenshot(t, ctx, "dashboard-overview")

	// Keyboard focus on a card survives three live updates of the overview.
	eval[bool](t, ctx, `(() => { window.__swaps = 0; document.addEventListener('htmx:afterSettle', () => window.__swaps++); return true })()`)
	eval[bool](t, ctx, `(() => { document.querySelector('[data-testid="card-succeeded"]').focus(); return true })()`)
	waitFor(t, ctx, "three live updates", `window.__swaps >= 3`)
	require.Equal(t, "card-succeeded", eval[string](t, ctx, `document.activeElement ? (document.activeElement.dataset.testid || document.activeElement.tagName) : ''`),
		"focus stays on the card across live updates")

	// Queue a work item from the Tasks page; its id comes back in the flash.
	within(t, ctx, 20*time.Second, chromedp.Navigate(base+"/"))
	waitFor(t, ctx, "the tasks page", `!!document.querySelector('[data-testid="queue-work-item"]')`)
	within(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS(`[data-testid="queue-work-item"]`)))
	waitFor(t, ctx, "the work item's flash", `(document.querySelector('[data-testid="flash"]') || {innerText: ''}).innerText.includes('job #')`)
	flash := eval[string](t, ctx, `document.querySelector('[data-testid="flash"]').innerText`)
	id := regexp.MustCompile(`job #(\d+)`).FindStringSubmatch(flash)[1]

	// Its page shows the progress advancing, with no reload (a marker on the page survives).
	within(t, ctx, 20*time.Second, chromedp.Navigate(base+"/dashboard/jobs/"+id))
	waitFor(t, ctx, "the job running", `document.querySelector('#job-live').dataset.state === 'processing'`)
	require.True(t, eval[bool](t, ctx, `window.__noReload = true`))
	first := eval[int](t, ctx, `(() => { const p = document.querySelector('[data-testid="job-progress"]'); return p ? p.value : 0 })()`)
	// The bar must be seen higher while the job still runs: a page that only showed the final
	// state would not pass.
	waitFor(t, ctx, "the progress bar to advance while the job runs", `(() => {
		const p = document.querySelector('[data-testid="job-progress"]');
		return !!p && p.value > `+strconv.Itoa(first)+` && document.querySelector('#job-live').dataset.state === 'processing' })()`)
	screenshot(t, ctx, "job-progress")
	waitFor(t, ctx, "the job to succeed, shown live", `document.querySelector('#job-live').dataset.state === 'succeeded'`)
	waitFor(t, ctx, "the state change announced", `document.querySelector('[data-testid="live-announcer"]').innerText.includes('succeeded')`)
	require.True(t, eval[bool](t, ctx, `window.__noReload === true`), "the page updated itself without a reload")
	require.Contains(t, eval[string](t, ctx, `document.querySelector('[data-testid="job-logs"]').innerText`), "step 3/3")

	// The overview's Recent jobs panel lists it, linked to its page.
	within(t, ctx, 20*time.Second, chromedp.Navigate(base+"/dashboard"))
	waitFor(t, ctx, "the work item in Recent jobs", `[...document.querySelectorAll('[data-testid="recent-link"]')].some(a => a.getAttribute('href') === '/dashboard/jobs/`+id+`')`)
	screenshot(t, ctx, "dashboard-recent-jobs")

	// Cancel a running job from its page.
	long, err := engine.Enqueue(context.Background(), tasks.KindCountdown, tasks.CountdownArgs{Steps: 3, StepSeconds: 60})
	require.NoError(t, err)
	within(t, ctx, 20*time.Second, chromedp.Navigate(base+"/dashboard/jobs/"+strconv.FormatInt(long.ID, 10)))
	waitFor(t, ctx, "the long job running", `document.querySelector('#job-live').dataset.state === 'processing'`)
	within(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS(`[data-testid="action-cancel"]`)))
	waitFor(t, ctx, "the job cancelled", `document.querySelector('#job-live') && document.querySelector('#job-live').dataset.state === 'cancelled'`)
	require.Contains(t, eval[string](t, ctx, `document.querySelector('[data-testid="timeline"]').innerText`), "cancelled by ada")
	screenshot(t, ctx, "job-cancelled")
	require.Eventually(t, func() bool {
		logs, err := store.JobQueries.JobLogs(context.Background(), long.ID)
		return err == nil && len(logs) > 0 && regexp.MustCompile(`^stopped at step 1/3`).MatchString(logs[len(logs)-1].Message)
	}, 10*time.Second, 50*time.Millisecond, "the job's context was cancelled")

	// Requeue a failed job.
	bad, err := engine.Enqueue(context.Background(), "always.fails", map[string]string{"to": "api.example.com"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		j, err := store.JobQueries.GetJob(context.Background(), bad.ID)
		return err == nil && j.State == models.JobFailed
	}, 20*time.Second, 20*time.Millisecond)
	within(t, ctx, 20*time.Second, chromedp.Navigate(base+"/dashboard/jobs?state=failed"))
	waitFor(t, ctx, "the failed job listed", `!!document.querySelector('[data-job-id="`+strconv.FormatInt(bad.ID, 10)+`"]')`)
	screenshot(t, ctx, "jobs-failed")
	within(t, ctx, 20*time.Second, chromedp.Navigate(base+"/dashboard/jobs/"+strconv.FormatInt(bad.ID, 10)))
	waitFor(t, ctx, "the failed job's page", `document.querySelector('#job-live').dataset.state === 'failed'`)
	within(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS(`[data-testid="action-requeue"]`)))
	waitFor(t, ctx, "the requeue recorded", `(document.querySelector('[data-testid="timeline"]') || {innerText: ''}).innerText.includes('requeued by ada')`)
	events, err := store.JobQueries.JobEvents(context.Background(), bad.ID)
	require.NoError(t, err)
	require.Equal(t, "requeued by ada", events[3].Reason)

	// The kinds page lists always.fails with its failure; its page groups the failures by
	// message, charts the day, and takes a cap through its form.
	within(t, ctx, 20*time.Second, chromedp.Navigate(base+"/dashboard/kinds"))
	waitFor(t, ctx, "the kinds page", `!!document.querySelector('[data-kind="always.fails"] [data-testid="kind-link"]')`)
	require.Regexp(t, `^0 ok · [12] failed$`, eval[string](t, ctx, `document.querySelector('[data-kind="always.fails"] [data-testid="day-outcomes"]').innerText.trim()`),
		"its failure, and the requeued run's if it has failed again already")
	screenshot(t, ctx, "kinds")
	within(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS(`[data-kind="always.fails"] [data-testid="kind-link"]`)))
	waitFor(t, ctx, "the kind's page", `location.pathname === '/dashboard/kinds/always.fails' && !!document.querySelector('[data-testid="chart-kind-outcomes"]')`)
	require.Equal(t, "upstream said no", eval[string](t, ctx, `document.querySelector('[data-testid="failure-message"]').innerText.trim()`))
	require.True(t, eval[bool](t, ctx, `!!document.querySelector('[data-testid="chart-kind-times"] polyline')`), "run times are charted")
	eval[string](t, ctx, `document.querySelector('#max_running').value = ''`)
	within(t, ctx, 10*time.Second,
		chromedp.SendKeys(chromedp.CSS(`#max_running`), "3"),
		chromedp.Click(chromedp.CSS(`[data-testid="save-limits"]`)),
	)
	waitFor(t, ctx, "the cap saved", `(document.querySelector('[data-testid="flash"]') || {innerText: ''}).innerText.includes('at most 3 at once')`)
	require.Contains(t, eval[string](t, ctx, `document.querySelector('[data-testid="limits-now"]').innerText`), "At most 3 running at once")
	screenshot(t, ctx, "kind-page")
	limits, err := store.Kinds.KindLimits(context.Background())
	require.NoError(t, err)
	require.Equal(t, 3, limits["always.fails"].MaxRunning)

	// Pause a recurring job.
	within(t, ctx, 20*time.Second, chromedp.Navigate(base+"/dashboard/recurring"))
	waitFor(t, ctx, "the recurring jobs", `!!document.querySelector('[data-name="tasks.sweep_overdue"] [data-testid="pause"]')`)
	within(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS(`[data-name="tasks.sweep_overdue"] [data-testid="pause"]`)))
	waitFor(t, ctx, "the sweep paused", `!!document.querySelector('[data-name="tasks.sweep_overdue"] [data-testid="resume"]')`)
	screenshot(t, ctx, "recurring-paused")
	rj, err := store.Recurring.GetRecurring(context.Background(), tasks.KindSweepOverdue)
	require.NoError(t, err)
	require.True(t, rj.Paused)

	// Edit its schedule: the preview follows the typing, clock changes included, with no reload.
	within(t, ctx, 20*time.Second, chromedp.Click(chromedp.CSS(`[data-name="tasks.sweep_overdue"] [data-testid="edit"]`)))
	waitFor(t, ctx, "the schedule form", `!!document.querySelector('[data-testid="schedule-preview"]')`)
	require.True(t, eval[bool](t, ctx, `window.__noReload = true`))
	eval[string](t, ctx, `document.querySelector('input[name="tz"]').value = document.querySelector('input[name="spec"]').value = ''`)
	within(t, ctx, 10*time.Second,
		chromedp.SendKeys(chromedp.CSS(`input[name="tz"]`), "Europe/Berlin"),
		chromedp.SendKeys(chromedp.CSS(`input[name="spec"]`), "30 2 * * *"),
	)
	waitFor(t, ctx, "the preview of the typed schedule", `(document.querySelector('[data-testid="preview-describe"]') || {innerText: ''}).innerText === 'Runs at 02:30 every day, Europe/Berlin time.'`)
	require.Contains(t, eval[string](t, ctx, `document.querySelector('[data-testid="schedule-preview"]').innerText`), "02:30 does not exist on")
	screenshot(t, ctx, "recurring-preview")
	within(t, ctx, 10*time.Second, chromedp.SendKeys(chromedp.CSS(`input[name="spec"]`), " x"))
	waitFor(t, ctx, "the preview's error", `(document.querySelector('[data-testid="preview-error"]') || {innerText: ''}).innerText.includes('"x" is neither a number from 0 to 7')`)
	require.True(t, eval[bool](t, ctx, `window.__noReload === true`), "the preview updated without a reload")
	screenshot(t, ctx, "recurring-preview-error")

	// The API reference is Kiln's own page: no script from elsewhere, no CSP violation.
	within(t, ctx, 20*time.Second, chromedp.Navigate(base+"/api/docs"))
	waitFor(t, ctx, "the API reference", `document.querySelectorAll('[data-testid="api-op"]').length >= 14`)
	screenshot(t, ctx, "api-docs")

	// Narrow screens: the dashboard fits.
	within(t, ctx, 20*time.Second, chromedp.EmulateViewport(375, 800), chromedp.Navigate(base+"/dashboard/jobs"))
	waitFor(t, ctx, "the jobs list", `!!document.querySelector('[data-testid="jobs"]')`)
	require.LessOrEqual(t, eval[int](t, ctx, `document.documentElement.scrollWidth`), 375, "the jobs page scrolls sideways at 375 px")
	require.Greater(t, eval[float64](t, ctx, `document.querySelector('td.select input').getBoundingClientRect().width`), 10.0, "each row's select box is drawn")
	require.Zero(t, eval[int](t, ctx, `[...document.querySelectorAll('[data-testid="job-error"]')].filter(td => td.innerText.trim() === '' && td.getBoundingClientRect().height > 0).length`),
		"no empty Error row on a job without an error")
	screenshot(t, ctx, "jobs-375")
	within(t, ctx, 20*time.Second, chromedp.Navigate(base+"/dashboard"))
	waitFor(t, ctx, "the overview", `!!document.querySelector('[data-testid="chart-realtime"] .chart-label')`)
	require.LessOrEqual(t, eval[int](t, ctx, `document.documentElement.scrollWidth`), 375, "the overview scrolls sideways at 375 px")
	require.GreaterOrEqual(t, eval[float64](t, ctx, `Math.min(...[...document.querySelectorAll('.chart-label')].map(e => e.getBoundingClientRect().height))`), 11.0,
		"chart labels stay readable at 375 px")
	screenshot(t, ctx, "overview-375")
	require.Equal(t, "", eval[string](t, ctx, `window.__problems.join('\n')`), "no CSP violation or script error")
}
