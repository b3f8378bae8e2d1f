package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// The attempts table tells what a rescue knows: not how long a rescued run ran, but that it
// is unknown; once the run's own outcome arrives late, that outcome and how long it really
// took.
func TestAttemptsOfARescuedRun(t *testing.T) {
	a := setup(t)
	ctx := context.Background()
	rows := func(id int64) []string {
		_, doc := a.get(fmt.Sprintf("/dashboard/jobs/%d", id))
		var out []string
		doc.Find(`[data-testid="attempts"] tbody tr`).Each(func(_ int, tr *goquery.Selection) {
			out = append(out, strings.Join(strings.Fields(tr.Text()), " "))
		})
		return out
	}
	claim := func(queue string) *models.Job {
		j := &models.Job{Kind: "report.build", Queue: queue, Args: "{}", MaxAttempts: 1}
		_, err := a.store.Jobs.InsertJobs(ctx, []*models.Job{j}, time.Now())
		require.NoError(t, err)
		got, err := a.store.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: queue, ServerID: "node-b", Limit: 1, Lease: time.Second, Now: time.Now().Add(-time.Minute)})
		require.NoError(t, err)
		require.Len(t, got, 1)
		r, err := a.store.Jobs.RescueJobs(ctx, models.RescueParams{Now: time.Now(), Limit: 10, MaxRescues: 3, Self: "node-a", SilentFor: time.Second})
		require.NoError(t, err)
		require.Equal(t, 1, r.Requeued)
		return got[0]
	}

	rescued := claim("first")
	got := rows(rescued.ID)
	require.Len(t, got, 1)
	require.Contains(t, got[0], "rescued")
	require.Contains(t, got[0], "unknown (rescued 1 min")

	late := claim("second")
	_, _, err := a.store.Jobs.FinishJobs(ctx, []models.JobFinish{{JobID: late.ID, ServerID: "node-b", Attempt: late.Attempt, Run: late.Runs,
		State: models.JobSucceeded, Reason: "succeeded", At: time.Now().Add(-59 * time.Second), Duration: 60 * time.Millisecond}})
	require.NoError(t, err)
	got = rows(late.ID)
	require.Len(t, got, 1)
	require.Contains(t, got[0], "succeeded")
	require.Contains(t, got[0], "60 ms, reported late")
	require.NotContains(t, got[0], "unknown")
}

// A job requeued hundreds of times keeps a light page: its attempts table and its timeline
// show the newest historyShown runs and entries, say how many older ones there are, and link
// to the whole history. 400 requeues of a failing job made a page (and /live) of 1.35 MB.
func TestJobPageOfManyRunsStaysWithinBudget(t *testing.T) {
	a := setup(t)
	ctx := context.Background()
	j := a.enqueue("report.build", map[string]any{"month": "2026-11"}, jobs.MaxAttempts(1))
	const runs = 400
	for i := range runs {
		a.finish(j, models.JobFailed, fmt.Sprintf("run %d: exit status 1: %s", i, strings.Repeat("<stderr> ", 30)))
		if i+1 < runs {
			_, _, err := a.store.Jobs.RequeueJob(ctx, j.ID, "requeued by test")
			require.NoError(t, err)
		}
	}
	for _, path := range []string{fmt.Sprintf("/dashboard/jobs/%d", j.ID), fmt.Sprintf("/dashboard/jobs/%d/live", j.ID)} {
		resp, body := a.getRaw(path)
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		require.Less(t, len(body), 192<<10, "%s weighs %d bytes", path, len(body))
		doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
		require.NoError(t, err)
		rows := doc.Find(`[data-testid="attempts"] tbody tr`)
		require.Equal(t, 50, rows.Length(), "the newest runs")
		require.Contains(t, rows.Last().Text(), "run 399:", "the newest run is last")
		require.Contains(t, rows.First().Text(), "run 350:")
		older := doc.Find(`[data-testid="attempts-older"]`)
		require.Contains(t, older.Text(), "350 older runs")
		require.Equal(t, fmt.Sprintf("/dashboard/jobs/%d/history.txt", j.ID), older.Find("a").AttrOr("href", ""))
		require.Equal(t, 50, doc.Find(`[data-testid="timeline"] > li`).Length())
		require.Contains(t, doc.Find(`[data-testid="timeline-older"]`).Text(), "1150 older entries")
		require.Equal(t, fmt.Sprintf("/dashboard/jobs/%d/history.txt", j.ID), doc.Find(`[data-testid="timeline-older"] a`).AttrOr("href", ""))
	}
	_, whole := a.getRaw(fmt.Sprintf("/dashboard/jobs/%d/history.txt", j.ID))
	require.Equal(t, runs, strings.Count(whole, "processing > failed"), "the download holds every run")
}
