package cli

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
)

// TestCLIFollowsRoles: the CLI calls the API, so the permission table holds for it too. An
// operator's token requeues a job and pauses a queue, but creating a recurring job (admin's) or
// enqueueing an exec job ends with exit 1 and the server's reason; a viewer's requeues nothing.
func TestCLIFollowsRoles(t *testing.T) {
	s, run := apiServerForCLIAs(t, models.RoleOperator)
	ctx := context.Background()
	job := &models.Job{Kind: "http.request", Queue: "default", Args: `{"url":"https://example.com/"}`, State: models.JobEnqueued, MaxAttempts: 3}
	_, err := s.Jobs.InsertJobs(ctx, []*models.Job{job}, time.Now())
	require.NoError(t, err)
	_, _, err = s.Jobs.CancelJob(ctx, job.ID, "test")
	require.NoError(t, err)
	id := strconv.FormatInt(job.ID, 10)

	code, out, errOut := run("jobs", "requeue", id)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "requeued")
	got, err := s.JobQueries.GetJob(ctx, job.ID)
	require.NoError(t, err)
	require.Equal(t, models.JobEnqueued, got.State)

	code, _, errOut = run("recurring", "create", "nightly", "--spec", "0 2 * * *", "--kind", "http.request", "--args", `{"url":"https://example.com/"}`)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "This token has the operator role, and recurring.edit needs the admin role")
	_, err = s.Recurring.GetRecurring(ctx, "nightly")
	require.Equal(t, models.ENOTFOUND, models.ErrorCode(err), "nothing was made")

	code, _, errOut = run("jobs", "enqueue", "exec", "--args", `{"command":["/bin/true"]}`)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "jobs.enqueue_code needs the admin role")

	_, view := apiServerForCLIAs(t, models.RoleViewer)
	code, _, errOut = view("jobs", "requeue", id)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "This token has the viewer role: it can see everything but change nothing")
}
