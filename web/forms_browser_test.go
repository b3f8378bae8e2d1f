package web_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// cutOptionsJS lists the texts of the page's forms that are cut: a select's option wider than
// the box that shows it (measured in the select's font), or a choice's label that overflows
// its box or the screen.
const cutOptionsJS = `(() => {
	const cut = [];
	const ctx = document.createElement('canvas').getContext('2d');
	document.querySelectorAll('form select').forEach(sel => {
		const st = getComputedStyle(sel);
		ctx.font = st.fontWeight + ' ' + st.fontSize + ' ' + st.fontFamily;
		const room = sel.clientWidth - parseFloat(st.paddingLeft) - parseFloat(st.paddingRight) - 16; // the arrow
		[...sel.options].forEach(o => { if (ctx.measureText(o.text).width > room) cut.push(sel.name + ': ' + o.text) });
	});
	document.querySelectorAll('form label').forEach(l => {
		const r = l.getBoundingClientRect();
		if (r.width > 0 && (l.scrollWidth > l.clientWidth + 1 || r.right > innerWidth)) cut.push('label: ' + l.innerText);
	});
	return cut;
})()`

// The New job form keeps each "When" choice with its field, and shows the moment picked the
// way every other date reads; no form cuts the text of a choice at 375 px; the recurring form
// uses the width of a desktop screen.
func TestBrowserFormsLayOutTheirChoices(t *testing.T) {
	a := setup(t)
	ctx := browser(t)
	a.setZone("UTC")

	within(t, ctx, 20*time.Second, recordProblems(), timezone("UTC"), chromedp.EmulateViewport(1280, 900), chromedp.Navigate(a.server.URL+"/dashboard/jobs/new"))
	waitFor(t, ctx, "the New job form", `!!document.querySelector('#run_at')`)
	for _, choice := range []struct{ radio, field string }{{"delay", "#delay"}, {"at", "#run_at"}} {
		dx := eval[float64](t, ctx, fmt.Sprintf(`document.querySelector('%s').getBoundingClientRect().left - document.querySelector('input[name="when"][value="%s"]').getBoundingClientRect().left`, choice.field, choice.radio))
		require.True(t, dx >= -8 && dx <= 32, "at 1280 px the %q choice and its field %s share a column (%.0f px apart)", choice.radio, choice.field, dx)
		require.Greater(t, eval[float64](t, ctx, fmt.Sprintf(`document.querySelector('%s').getBoundingClientRect().top - document.querySelector('input[name="when"][value="%s"]').getBoundingClientRect().top`, choice.field, choice.radio)), 0.0,
			"the field is under its choice")
	}
	// Picking a moment checks "At" and reads the moment as the rest of the dashboard does.
	eval[bool](t, ctx, `(() => { const el = document.querySelector('#run_at'); el.value = '2030-03-05T14:30'; el.dispatchEvent(new Event('input', {bubbles: true})); return true })()`)
	waitFor(t, ctx, "the moment picked, in words", `(document.querySelector('[data-testid="run-at-preview"] time') || {innerText: ''}).innerText === 'Tue 5 Mar 2030, 14:30'`)
	require.Regexp(t, `^in \d+ years?$`, eval[string](t, ctx, `document.querySelector('[data-testid="run-at-preview"] .rel').innerText`))
	require.True(t, eval[bool](t, ctx, `document.querySelector('input[name="when"][value="at"]').checked`), "typing a moment chooses At")
	eval[bool](t, ctx, `(() => { const el = document.querySelector('#delay'); el.value = '10m'; el.dispatchEvent(new Event('input', {bubbles: true})); return true })()`)
	require.True(t, eval[bool](t, ctx, `document.querySelector('input[name="when"][value="delay"]').checked`), "typing a delay chooses After")
	screenshot(t, ctx, "job-new-when-1280")

	// The recurring form: fields and the schedule's preview side by side, using the width.
	within(t, ctx, 20*time.Second, chromedp.Navigate(a.server.URL+"/dashboard/recurring/new"))
	waitFor(t, ctx, "the recurring form", `!!document.querySelector('[data-testid="recurring-form"]')`)
	used := eval[float64](t, ctx, `document.querySelector('[data-testid="recurring-form"]').getBoundingClientRect().width / document.querySelector('main').clientWidth`)
	require.Greater(t, used, 0.9, "the recurring form uses the width at 1280 px (%.0f%%)", used*100)
	require.True(t, eval[bool](t, ctx, `document.querySelector('[data-testid="schedule-aside"]').getBoundingClientRect().left > document.querySelector('#spec').getBoundingClientRect().right`),
		"the schedule's preview sits beside the fields")
	screenshot(t, ctx, "recurring-new-1280")

	// At 375 px no choice is cut.
	within(t, ctx, 10*time.Second, chromedp.EmulateViewport(375, 800))
	for _, path := range []string{"/dashboard/recurring/new", "/dashboard/jobs/new", "/dashboard/jobs/new?kind=exec"} {
		within(t, ctx, 20*time.Second, chromedp.Navigate(a.server.URL+path))
		waitFor(t, ctx, path, `document.readyState === 'complete' && !!document.querySelector('form select')`)
		require.Empty(t, eval[[]string](t, ctx, cutOptionsJS), "%s at 375 px", path)
		require.LessOrEqual(t, eval[int](t, ctx, `document.documentElement.scrollWidth`), 375, "%s scrolls sideways at 375 px", path)
	}
	screenshot(t, ctx, "recurring-new-375")
	require.Equal(t, "", eval[string](t, ctx, `window.__problems.join('\n')`), "no CSP violation or script error")
}
