package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models/modeltest"
)

// On a first visit, before the server knows the viewer's zone, every time a page shows in the
// viewer's zone is in it at once: a recurring job's next runs and a job's log lines too, not
// only the dates the heading promised ("Run times are shown in Asia/Tokyo" over UTC times).
func TestBrowserFirstVisitTimesInTheViewersZone(t *testing.T) {
	a := setup(t)
	ctx := browser(t)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	require.NoError(t, err)
	a.recurring("nightly", "0 2 * * *")
	job := a.enqueue("report.build", nil)
	logged := time.Date(2027, 6, 1, 0, 30, 15, 123e6, time.UTC)
	require.NoError(t, modeltest.AppendJobLog(context.Background(), a.store, job.ID, 1, logged, "started"))

	// shown returns, for each time of the page matched by sel, its text and its instant.
	shown := func(sel string) ([]string, []time.Time) {
		texts := eval[[]string](t, ctx, `[...document.querySelectorAll('`+sel+`')].map(e => e.innerText)`)
		attrs := eval[[]string](t, ctx, `[...document.querySelectorAll('`+sel+`')].map(e => e.getAttribute('datetime'))`)
		var at []time.Time
		for _, s := range attrs {
			ts, err := time.Parse(time.RFC3339Nano, s)
			require.NoError(t, err)
			at = append(at, ts)
		}
		return texts, at
	}

	within(t, ctx, 20*time.Second, timezone("Asia/Tokyo"), chromedp.Navigate(a.server.URL+"/dashboard/recurring"))
	waitFor(t, ctx, "the zone named", `document.body.innerText.includes('Run times are shown in Asia/Tokyo')`)
	texts, at := shown(`[data-testid="next-runs"] time`)
	require.NotEmpty(t, texts)
	for i := range texts {
		require.Equal(t, at[i].In(tokyo).Format("Mon 2 Jan 2006, 15:04"), texts[i], "next run %d in Tokyo time", i)
		require.Equal(t, 11, at[i].In(tokyo).Hour(), "02:00 UTC is 11:00 in Tokyo")
	}

	// Again without the cookie, on the job's page: its log line in Tokyo time, to the ms.
	eval[string](t, ctx, `document.cookie = "kiln_tz=; Max-Age=0; Path=/"`)
	within(t, ctx, 20*time.Second, chromedp.Navigate(a.server.URL+"/dashboard/jobs/"+itoa(job.ID)))
	waitFor(t, ctx, "the log", `!!document.querySelector('[data-testid="job-logs"] time')`)
	texts, _ = shown(`[data-testid="job-logs"] time`)
	require.Equal(t, []string{"09:30:15.123"}, texts, "00:30:15.123 UTC is 09:30:15.123 in Tokyo")
}
