package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

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
		_, err := a.store.InsertJobs(ctx, []*models.Job{j}, time.Now())
		require.NoError(t, err)
		got, err := a.store.ClaimJobs(ctx, models.ClaimParams{Queue: queue, ServerID: "node-b", Limit: 1, Lease: time.Second, Now: time.Now().Add(-time.Minute)})
		require.NoError(t, err)
		require.Len(t, got, 1)
		r, err := a.store.RescueJobs(ctx, models.RescueParams{Now: time.Now(), Limit: 10, MaxRescues: 3, Self: "node-a", Others: true, SilentFor: time.Second})
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
	_, _, err := a.store.FinishJobs(ctx, []models.JobFinish{{JobID: late.ID, ServerID: "node-b", Attempt: late.Attempt, Run: late.Runs,
		State: models.JobSucceeded, Reason: "succeeded", At: time.Now().Add(-59 * time.Second), Duration: 60 * time.Millisecond}})
	require.NoError(t, err)
	got = rows(late.ID)
	require.Len(t, got, 1)
	require.Contains(t, got[0], "succeeded")
	require.Contains(t, got[0], "60 ms, reported late")
	require.NotContains(t, got[0], "unknown")
}
