package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// On PostgreSQL a job made ready on one node wakes an idle node at once (LISTEN/NOTIFY): the
// worker below polls once an hour, so only a notification can start these jobs within the test.
func TestJobsReadyOnOneNodeWakeAnother(t *testing.T) {
	dsn := modeltest.PostgresDSN(t)
	cfg := fast()
	cfg.PollInterval = time.Hour
	workerStore := modeltest.Open(t, dsn)
	worker := newEngine(t, workerStore, cfg)
	ran := make(chan int64, 10)
	require.NoError(t, worker.Register("ping", func(_ context.Context, j *models.Job) error { ran <- j.ID; return nil }))
	clientCfg := fast()
	clientCfg.NoWorkers = true
	client := newEngine(t, modeltest.Open(t, dsn), clientCfg) // another store, as in another process
	start(t, worker)
	start(t, client)
	time.Sleep(200 * time.Millisecond) // the worker's first poll, at start, found nothing

	job, err := client.Enqueue(ctx, "ping", nil)
	require.NoError(t, err)
	require.Equal(t, job.ID, receive(t, ran, "the idle node to run the job enqueued on the other"))

	// A scheduled job, promoted when due by either node's maintenance, and a continuation let
	// go when its parent finishes, wake it too.
	delayed, err := client.ScheduleIn(ctx, 300*time.Millisecond, "ping", nil)
	require.NoError(t, err)
	require.Equal(t, delayed.ID, receive(t, ran, "the promoted job to run"))
	parent, err := client.ScheduleIn(ctx, time.Hour, "ping", nil)
	require.NoError(t, err)
	next, err := client.ContinueWith(ctx, parent.ID, "ping", nil)
	require.NoError(t, err)
	require.NoError(t, client.TriggerNow(ctx, parent.ID))
	require.Equal(t, parent.ID, receive(t, ran, "the triggered parent to run"))
	require.Equal(t, next.ID, receive(t, ran, "its continuation to run"))
}
