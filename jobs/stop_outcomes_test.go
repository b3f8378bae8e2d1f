package jobs_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// heldWrites is a store whose writes of outcomes wait until release is closed.
type heldWrites struct {
	models.JobStore
	release chan struct{}
}

func (h heldWrites) FinishJobs(ctx context.Context, batch []models.JobFinish) (int, []string, error) {
	<-h.release
	return h.JobStore.FinishJobs(ctx, batch)
}

// A stop whose soft stop and deadline pass while the outcomes of finished runs wait to be
// written (the database slow, the completer's channel full, workers waiting to hand theirs
// over) releases only the runs that are still running. A run that ended is the completer's:
// put back in its queue, it would run again, and its outcome would find nothing to finish.
func TestStopReleasesOnlyRunsStillRunning(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	h := heldWrites{JobStore: s.Jobs, release: make(chan struct{})}
	held := *s
	held.Jobs = h
	cfg := fast()
	cfg.FinishBatch, cfg.SoftStop = 1, 50*time.Millisecond // room for 4 outcomes: the others wait in their workers
	cfg.Queues = []jobs.QueueConfig{{Name: jobs.DefaultQueue, Workers: 10}}
	e, err := jobs.New(&held, cfg)
	require.NoError(t, err)
	var runs sync.Map
	var ran atomic.Int32
	require.NoError(t, e.Register("quick", func(_ context.Context, j *models.Job) error {
		n, _ := runs.LoadOrStore(j.ID, new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
		ran.Add(1)
		return nil
	}))
	batch := make([]jobs.EnqueueParams, 10)
	for i := range batch {
		batch[i] = jobs.EnqueueParams{Kind: "quick"}
	}
	made, err := e.EnqueueMany(ctx, batch)
	require.NoError(t, err)
	require.NoError(t, e.Start(ctx))
	require.Eventually(t, func() bool { return ran.Load() == 10 }, 5*time.Second, time.Millisecond)

	stopCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- e.Stop(stopCtx) }()
	<-stopCtx.Done()
	time.Sleep(100 * time.Millisecond) // past the deadline: the release of unfinished runs is done
	close(h.release)
	stopErr := <-stopped

	byState := map[models.JobState]int{}
	for _, j := range made {
		got, err := s.JobQueries.GetJob(ctx, j.ID)
		require.NoError(t, err)
		byState[got.State]++
		n, _ := runs.Load(j.ID)
		require.Equal(t, int32(1), n.(*atomic.Int32).Load(), "job %d", j.ID)
	}
	require.Zero(t, byState[models.JobEnqueued], "a run that ended was put back in its queue: %v", byState)
	// What the deadline cut off is given up, and said so: those jobs run again once this
	// server is gone (rescued as any).
	require.Equal(t, uint64(byState[models.JobProcessing]), e.Outcomes().Dropped, "%v", byState)
	if byState[models.JobProcessing] > 0 {
		require.ErrorContains(t, stopErr, fmt.Sprintf("stopped before the outcomes of %d finished jobs could be written", byState[models.JobProcessing]))
	}
}
