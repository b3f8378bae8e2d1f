package web_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// ssoSignIn opens path signed out, is sent to the login page, and signs in through the test's
// provider with the account queued there, back at path.
func ssoSignIn(t *testing.T, ctx context.Context, base, path string) {
	t.Helper()
	within(t, ctx, 20*time.Second, chromedp.Navigate(base+path))
	waitFor(t, ctx, "the login page", `location.pathname === '/login' && !!document.querySelector('[data-testid="login-sso"]')`)
	within(t, ctx, 20*time.Second, chromedp.Click(chromedp.CSS(`[data-testid="login-sso"]`)))
	waitFor(t, ctx, "signed in, back at "+path, `location.pathname + location.search === `+strconv.Quote(path)+` && !!document.querySelector('[data-testid="username"]')`)
}

// TestBrowserOperatorRetryIsAudited is the audit trail's story in a browser: an operator signs
// in through the OpenID Connect provider (the role from a group), requeues a failed job from its
// page and sees the entry in the job's Audit section, with no way to Secrets nor to the audit
// page; an admin, signed in after them, finds the same entry on /dashboard/audit.
func TestBrowserOperatorRetryIsAudited(t *testing.T) {
	p := newIDP(t, "")
	a, _ := ssoApp(t, modeltest.SQLiteDSN(t), p, nil)
	job := a.enqueue("mail.send", nil)
	a.finish(job, models.JobFailed, "smtp: 550 mailbox unavailable")
	jobPath := "/dashboard/jobs/" + itoa(job.ID)
	ctx := browser(t)

	p.queue("sub-olga", "olga", "oncall")
	ssoSignIn(t, ctx, a.server.URL, jobPath)
	require.Equal(t, "olga", eval[string](t, ctx, `document.querySelector('[data-testid="username"]').innerText`))
	require.Equal(t, "No one has changed this job.", eval[string](t, ctx, `document.querySelector('#job-audit [data-testid="audit-empty"]').innerText`))
	within(t, ctx, 20*time.Second, chromedp.Click(chromedp.CSS(`[data-testid="action-requeue"]`)))
	waitFor(t, ctx, "the requeue's entry in the job's Audit section", `!!document.querySelector('#job-audit [data-testid="audit-row"]')`)
	require.Equal(t, "olga", eval[string](t, ctx, `document.querySelector('#job-audit [data-testid="audit-actor"]').innerText`))
	require.Equal(t, "jobs.retry", eval[string](t, ctx, `document.querySelector('#job-audit [data-testid="audit-action"]').innerText`))
	require.Equal(t, 1, eval[int](t, ctx, `document.querySelectorAll('#job-audit [data-testid="audit-row"]').length`))
	require.False(t, eval[bool](t, ctx, `!!document.querySelector('#job-audit [data-testid="audit-all"]')`), "operators may not read the audit page")
	require.Zero(t, eval[int](t, ctx, `[...document.querySelectorAll('a, button')].filter(e =>
		/secrets/i.test(e.innerText) || (e.getAttribute('href') || '').includes('/dashboard/secrets') || (e.getAttribute('formaction') || '').includes('secrets')).length`),
		"no link or button to Secrets")
	for _, path := range []string{"/dashboard/secrets", "/dashboard/audit"} {
		within(t, ctx, 20*time.Second, chromedp.Navigate(a.server.URL+path))
		require.Equal(t, 403, eval[int](t, ctx, `performance.getEntriesByType('navigation')[0].responseStatus`), path)
		require.True(t, eval[bool](t, ctx, `!!document.querySelector('[data-testid="error-page"]')`), path)
	}

	within(t, ctx, 20*time.Second, chromedp.Navigate(a.server.URL+jobPath), chromedp.Click(chromedp.CSS(`[data-testid="logout"]`)))
	waitFor(t, ctx, "signed out", `!document.querySelector('[data-testid="username"]')`)
	p.queue("sub-ada", "ada", "kiln-admins")
	ssoSignIn(t, ctx, a.server.URL, "/dashboard/audit?action=jobs.retry")
	require.Equal(t, "ada", eval[string](t, ctx, `document.querySelector('[data-testid="username"]').innerText`))
	row := eval[string](t, ctx, `document.querySelector('[data-testid="audit-row"]').innerText`)
	require.Contains(t, row, "olga")
	require.Contains(t, row, "jobs.retry POST /dashboard/jobs/:id/requeue")
	require.Contains(t, row, "job "+itoa(job.ID))
	require.Equal(t, 1, eval[int](t, ctx, `document.querySelectorAll('[data-testid="audit-row"]').length`))
}
