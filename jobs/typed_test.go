package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

type emailArgs struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
}

// A kind registered with its arguments' type gets them decoded before the call; its handle
// enqueues, schedules and continues with typed arguments; arguments of the wrong shape fail
// the job at once, saying why, without a retry.
func TestTypedKinds(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		got := make(chan emailArgs, 4)
		emails, err := jobs.Register(e, "email.send", func(ctx context.Context, job *jobs.Job[emailArgs]) error {
			require.Equal(t, "email.send", job.Kind, "the row is there too")
			got <- job.Args
			return nil
		}, jobs.MaxAttempts(5))
		require.NoError(t, err)
		require.Equal(t, "email.send", emails.Name())
		start(t, e)

		job, err := emails.Enqueue(ctx, emailArgs{To: "ada@example.com", Subject: "Hi"})
		require.NoError(t, err)
		require.Equal(t, 5, job.MaxAttempts, "the kind's defaults apply")
		require.JSONEq(t, `{"to":"ada@example.com","subject":"Hi"}`, job.Args)
		require.Equal(t, emailArgs{To: "ada@example.com", Subject: "Hi"}, receive(t, got, "the typed arguments"))
		waitState(t, s, job.ID, models.JobSucceeded)

		next, err := emails.ContinueWith(ctx, job.ID, emailArgs{To: "bob@example.com"})
		require.NoError(t, err)
		require.Equal(t, "bob@example.com", receive(t, got, "the continuation").To)
		waitState(t, s, next.ID, models.JobSucceeded)
		later, err := emails.Schedule(ctx, time.Now().Add(time.Hour), emailArgs{To: "later@example.com"})
		require.NoError(t, err)
		require.Equal(t, models.JobScheduled, later.State)

		// Enqueued untyped (as the JSON API will) with the wrong shape: failed at once.
		bad, err := e.Enqueue(ctx, "email.send", map[string]int{"to": 42})
		require.NoError(t, err)
		failed := waitState(t, s, bad.ID, models.JobFailed)
		require.Equal(t, 1, failed.Attempt, "no retry: the arguments won't change")
		require.Contains(t, failed.LastError, "the arguments of email.send don't fit jobs_test.emailArgs")

		_, err = jobs.Register[emailArgs](e, "nil.worker", nil)
		require.ErrorIs(t, err, jobs.ErrInvalidOption)
		_, err = jobs.Register(e, "", func(context.Context, *jobs.Job[emailArgs]) error { return nil })
		require.ErrorIs(t, err, jobs.ErrInvalidOption)
	})
}
