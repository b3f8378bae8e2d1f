package web_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
)

// colorScheme makes the tab's pages see prefers-color-scheme as scheme: "light" or "dark".
func colorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	})
}

// minContrastJS is the lowest contrast ratio (WCAG's) between the fill of the elements a
// selector names and the background of the card each sits on.
func minContrastJS(selector string) string {
	return `(() => {
		const lum = c => {
			const [r, g, b] = c.match(/[\d.]+/g).slice(0, 3).map(Number).map(v => {
				v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4) });
			return 0.2126 * r + 0.7152 * g + 0.0722 * b };
		const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05) };
		return Math.min(...[...document.querySelectorAll('` + selector + `')].map(el =>
			ratio(getComputedStyle(el).fill, getComputedStyle(el.closest('.card')).backgroundColor)));
	})()`
}

// On a phone the overview's charts, wider than the screen, open at their newest end, "now" in
// view, and stay there across live updates without moving focus or the page; a reader who
// scrolled a chart back keeps their place. The realtime chart draws bars wide enough to read,
// which stand out from the card in light and dark.
func TestBrowserChartsOpenAtTheNewestEnd(t *testing.T) {
	a := setup(t)
	ctx := browser(t)
	for i := range 6 {
		state := models.JobSucceeded
		if i == 0 {
			state = models.JobFailed
		}
		a.finish(a.enqueue("report.build", map[string]int{"n": i}), state, "")
	}
	within(t, ctx, 20*time.Second, recordProblems(), chromedp.EmulateViewport(375, 800), chromedp.Navigate(a.server.URL+"/dashboard"))
	waitFor(t, ctx, "the charts", `document.querySelectorAll('.chart-scroll svg').length === 2`)
	const charts = `[...document.querySelectorAll('.chart-scroll')]`
	require.True(t, eval[bool](t, ctx, charts+`.every(el => el.scrollWidth > el.clientWidth + 100)`),
		"at 375 px both charts are wider than their card and scroll")
	const atNewest = charts + `.every(el => el.scrollWidth - el.clientWidth - el.scrollLeft <= 2)`
	require.True(t, eval[bool](t, ctx, atNewest), "the charts open at their newest end")
	require.True(t, eval[bool](t, ctx, `(() => {
		const box = document.querySelector('[data-testid="chart-scroll-realtime"]').getBoundingClientRect();
		const now = [...document.querySelectorAll('[data-testid="chart-realtime"] .chart-label')].find(l => l.textContent === 'now').getBoundingClientRect();
		return now.left >= box.left && now.right <= box.right })()`), `the realtime chart shows "now"`)
	screenshot(t, ctx, "overview-charts-375")

	// Live updates keep them at the newest end, and leave focus and the page's scroll alone.
	eval[bool](t, ctx, `(() => { window.__swaps = 0; document.addEventListener('htmx:afterSettle', () => window.__swaps++);
		document.querySelector('[data-testid="chart-scroll-realtime"]').focus(); window.scrollTo(0, 300); return true })()`)
	scrolled := eval[float64](t, ctx, `window.scrollY`)
	waitFor(t, ctx, "two live updates", `window.__swaps >= 2`)
	require.True(t, eval[bool](t, ctx, atNewest), "still at the newest end after live updates")
	require.Equal(t, "chart-scroll-realtime", eval[string](t, ctx, `document.activeElement.dataset.testid || document.activeElement.tagName`))
	require.Equal(t, scrolled, eval[float64](t, ctx, `window.scrollY`), "the page did not move")

	// A reader who scrolled the realtime chart back keeps their place; the other stays at now.
	eval[bool](t, ctx, `(() => { document.querySelector('[data-testid="chart-scroll-realtime"]').scrollLeft = 40; window.__swaps = 0; return true })()`)
	waitFor(t, ctx, "two more live updates", `window.__swaps >= 2`)
	require.Equal(t, 40.0, eval[float64](t, ctx, `document.querySelector('[data-testid="chart-scroll-realtime"]').scrollLeft`), "the reader's place is kept")
	require.True(t, eval[bool](t, ctx, `(el => el.scrollWidth - el.clientWidth - el.scrollLeft <= 2)(document.querySelector('[data-testid="chart-scroll-history"]'))`))

	// Bars, not spikes: readable at 375 and 1280, in light and dark.
	const bars = `[data-testid="chart-realtime"] rect.chart-bar`
	for _, width := range []int64{375, 1280} {
		within(t, ctx, 20*time.Second, chromedp.EmulateViewport(width, 900), chromedp.Navigate(a.server.URL+"/dashboard"))
		waitFor(t, ctx, "the realtime chart", `!!document.querySelector('[data-testid="chart-realtime"] svg')`)
		require.GreaterOrEqual(t, eval[int](t, ctx, `document.querySelectorAll('`+bars+`').length`), 2, "a bar for the successes and one for the failure")
		minWidth := eval[float64](t, ctx, `Math.min(...[...document.querySelectorAll('`+bars+`')].map(r => r.getBoundingClientRect().width))`)
		require.GreaterOrEqual(t, minWidth, 4.0, "at %d px the realtime bars are %.1f px wide", width, minWidth)
		t.Logf("at %d px the realtime bars are %.1f px wide", width, minWidth)
		minHeight := eval[float64](t, ctx, `Math.min(...[...document.querySelectorAll('`+bars+`')].map(r => r.getBoundingClientRect().height))`)
		require.GreaterOrEqual(t, minHeight, 2.0, "at %d px", width)
		for _, scheme := range []string{"light", "dark"} {
			within(t, ctx, 10*time.Second, colorScheme(scheme))
			c := eval[float64](t, ctx, minContrastJS(bars))
			require.GreaterOrEqual(t, c, 3.0, "at %d px in %s, the bars stand out from the card (WCAG 1.4.11): %.2f", width, scheme, c)
			screenshot(t, ctx, fmt.Sprintf("overview-%d-%s", width, scheme))
		}
		within(t, ctx, 10*time.Second, colorScheme("light"))
	}
	require.Equal(t, "", eval[string](t, ctx, `window.__problems.join('\n')`), "no CSP violation or script error")
}
