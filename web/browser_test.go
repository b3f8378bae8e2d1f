package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
)

// browser starts headless Chromium for one test, with its own profile, and returns a tab.
// Without Chromium the test skips, or fails under CI (CI=true), where .ci/run installs it.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed; CI must run the browser tests (.ci/run installs it)")
		}
		t.Skip("browser tests skipped: install Debian's chromium package to run them")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // Chromium's sandbox refuses to run as root, as CI does
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	require.NoError(t, chromedp.Do(ctx), "start chromium") // first run without a timeout: it owns the browser
	return ctx
}

// within runs steps with a time limit, failing the test on error.
func within(t *testing.T, ctx context.Context, d time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	require.NoError(t, chromedp.Do(tctx, steps...))
}

// waitFor polls a JavaScript predicate until it is true; unlike chromedp.Poll it survives the
// page navigating or reloading meanwhile.
func waitFor(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		ok, err := chromedp.Run(tctx, chromedp.Evaluate[bool](js))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	t.Fatalf("timed out waiting for %s; page text:\n%s", what, html)
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Evaluate[T](js))
	require.NoError(t, err, js)
	return v
}

// recordProblems makes every page the tab loads collect CSP violations and script errors into
// window.__problems, for the test to read.
func recordProblems() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
			window.__problems = [];
			document.addEventListener('securitypolicyviolation', e => window.__problems.push('CSP ' + e.violatedDirective + ' ' + e.blockedURI));
			window.addEventListener('error', e => window.__problems.push('error ' + e.message));`})
		return err
	})
}

func timezone(zone string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone})
		return err
	})
}

// screenshot saves a PNG of the page into $KILN_SCREENSHOT_DIR when it is set.
func screenshot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("KILN_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100)) // quality 100 means PNG
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
}

// TestBrowserTaskFlow checks what only a browser shows: the script fills the time zone field
// with the browser's zone and keeps the zone cookie, so dates render in the viewer's zone;
// forms submitted through htmx create a task or come back with their errors; the layout fits a
// 375 px screen.
func TestBrowserTaskFlow(t *testing.T) {
	a := setup(t)
	ctx := browser(t)
	a.createTask("Existing task", time.Date(2027, 6, 1, 0, 30, 0, 0, time.UTC)) // 09:30 in Tokyo

	// The first page, before the server knows the zone, shows its dates in the browser's zone
	// at once, without loading a second time.
	countLoads := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `sessionStorage.setItem('loads', String(Number(sessionStorage.getItem('loads') || 0) + 1))`})
		return err
	})
	within(t, ctx, 20*time.Second, recordProblems(), countLoads, timezone("Asia/Tokyo"), chromedp.Navigate(a.server.URL+"/"))
	waitFor(t, ctx, "the first page's dates in Tokyo time", `document.body.innerText.includes('Times are shown in Asia/Tokyo')`)
	require.Equal(t, "Tue 1 Jun 2027, 09:30", eval[string](t, ctx, `document.querySelector('[data-testid="task-due"] time').innerText`))
	require.Contains(t, eval[string](t, ctx, `document.querySelector('[data-testid="task-due"] time').title`), "00:30:00 UTC")
	time.Sleep(300 * time.Millisecond) // a reload, if any, would have happened by now
	require.Equal(t, "1", eval[string](t, ctx, `sessionStorage.getItem('loads')`), "one load, no reload to learn the zone")

	within(t, ctx, 20*time.Second, chromedp.Navigate(a.server.URL+"/tasks/new"))
	waitFor(t, ctx, "the zone field filled from the browser", `document.querySelector('#tz') && document.querySelector('#tz').value === 'Asia/Tokyo'`)
	screenshot(t, ctx, "task-form")

	// An empty title comes back through htmx with the message beside the field, input kept.
	within(t, ctx, 10*time.Second,
		chromedp.SetValue(chromedp.CSS("#description"), "Typed before the mistake"),
		chromedp.SetValue(chromedp.CSS("#due_at"), "2027-07-01T18:45"),
		chromedp.Click(chromedp.CSS(`[data-testid="submit"]`)),
	)
	waitFor(t, ctx, "the title error", `!!document.querySelector('[data-testid="error-title"]')`)
	require.Equal(t, "Title is required.", eval[string](t, ctx, `document.querySelector('[data-testid="error-title"]').innerText`))
	require.Equal(t, "Typed before the mistake", eval[string](t, ctx, `document.querySelector('#description').value`))
	require.Equal(t, "2027-07-01T18:45", eval[string](t, ctx, `document.querySelector('#due_at').value`))
	screenshot(t, ctx, "task-form-error")
	require.EqualValues(t, 1, a.countTasks())

	within(t, ctx, 10*time.Second,
		chromedp.SetValue(chromedp.CSS("#title"), "Ship the release"),
		chromedp.Click(chromedp.CSS(`[data-testid="submit"]`)),
	)
	waitFor(t, ctx, "the task list with the flash", `!!document.querySelector('[data-testid="flash"]') && location.pathname === '/'`)
	require.Contains(t, eval[string](t, ctx, `document.querySelector('[data-testid="flash"]').innerText`), "Ship the release")
	// The browser's zone cookie makes the server render both tasks in Tokyo time.
	waitFor(t, ctx, "dates in Tokyo time", `document.body.innerText.includes('Times are shown in Asia/Tokyo')`)
	dues := eval[string](t, ctx, `[...document.querySelectorAll('[data-testid="task-due"] time')].map(e => e.innerText).join('|')`)
	require.Equal(t, "Tue 1 Jun 2027, 09:30|Thu 1 Jul 2027, 18:45", dues)
	screenshot(t, ctx, "task-list")

	tasks, err := a.store.Tasks.ListTasks(context.Background(), models.TaskFilter{Status: models.TaskAll})
	require.NoError(t, err)
	require.Len(t, tasks, 2)
	require.Equal(t, time.Date(2027, 7, 1, 9, 45, 0, 0, time.UTC), tasks[1].DueAt.UTC(), "18:45 in Tokyo is 09:45 UTC")

	// Narrow screens: nothing wider than the viewport.
	within(t, ctx, 20*time.Second, chromedp.EmulateViewport(375, 800), chromedp.Navigate(a.server.URL+"/"))
	waitFor(t, ctx, "the list", `!!document.querySelector('[data-testid="tasks"]')`)
	width := eval[int](t, ctx, `document.documentElement.scrollWidth`)
	require.LessOrEqual(t, width, 375, "the page scrolls sideways at 375 px")
	require.True(t, eval[bool](t, ctx, `[...document.querySelectorAll('[data-testid="tab"]')].every(e => {
		const r = e.getBoundingClientRect(); return r.left >= 0 && r.right <= window.innerWidth })`), "every filter tab is fully in view")
	screenshot(t, ctx, "task-list-375")

	require.Equal(t, "", eval[string](t, ctx, `window.__problems.join('\n')`), "no CSP violation or script error")
}
