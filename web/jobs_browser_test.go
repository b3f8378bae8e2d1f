package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/secrets"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// TestBrowserRecurringHTTPJob makes a recurring HTTP job in Chromium as a person would, with no
// code: the preview follows the schedule as it is typed, the job is saved, and its first run's
// response shows on the job's page. The request carries a secret that the page never shows.
func TestBrowserRecurringHTTPJob(t *testing.T) {
	ctx := browser(t)
	store := modeltest.Open(t, modeltest.SQLiteDSN(t))
	vault, err := secrets.Open(context.Background(), store, "")
	require.NoError(t, err)
	const token = "tok-7d1e-never-shown"
	_, err = vault.Set(context.Background(), "partner.token", token, "ada")
	require.NoError(t, err)
	got := make(chan string, 100)
	partner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("X-Token")
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"pong":true,"seen":%q}`, r.Header.Get("X-Token"))
	}))
	t.Cleanup(partner.Close)

	engine, err := jobs.New(store, jobs.Config{PollInterval: 100 * time.Millisecond, SoftStop: 100 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, builtin.Register(engine, store.Jobs, builtin.Config{Secrets: vault}))
	require.NoError(t, engine.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, engine.Stop(context.Background())) })
	srv, err := web.New(web.Config{LocalNoAuth: true, Secrets: vault}, store, engine, nil)
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	base := ts.URL

	within(t, ctx, 20*time.Second, recordProblems(), chromedp.Navigate(base+"/dashboard/recurring"))
	waitFor(t, ctx, "the recurring page", `!!document.querySelector('[data-testid="new-recurring"]')`)
	within(t, ctx, 20*time.Second, chromedp.Click(chromedp.CSS(`[data-testid="new-recurring"]`)))
	waitFor(t, ctx, "the new recurring job form", `location.pathname === '/dashboard/recurring/new' && !!document.querySelector('input[name="http_url"]')`)
	require.True(t, eval[bool](t, ctx, `window.__noReload = true`))

	// Type a schedule: the preview follows, in words and runs, then says what is wrong.
	eval[string](t, ctx, `document.querySelector('input[name="tz"]').value = ''`)
	within(t, ctx, 10*time.Second,
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), "partner-ping"),
		chromedp.SendKeys(chromedp.CSS(`input[name="tz"]`), "America/New_York"),
		chromedp.SendKeys(chromedp.CSS(`input[name="spec"]`), "0 2 * * *"),
	)
	waitFor(t, ctx, "the preview of 0 2 * * *", `(document.querySelector('[data-testid="preview-describe"]') || {innerText: ''}).innerText === 'Runs at 02:00 every day, America/New_York time.'`)
	require.Equal(t, 5, eval[int](t, ctx, `document.querySelectorAll('[data-testid="preview-runs"] li').length`))
	within(t, ctx, 10*time.Second, chromedp.SendKeys(chromedp.CSS(`input[name="spec"]`), " 9"))
	waitFor(t, ctx, "the preview's error", `!!document.querySelector('[data-testid="preview-error"]')`)
	eval[string](t, ctx, `document.querySelector('input[name="spec"]').value = ''`)
	within(t, ctx, 10*time.Second, chromedp.SendKeys(chromedp.CSS(`input[name="spec"]`), "@every 1s"))
	waitFor(t, ctx, "the preview of @every 1s", `(document.querySelector('[data-testid="preview-describe"]') || {innerText: ''}).innerText.includes('every second')`)
	screenshot(t, ctx, "recurring-new-preview")

	// What to run: a GET with a header that carries the secret.
	within(t, ctx, 10*time.Second,
		chromedp.SendKeys(chromedp.CSS(`input[name="http_url"]`), partner.URL+"/ping"),
		chromedp.SendKeys(chromedp.CSS(`input[name="http_header_name"]`), "X-Token"),
		chromedp.SendKeys(chromedp.CSS(`input[name="http_header_value"]`), "${secret:partner.token}"),
	)
	require.True(t, eval[bool](t, ctx, `window.__noReload === true`), "the preview updated without a reload")
	// Clicked from script: chromedp scrolls a node to the top, under the sticky top bar.
	eval[bool](t, ctx, `(() => { document.querySelector('input[name="overlap"][value="skip"]').click(); return true })()`)
	within(t, ctx, 20*time.Second, chromedp.Click(chromedp.CSS(`[data-testid="submit"]`)))
	waitFor(t, ctx, "the recurring list with the new job", `location.pathname === '/dashboard/recurring' && !!document.querySelector('[data-name="partner-ping"]')`)
	require.Equal(t, "overlap: skip", eval[string](t, ctx, `document.querySelector('[data-name="partner-ping"] [data-testid="overlap"]').innerText`))
	require.Contains(t, eval[string](t, ctx, `document.querySelector('[data-testid="flash"]').innerText`), "Recurring job partner-ping created")
	select {
	case v := <-got:
		require.Equal(t, token, v, "the secret reached the server")
	case <-time.After(15 * time.Second):
		t.Fatal("the recurring job never called the server")
	}

	// Its first run's response, on the job's page.
	rj, err := store.Recurring.GetRecurring(context.Background(), "partner-ping")
	require.NoError(t, err)
	var first int64
	require.Eventually(t, func() bool {
		page, err := store.JobQueries.ListJobs(context.Background(), models.JobFilter{Kind: builtin.KindHTTPRequest, State: models.JobSucceeded}, 0, 0, 100)
		for _, j := range page.Jobs {
			if err == nil && j.RecurringID != nil && *j.RecurringID == rj.ID {
				first = j.ID
			}
		}
		return first != 0
	}, 15*time.Second, 50*time.Millisecond)
	within(t, ctx, 20*time.Second, chromedp.Navigate(fmt.Sprintf("%s/dashboard/jobs/%d", base, first)))
	waitFor(t, ctx, "the response on the job page", `(document.querySelector('[data-testid="http-status"]') || {innerText: ''}).innerText.includes('200')`)
	body := eval[string](t, ctx, `document.querySelector('[data-testid="http-body"]').innerText`)
	require.Contains(t, body, `"pong": true`)
	require.Contains(t, body, `"seen": "${secret:partner.token}"`, "the echoed secret is masked")
	require.NotContains(t, eval[string](t, ctx, `document.documentElement.outerHTML`), token)
	screenshot(t, ctx, "http-job-response")

	// Pause it from the list: the calls stop.
	within(t, ctx, 20*time.Second, chromedp.Navigate(base+"/dashboard/recurring"))
	within(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS(`[data-name="partner-ping"] [data-testid="pause"]`)))
	waitFor(t, ctx, "the job paused", `!!document.querySelector('[data-name="partner-ping"] [data-testid="resume"]')`)
	require.Equal(t, "", eval[string](t, ctx, `window.__problems.join('\n')`), "no CSP violation or script error")
}
