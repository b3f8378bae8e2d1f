package web_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/alerts"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// TestBrowserAlertFromRecurring is the story: make a webhook channel, open a recurring
// job, use "Alert me if this fails or is late" to make a rule (a grace of 1s to be quick), see
// the alert open on /dashboard/alerts when the job fails, with no reload, and acknowledge it.
// A real engine runs the recurring job, the alert evaluator and the deliveries.
func TestBrowserAlertFromRecurring(t *testing.T) {
	got := make(chan string, 100)
	hook := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
	}))
	t.Cleanup(hook.Close)

	store := modeltest.Open(t, modeltest.SQLiteDSN(t))
	engine, err := jobs.New(store, jobs.Config{PollInterval: 100 * time.Millisecond, SoftStop: 100 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, engine.Register("flaky.sync", func(context.Context, *models.Job) error { return errors.New("partner API answered 503") }))
	require.NoError(t, engine.Recurring("flaky-sync", "@every 1s", "flaky.sync", nil, jobs.MaxAttempts(1)))
	cfg := alerts.Config{Every: 200 * time.Millisecond, Settle: 100 * time.Millisecond}
	_, err = alerts.Register(engine, store.Channels, cfg)
	require.NoError(t, err)
	require.NoError(t, alerts.New(engine, store.Rules, cfg).Register())
	require.NoError(t, engine.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, engine.Stop(context.Background())) })
	srv, err := web.New(web.Config{LocalNoAuth: true, Alerts: cfg}, store, engine, nil)
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	ctx := browser(t)

	within(t, ctx, 20*time.Second,
		chromedp.Navigate(ts.URL+"/dashboard/alerts/channels/new?type=webhook"),
		chromedp.SetValue(chromedp.CSS("#name"), "ops-hook"),
		chromedp.SetValue(chromedp.CSS("#url"), hook.URL+"/kiln"),
		chromedp.Submit(chromedp.CSS(`#name`)),
	)
	waitFor(t, ctx, "the channel saved", `location.pathname === '/dashboard/alerts/channels/ops-hook'`)

	within(t, ctx, 20*time.Second,
		chromedp.Navigate(ts.URL+"/dashboard/recurring"),
		chromedp.Click(chromedp.CSS(`[data-name="flaky-sync"] [data-testid="alert-me"]`)),
	)
	waitFor(t, ctx, "the prefilled rule form", `!!document.querySelector('[data-testid="rule-form"]')`)
	require.True(t, eval[bool](t, ctx, `document.querySelector('input[name="channels"][value="ops-hook"]').checked`), "the channel chosen")
	require.Equal(t, "30m", eval[string](t, ctx, `document.querySelector('#grace').value`))
	within(t, ctx, 20*time.Second,
		chromedp.SetValue(chromedp.CSS("#grace"), "1s"),
		chromedp.Click(chromedp.CSS(`[data-testid="save-rule"]`)),
	)
	waitFor(t, ctx, "back on the alerts page", `location.pathname === '/dashboard/alerts'`)
	require.Contains(t, eval[string](t, ctx, `document.querySelector('[data-testid="rule-row"][data-name="flaky-sync failed or late"]').innerText`), "flaky-sync")

	// The alert opens while the page stays loaded: the live region brings it.
	require.True(t, eval[bool](t, ctx, `window.notReloaded = true`))
	waitFor(t, ctx, "the alert open", `!!document.querySelector('[data-testid="open-alerts"] [data-testid="alert-row"]')`)
	require.True(t, eval[bool](t, ctx, `window.notReloaded === true`), "no reload")
	row := eval[string](t, ctx, `document.querySelector('[data-testid="open-alerts"] [data-testid="alert-row"]').innerText`)
	require.Contains(t, row, "flaky-sync failed or late")
	select {
	case body := <-got:
		require.Contains(t, body, "flaky-sync")
	case <-time.After(15 * time.Second):
		t.Fatal("the channel was not told")
	}

	// The silence menu stays open across the live swaps (hx-preserve) while someone chooses.
	within(t, ctx, 20*time.Second, chromedp.Click(chromedp.CSS(`[data-testid="open-alerts"] [data-testid="silence"]`)))
	require.True(t, eval[bool](t, ctx, `(window.swaps = 0, document.body.addEventListener('htmx:afterSettle', () => window.swaps++), true)`))
	waitFor(t, ctx, "two live swaps", `window.swaps >= 2`)
	require.True(t, eval[bool](t, ctx, `document.querySelector('[data-testid="open-alerts"] details.menu').open`), "still open")
	require.True(t, eval[bool](t, ctx, `document.activeElement.matches('[data-testid="silence"]')`), "focus kept")

	within(t, ctx, 20*time.Second, chromedp.Click(chromedp.CSS(`[data-testid="open-alerts"] [data-testid="acknowledge"]`)))
	waitFor(t, ctx, "acknowledged", `(() => { const a = document.querySelector('[data-testid="open-alerts"] [data-testid="acknowledged"]');
		return !!a && a.innerText.includes('by local') })()`)
	require.True(t, strings.Contains(eval[string](t, ctx, `document.querySelector('[data-testid="flash"]').innerText`), "acknowledged"))
}
