package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// The dashboard's tables use the width they are given and hide nothing, and the jobs list is as
// dense as Hangfire's and Sidekiq's: these tests run on seedDashboard's awkward data.

// dataPages are the dashboard's pages that show tables; the job page is added by the test.
var dataPages = []string{
	"/", "/dashboard", "/dashboard/jobs", "/dashboard/jobs?state=failed", "/dashboard/recurring", "/dashboard/kinds",
	"/dashboard/queues", "/dashboard/servers", "/dashboard/secrets", "/dashboard/tokens", "/dashboard/alerts", "/dashboard/alerts/channels",
	"/dashboard/audit",
}

// clippedJS lists what the page hides sideways: the page or a table's container scrolling, a
// cell or button reaching past its table's container, a button's text cut.
const clippedJS = `(() => {
	const out = [];
	const root = document.documentElement;
	if (root.scrollWidth > root.clientWidth) out.push('the page scrolls sideways: ' + root.scrollWidth + ' > ' + root.clientWidth);
	document.querySelectorAll('table').forEach((table, i) => {
		const box = table.parentElement, name = (table.dataset.testid || 'table ' + i);
		if (box.scrollWidth > box.clientWidth + 1) out.push(name + ' scrolls: ' + box.scrollWidth + ' > ' + box.clientWidth);
		const r = box.getBoundingClientRect();
		table.querySelectorAll('th, td, .btn').forEach(el => {
			const e = el.getBoundingClientRect();
			const head = el.closest('thead');
			if (e.width === 0 || (head && head.getBoundingClientRect().width <= 1)) return; // a header hidden but for screen readers
			const what = name + ' ' + el.tagName.toLowerCase() + ' "' + el.innerText.trim().slice(0, 24) + '"';
			if (e.right > r.right + 1 || e.left < r.left - 1) out.push(what + ' is outside its table: ' + Math.round(e.left) + '..' + Math.round(e.right) + ' of ' + Math.round(r.left) + '..' + Math.round(r.right));
			if (el.classList.contains('btn') && el.scrollWidth > el.clientWidth + 1) out.push(what + ' has its text cut');
		});
	});
	return JSON.stringify(out);
})()`

// TestBrowserTablesFit: at 1280 and 375 px no table of any data page scrolls sideways or puts a
// column or a button out of sight, with long kind names and errors, and a recurring job made in
// the UI (which has a Delete button).
func TestBrowserTablesFit(t *testing.T) {
	a := setup(t)
	ctx := browser(t)
	s := a.seedDashboard()
	pages := append(dataPages, fmt.Sprintf("/dashboard/jobs/%d", s.httpJob.ID), "/dashboard/kinds/"+longKind)
	pages = append(pages, a.seedWorkflows()...)
	var clipped []string
	for _, size := range [][2]int64{{1280, 800}, {375, 667}} {
		within(t, ctx, 10*time.Second, chromedp.EmulateViewport(size[0], size[1]))
		for _, path := range pages {
			within(t, ctx, 20*time.Second, chromedp.Navigate(a.server.URL+path))
			waitFor(t, ctx, path, `document.readyState === 'complete'`)
			var found []string
			require.NoError(t, json.Unmarshal([]byte(eval[string](t, ctx, clippedJS)), &found))
			for _, f := range found {
				clipped = append(clipped, fmt.Sprintf("%s at %d px: %s", path, size[0], f))
			}
		}
		within(t, ctx, 20*time.Second, chromedp.Navigate(a.server.URL+"/dashboard/recurring"))
		waitFor(t, ctx, "the recurring page", `document.readyState === 'complete'`)
		if !eval[bool](t, ctx, `(() => { const b = document.querySelector('[data-name="partner-orders-confirmation-callbacks-eu-west"] [data-testid="delete"]');
			const r = b.getBoundingClientRect(); return r.width > 0 && r.right <= document.documentElement.clientWidth && b.scrollWidth <= b.clientWidth })()`) {
			clipped = append(clipped, fmt.Sprintf("the UI-made recurring job's Delete button is cut at %d px", size[0]))
		}
	}
	require.Empty(t, clipped)

	// An alert a line at 1280 px, open or resolved, with seedAlerts' long names.
	within(t, ctx, 10*time.Second, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(a.server.URL+"/dashboard/alerts"))
	waitFor(t, ctx, "the alerts page", `document.readyState === 'complete'`)
	heights := eval[[]float64](t, ctx, `[...document.querySelectorAll('[data-testid="alert-row"]')].map(r => r.getBoundingClientRect().height)`)
	require.Len(t, heights, 4)
	for _, h := range heights {
		require.Less(t, h, 48.0, "an alert takes one line: %v", heights)
	}
}

// listMetrics measures the jobs list as its first screen shows it.
type listMetrics struct {
	Rows        int     `json:"rows"`        // job rows on the page
	FirstScreen int     `json:"firstScreen"` // rows whose top is within the viewport
	RowHeight   float64 `json:"rowHeight"`   // the median row's height, px
	PageHeight  int     `json:"pageHeight"`
	TabLines    int     `json:"tabLines"` // lines the state tabs take
}

const listMetricsJS = `(() => {
	scrollTo(0, 0);
	const rows = [...document.querySelectorAll('[data-testid="job-row"]')];
	const heights = rows.map(r => r.getBoundingClientRect().height).sort((x, y) => x - y);
	const tops = new Set([...document.querySelectorAll('.tabs [data-testid="tab"]')].map(e => Math.round(e.getBoundingClientRect().top)));
	return JSON.stringify({rows: rows.length, firstScreen: rows.filter(r => r.getBoundingClientRect().top < innerHeight).length,
		rowHeight: heights[Math.floor(heights.length / 2)] || 0, pageHeight: document.documentElement.scrollHeight, tabLines: tops.size});
})()`

// TestBrowserJobsListDensity: at 1280 x 800 the first screen shows at least 15 jobs, each on
// one line, and the state tabs on one line; at 375 x 667 at least 5 jobs.
func TestBrowserJobsListDensity(t *testing.T) {
	a := setup(t)
	ctx := browser(t)
	s := a.seedDashboard()
	var failures []string
	for _, tc := range []struct {
		width, height int64
		firstScreen   int
	}{{1280, 800, 15}, {375, 667, 5}} {
		within(t, ctx, 10*time.Second, chromedp.EmulateViewport(tc.width, tc.height))
		within(t, ctx, 20*time.Second, chromedp.Navigate(a.server.URL+"/dashboard/jobs"))
		waitFor(t, ctx, "the jobs list", `!!document.querySelector('[data-testid="jobs"]')`)
		var m listMetrics
		require.NoError(t, json.Unmarshal([]byte(eval[string](t, ctx, listMetricsJS)), &m))
		t.Logf("jobs list at %dx%d: %d rows, %d in the first screen, median row %.0f px, page %d px, tabs on %d line(s)",
			tc.width, tc.height, m.Rows, m.FirstScreen, m.RowHeight, m.PageHeight, m.TabLines)
		shots(t, ctx, fmt.Sprintf("jobs-%d", tc.width))
		require.Equal(t, 20, m.Rows)
		if m.FirstScreen < tc.firstScreen {
			failures = append(failures, fmt.Sprintf("%d jobs in the first screen at %d px, want %d or more", m.FirstScreen, tc.width, tc.firstScreen))
		}
		if tc.width == 1280 && m.TabLines != 1 {
			failures = append(failures, fmt.Sprintf("the state tabs take %d lines at 1280 px", m.TabLines))
		}
		if tc.width == 1280 && m.RowHeight >= 40 {
			failures = append(failures, fmt.Sprintf("a job takes %.0f px at 1280 px: more than one line", m.RowHeight))
		}
		within(t, ctx, 20*time.Second, chromedp.Navigate(fmt.Sprintf("%s/dashboard/jobs/%d", a.server.URL, s.httpJob.ID)))
		waitFor(t, ctx, "the job page", `!!document.querySelector('#job-live')`)
		t.Logf("job page at %d: %d px tall", tc.width, eval[int](t, ctx, `document.documentElement.scrollHeight`))
		shots(t, ctx, fmt.Sprintf("job-http-%d", tc.width))
	}
	require.Empty(t, failures)
}

// TestBrowserFocusNotUnderTheTopBar brings a link back into view up a long jobs list, as an
// anchor, a find or a test driver's click does (scrolled to the top of the view): it must land
// below the sticky top bar, not under it (WCAG 2.4.11).
func TestBrowserFocusNotUnderTheTopBar(t *testing.T) {
	a := setup(t)
	ctx := browser(t)
	a.seedDashboard()
	within(t, ctx, 10*time.Second, chromedp.EmulateViewport(1280, 500))
	within(t, ctx, 20*time.Second, chromedp.Navigate(a.server.URL+"/dashboard/jobs"))
	waitFor(t, ctx, "the jobs list", `!!document.querySelector('[data-testid="jobs"]')`)
	gap := eval[float64](t, ctx, `(() => {
		window.scrollTo(0, document.documentElement.scrollHeight);
		const link = document.querySelectorAll('[data-testid="job-link"]')[2];
		link.scrollIntoView();
		link.focus({preventScroll: true});
		return link.getBoundingClientRect().top - document.querySelector('.topbar').getBoundingClientRect().bottom;
	})()`)
	require.GreaterOrEqual(t, gap, 0.0, "the focused link is %.0f px under the top bar", -gap)
}

// TestBrowserAccessibilityBusyPages runs axe-core on the data pages full of seedDashboard's jobs
// (progress bars, cut errors and results, tags, a recurring job's last run), at 1280 and 375 px,
// in light and dark colours.
func TestBrowserAccessibilityBusyPages(t *testing.T) {
	a := setup(t)
	ctx := browser(t)
	s := a.seedDashboard()
	pages := append(dataPages, fmt.Sprintf("/dashboard/jobs/%d", s.httpJob.ID), "/dashboard/kinds/"+longKind)
	pages = append(pages, a.seedWorkflows()...)
	for _, scheme := range []string{"light", "dark"} {
		within(t, ctx, 10*time.Second, colorScheme(scheme))
		for _, width := range []int64{1280, 375} {
			within(t, ctx, 10*time.Second, chromedp.EmulateViewport(width, 800))
			for _, path := range pages {
				within(t, ctx, 20*time.Second, chromedp.Navigate(a.server.URL+path))
				waitFor(t, ctx, path, `document.readyState === 'complete'`)
				axeCheck(t, ctx, fmt.Sprintf("%s at %d px, %s", path, width, scheme))
			}
		}
	}
}

// shots saves the first screen and the whole page as PNGs into $KILN_SCREENSHOT_DIR when it is
// set: name.png and name-full.png.
func shots(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("KILN_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	screen, err := chromedp.Run(tctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".png"), screen, 0o644))
	screenshot(t, ctx, name+"-full")
}
