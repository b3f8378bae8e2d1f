package web_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
)

// A job's page is headed by its number and kind, and shows a long error whole once, under Last
// error: its history and its attempts show the first line, cut, the whole error folded.
func TestJobPageShowsTheErrorOnce(t *testing.T) {
	a := setup(t)
	_, err := a.vault.Set(t.Context(), "partner.token", "tok", "ada")
	require.NoError(t, err)
	j := a.enqueue(builtin.KindHTTPRequest, builtin.HTTPRequestArgs{URL: "https://partner.example.com/v2/orders/8812", Timeout: "30s"},
		jobs.Queue("webhooks"), jobs.MaxAttempts(3))
	a.runAttempts(j, models.JobFailed, []string{notFoundError, notFoundError, notFoundError}, "", 212*time.Millisecond)

	_, doc := a.get("/dashboard/jobs/" + strconv.FormatInt(j.ID, 10))
	require.Equal(t, "#"+strconv.FormatInt(j.ID, 10)+" http.request", strings.Join(strings.Fields(doc.Find("h1").Text()), " "))
	require.Equal(t, notFoundError, doc.Find(`[data-testid="job-error"] pre`).Text())
	// What shows without unfolding anything: folded details keep only their summary.
	doc.Find(`details:not([open]) > :not(summary)`).Remove()
	shown := doc.Find("#job-live").Text()
	require.Equal(t, 1, strings.Count(shown, notFoundError[:200]), "the error shown whole once")
	require.Len(t, doc.Find(`[data-testid="timeline"] details.error-line`).Nodes, 3, "each failed attempt's error, folded")
	doc.Find(`[data-testid="timeline"] summary, [data-testid="attempts"] td.job-error`).Each(func(_ int, s *goquery.Selection) {
		require.True(t, strings.HasPrefix(notFoundError, strings.TrimSuffix(s.Text(), "…")), "the error's start: %q", s.Text())
		require.LessOrEqual(t, len([]rune(s.Text())), 160)
	})
}

// The job page says how long an attempt may run and what sets it: for http.request the
// request's timeout (its arguments', or the kind's default) unless the job's own is shorter.
func TestJobPageTimeout(t *testing.T) {
	a := setup(t)
	hook := func(timeout string) builtin.HTTPRequestArgs {
		return builtin.HTTPRequestArgs{URL: "https://example.com/hook", Timeout: timeout}
	}
	for _, tc := range []struct {
		kind string
		args any
		opts []jobs.Option
		want string
	}{
		{builtin.KindHTTPRequest, hook("30s"), nil, "30s (from its arguments)"},
		{builtin.KindHTTPRequest, hook(""), nil, "30s (the default of http.request)"},
		{builtin.KindHTTPRequest, hook("10s"), []jobs.Option{jobs.Timeout(time.Minute)}, "10s (from its arguments; the job's own timeout is 1m)"},
		{builtin.KindHTTPRequest, hook("30s"), []jobs.Option{jobs.Timeout(5 * time.Second)}, "5s (the job's timeout, shorter than the 30s its arguments give)"},
		{builtin.KindHTTPRequest, hook(""), []jobs.Option{jobs.Timeout(5 * time.Second)}, "5s (the job's timeout, shorter than the default of http.request, 30s)"},
		{"report.build", map[string]string{"timeout": "10s"}, []jobs.Option{jobs.Timeout(90 * time.Minute)}, "1h30m (the job's timeout)"},
		{"report.build", nil, nil, "none"},
	} {
		j := a.enqueue(tc.kind, tc.args, tc.opts...)
		_, doc := a.get("/dashboard/jobs/" + strconv.FormatInt(j.ID, 10))
		require.Equal(t, tc.want, strings.Join(strings.Fields(doc.Find(`[data-testid="job-timeout"]`).Text()), " "), "%s %v", tc.kind, tc.args)
	}
}
