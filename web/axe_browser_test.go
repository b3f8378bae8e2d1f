package web_test

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// axeSource is axe-core 4.14.1 (MPL 2.0, Deque Systems), vendored for the accessibility test.
//
//go:embed testdata/axe.min.js
var axeSource string

type axeViolation struct {
	ID    string `json:"id"`
	Help  string `json:"help"`
	Nodes []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// axeCheck runs axe-core's WCAG 2.1 A and AA rules on the page the tab shows and fails on any
// violation, naming the rule and the elements.
func axeCheck(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(tctx, chromedp.Evaluate[bool](axeSource+";true")); err != nil {
		t.Fatalf("%s: load axe: %v", name, err)
	}
	raw, err := chromedp.Run(tctx, chromedp.Evaluate[string](`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
		.then(r => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
	require.NoError(t, err, name)
	var violations []axeViolation
	require.NoError(t, json.Unmarshal([]byte(raw), &violations))
	var msgs []string
	for _, v := range violations {
		var targets []string
		for _, n := range v.Nodes {
			targets = append(targets, fmt.Sprint(n.Target...))
		}
		msgs = append(msgs, fmt.Sprintf("%s (%s): %s", v.ID, v.Help, strings.Join(targets, ", ")))
	}
	require.Empty(t, msgs, "%s: WCAG 2.1 AA violations", name)
}

// Every page passes axe-core's WCAG 2.1 AA rules, wide and narrow, in light and dark.
func TestBrowserAccessibility(t *testing.T) {
	a := setup(t)
	ctx := browser(t)
	a.createTask("Plan the offsite", time.Now().Add(24*time.Hour))
	a.createTask("File the taxes", time.Now().Add(-time.Hour))
	ok := a.enqueue("report.build", map[string]int{"n": 1})
	a.finish(ok, models.JobSucceeded, "")
	bad := a.enqueue("report.build", map[string]int{"n": 2})
	a.finish(bad, models.JobFailed, "disk full")
	a.enqueue("mail.send", nil)
	rj := a.recurring("nightly-report", "0 2 * * *")
	acked := a.openAlert("report failures", "report.build", time.Now().Add(-time.Hour))
	_, err := a.store.Rules.AcknowledgeAlert(context.Background(), acked, "local", time.Now())
	require.NoError(t, err)
	a.openAlert("mail failures", "mail.send", time.Now())
	a.seedAuditAwkward()

	pages := []string{
		"/", "/tasks/new", "/dashboard", "/dashboard/jobs", "/dashboard/jobs?state=failed",
		fmt.Sprintf("/dashboard/jobs/%d", bad.ID), fmt.Sprintf("/dashboard/jobs/%d", ok.ID), "/dashboard/jobs/new",
		"/dashboard/recurring", fmt.Sprintf("/dashboard/recurring/%d/edit", rj.ID), "/dashboard/recurring/new",
		"/dashboard/queues", "/dashboard/servers", "/dashboard/secrets", "/dashboard/tokens", "/dashboard/kinds", "/dashboard/kinds/report.build",
		"/dashboard/alerts", "/dashboard/alerts/rules/new", "/dashboard/alerts/rules/new?watch=backlog", "/dashboard/alerts/rules/new?watch=missed-schedule",
		"/dashboard/audit",
	}
	pages = append(pages, a.seedWorkflows()...)
	for _, scheme := range []string{"light", "dark"} {
		for _, width := range []int64{1280, 375} {
			within(t, ctx, 10*time.Second, colorScheme(scheme), chromedp.EmulateViewport(width, 900))
			for _, path := range pages {
				within(t, ctx, 20*time.Second, chromedp.Navigate(a.server.URL+path))
				waitFor(t, ctx, path, `document.readyState === 'complete'`)
				axeCheck(t, ctx, fmt.Sprintf("%s at %d px, %s", path, width, scheme))
			}
		}
	}
	within(t, ctx, 10*time.Second, colorScheme("light"))
	// The login page, and a page that is not there.
	login := setupWith(t, web.Config{})
	for _, path := range []string{"/login", "/dashboard/nope"} {
		within(t, ctx, 20*time.Second, chromedp.Navigate(login.server.URL+path))
		waitFor(t, ctx, path, `document.readyState === 'complete'`)
		axeCheck(t, ctx, path)
	}
}
