package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
)

// notFoundPage is what a partner's web server sends for a path it doesn't know: a whole HTML
// page, which http.request flattens onto one line of its error.
const notFoundPage = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>404 Not Found | Partner API</title>
  <link rel="stylesheet" href="/assets/errors-4c1f2a.css">
</head>
<body class="error-page">
  <main>
    <h1>Page not found</h1>
    <p>The page /v2/orders/8812/confirmation-callback you asked for does not exist or has moved.</p>
    <p>If you followed a link, please let the site owner know. Request ID: 7f3a9c0e-51b2-4d8e-9a61-2f0c7d4b8e19</p>
  </main>
  <footer>nginx/1.25.4 · edge-fra-07</footer>
</body>
</html>`

// notFoundError is the error http.request records for notFoundPage: the status, what was
// expected, and the body flattened onto one line.
var notFoundError = "404 Not Found (expected 2xx): " + strings.Join(strings.Fields(notFoundPage), " ")

// Long names and errors, as real deployments have them, to stress the tables' widths.
const (
	longKind  = "billing.invoices.reconcile-monthly-statements-for-enterprise-customers"
	thumbKind = "media.images.generate-responsive-thumbnail-variants"
	dbError   = `pq: duplicate key value violates unique constraint "invoices_customer_id_billing_period_key" (SQLSTATE 23505)` +
		"\n    at billing/reconcile.go:214 (*Reconciler).writeStatement\n    at billing/reconcile.go:97 (*Reconciler).Run"
)

// seeded is what seedDashboard made that the tests look at.
type seeded struct {
	httpJob *models.Job // an http.request that failed three times on a 404 page
}

// seedDashboard fills every data page as a busy deployment would: 24 jobs in every state, with
// long kind names, long one-line errors and multi-line ones; a recurring job made in the UI and
// one from code; servers, tasks, secrets and tokens.
func (a *app) seedDashboard() seeded {
	a.t.Helper()
	ctx := context.Background()
	var s seeded
	var done time.Time // the last attempt's end, on its job's clock
	_, err := a.vault.Set(ctx, "partner.token", "tok-never-shown", "ada")
	require.NoError(a.t, err)
	httpArgs := func(n int) builtin.HTTPRequestArgs {
		return builtin.HTTPRequestArgs{Method: "POST", URL: fmt.Sprintf("https://partner.example.com/v2/orders/%d/confirmation-callback", 8800+n),
			Headers: map[string]string{"Authorization": "Bearer ${secret:partner.token}"}, Timeout: "30s"}
	}
	notFound, err := json.Marshal(builtin.HTTPResponse{Status: 404, Headers: map[string]string{"Content-Type": "text/html; charset=utf-8"},
		Body: notFoundPage, BodyBytes: int64(len(notFoundPage)), DurationMS: 212.4})
	require.NoError(a.t, err)

	// Finished jobs first: each is claimed alone from its queue.
	for i := range 3 {
		j := a.enqueue(builtin.KindHTTPRequest, httpArgs(i), jobs.Queue("webhooks"), jobs.MaxAttempts(3), jobs.Tags("partner", "orders"))
		done = later(done, a.runAttempts(j, models.JobFailed, []string{notFoundError, notFoundError, notFoundError}, string(notFound), 212*time.Millisecond))
		s.httpJob = j
	}
	for i := range 2 {
		j := a.enqueue(longKind, map[string]any{"customer_id": 88213 + i, "period": "2026-05"}, jobs.Queue("billing"), jobs.MaxAttempts(2))
		done = later(done, a.runAttempts(j, models.JobFailed, []string{dbError, dbError}, "", 340*time.Millisecond))
	}
	j := a.enqueue("mail.send", map[string]string{"to": "accounts-payable@very-long-customer-domain-name.example.co.uk", "template": "invoice_overdue_reminder"})
	done = later(done, a.runAttempts(j, models.JobFailed, []string{"550 5.1.1 <accounts-payable@very-long-customer-domain-name.example.co.uk>: Recipient address rejected: User unknown in virtual mailbox table"}, "", 95*time.Millisecond))
	for i := range 8 {
		kind, args, result := "report.build", any(map[string]any{"month": "2026-05", "pages": i + 1}), `{"pages":12,"bytes":482113}`
		switch i % 3 {
		case 1:
			kind, args, result = thumbKind, map[string]any{"image": fmt.Sprintf("uploads/2026/05/product-photo-%04d-front.jpg", i), "widths": []int{320, 640, 1280}}, `{"variants":3}`
		case 2:
			kind, args, result = "mail.send", map[string]string{"to": fmt.Sprintf("user%d@example.com", i)}, `{"message_id":"<20260514.8812@mail.example.com>"}`
		}
		j := a.enqueue(kind, args, jobs.Queue("default"))
		done = later(done, a.runAttempts(j, models.JobSucceeded, nil, result, time.Duration(120+97*i)*time.Millisecond))
	}
	cancelled := a.enqueue("report.build", map[string]any{"month": "2026-04"})
	_, _, err = a.store.Jobs.CancelJob(ctx, cancelled.ID, "not needed any more")
	require.NoError(a.t, err)

	// Then the ones still under way.
	for i := range 3 {
		j := a.enqueue(thumbKind, map[string]any{"image": fmt.Sprintf("uploads/2026/05/banner-%d.png", i)}, jobs.Queue("media"))
		claimed, err := a.store.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "media", ServerID: "kiln-worker-7f9c2d", Limit: 1, Lease: time.Minute, Now: time.Now()})
		require.NoError(a.t, err)
		require.Len(a.t, claimed, 1)
		require.NoError(a.t, a.store.Jobs.SetJobProgress(ctx, j.ID, 30*(i+1)))
	}
	parent := a.enqueue("report.build", map[string]any{"month": "2026-06"}, jobs.Queue("reports"))
	_, err = a.engine.ContinueWith(ctx, parent.ID, "mail.send", map[string]string{"to": "finance@example.com"})
	require.NoError(a.t, err)
	for i := range 2 {
		a.enqueue("mail.send", map[string]string{"to": fmt.Sprintf("newsletter-%d@example.com", i)})
	}
	for i := range 2 {
		a.enqueue(longKind, map[string]any{"customer_id": 90000 + i}, jobs.Queue("billing"), jobs.RunAt(time.Now().Add(time.Duration(i+2)*time.Hour)))
	}

	// The other pages.
	raw, err := json.Marshal(httpArgs(99))
	require.NoError(a.t, err)
	_, err = a.store.Recurring.UpsertRecurring(ctx, &models.RecurringJob{Name: "partner-orders-confirmation-callbacks-eu-west", Spec: "*/15 * * * *", TimeZone: "Europe/Berlin",
		Kind: builtin.KindHTTPRequest, Args: string(raw), Queue: "webhooks", MaxAttempts: 3, Misfire: models.MisfireRelaxed, CreatedBy: "ada"},
		func() time.Time { return time.Now().Add(15 * time.Minute) })
	require.NoError(a.t, err)
	a.recurring("nightly-report", "0 2 * * *")
	now := time.Now()
	for i, id := range []string{"kiln-worker-7f9c2d-eu-west-1a.internal", "kiln-worker-0b31e8-eu-west-1b.internal"} {
		require.NoError(a.t, a.store.Servers.UpsertServer(ctx, &models.Server{ID: id, Host: strings.TrimSuffix(id, ".internal"), PID: 4100 + i,
			StartedAt: now.Add(-26 * time.Hour), HeartbeatAt: now, Queues: "default=10,webhooks=4,billing=2,media=6,reports=1", Workers: 23, Busy: 3}))
	}
	a.createTask("Renew the TLS certificate of partner-api.example.com before the old one expires", now.Add(72*time.Hour))
	a.createTask("File the quarterly VAT return", now.Add(-2*time.Hour))
	_, err = a.vault.Set(ctx, "billing.stripe-restricted-key-for-enterprise-reconciliation", "sk-never-shown", "ada")
	require.NoError(a.t, err)
	_, _, err = a.store.Tokens.CreateAPIToken(ctx, "ci-deploy-pipeline-for-the-billing-service", models.RoleAdmin, 30*24*time.Hour, "ada", "")
	require.NoError(a.t, err)
	a.seedAlerts()
	a.seedAuditAwkward()
	time.Sleep(time.Until(done)) // no time shown "in under a minute" that has passed
	return s
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// runAttempts works job j as a server would: each error but the last is a failed attempt
// retried at once; the last attempt ends in final, with result. Each attempt takes took, on a
// clock of the job's own that runs ahead of the real one; it returns where that clock ended.
func (a *app) runAttempts(j *models.Job, final models.JobState, errs []string, result string, took time.Duration) time.Time {
	a.t.Helper()
	ctx := context.Background()
	runs := max(1, len(errs))
	clock := time.Now()
	for n := range runs {
		claimed, err := a.store.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: j.Queue, ServerID: "kiln-worker-7f9c2d", Limit: 1, Lease: time.Minute, Now: clock})
		require.NoError(a.t, err)
		require.Len(a.t, claimed, 1)
		require.Equal(a.t, j.ID, claimed[0].ID)
		c := claimed[0]
		clock = clock.Add(took + time.Duration(n)*took/7)
		f := models.JobFinish{JobID: j.ID, ServerID: "kiln-worker-7f9c2d", Attempt: c.Attempt, Run: c.Runs, State: final, Result: result,
			At: clock, Duration: took + time.Duration(n)*took/7}
		if n < len(errs) {
			f.Error = errs[n]
		}
		if n < runs-1 {
			f.State, f.RunAt, f.Result = models.JobScheduled, clock.Add(time.Millisecond), ""
		}
		_, _, err = a.store.Jobs.FinishJobs(ctx, []models.JobFinish{f})
		require.NoError(a.t, err)
		if f.State == models.JobScheduled {
			clock = clock.Add(2 * time.Millisecond)
			_, _, err := a.store.Jobs.PromoteScheduled(ctx, clock, 100)
			require.NoError(a.t, err)
		}
	}
	return clock
}
