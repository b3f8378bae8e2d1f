package models_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
)

func TestQueueStatsAndPausing(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		first, low := newJob("a"), newJob("b")
		first.RunAt = time.Now().Add(-time.Hour)
		low.Queue = "low"
		later := newJob("c")
		later.RunAt = time.Now().Add(time.Hour)
		insert(t, s, first, newJob("a"), low, later)
		require.NoError(t, s.Queues.SetQueuePaused(ctx, "critical", true, "ada"))
		require.NoError(t, s.Queues.SetQueuePaused(ctx, "low", true, "ada"))
		require.NoError(t, s.Queues.SetQueuePaused(ctx, "low", false, "bob"))
		for _, bad := range []string{"", "nul\x00", "\xff\xfe", "a b", "a,b"} {
			require.Equal(t, models.EINVALID, models.ErrorCode(s.Queues.SetQueuePaused(ctx, bad, true, "ada")), "%q", bad)
		}

		stats, err := s.Queues.QueueStats(ctx)
		require.NoError(t, err)
		require.Len(t, stats, 3, "queues with jobs, and the paused one without")
		require.Equal(t, "critical", stats[0].Name)
		require.True(t, stats[0].Paused)
		require.Equal(t, "ada", stats[0].PausedBy)
		def := stats[1]
		require.Equal(t, "default", def.Name)
		require.EqualValues(t, 2, def.Enqueued)
		require.EqualValues(t, 1, def.Scheduled)
		require.WithinDuration(t, first.RunAt, *def.OldestEnqueued, time.Millisecond, "the job that waited longest")
		require.False(t, stats[2].Paused, "resumed")
		paused, err := s.Queues.PausedQueues(ctx)
		require.NoError(t, err)
		require.Equal(t, map[string]bool{"critical": true}, paused)
		require.Equal(t, models.EINVALID, models.ErrorCode(s.Queues.SetQueuePaused(ctx, "", true, "x")))

		// The counts follow claims and finishes per queue; a queue with nothing left to show goes.
		running, err := s.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "low", ServerID: "srv", Limit: 5, Lease: time.Minute, Now: time.Now()})
		require.NoError(t, err)
		require.Len(t, running, 1)
		claim(t, s, "srv", 1)
		stats, err = s.Queues.QueueStats(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 1, stats[1].Enqueued)
		require.EqualValues(t, 1, stats[1].Processing)
		require.EqualValues(t, 1, stats[2].Processing)
		_, _, err = s.Jobs.FinishJobs(ctx, []models.JobFinish{{JobID: running[0].ID, ServerID: "srv", Attempt: 1, Run: 1, State: models.JobSucceeded, At: time.Now()}})
		require.NoError(t, err)
		require.NoError(t, s.Jobs.FoldJobCounts(ctx))
		stats, err = s.Queues.QueueStats(ctx)
		require.NoError(t, err)
		require.Len(t, stats, 2, "low has nothing waiting, running or failed")
		require.Equal(t, []string{"critical", "default"}, []string{stats[0].Name, stats[1].Name})
	})
}

func TestClaimSkipsPausedQueues(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		insert(t, s, newJob("a"))
		require.NoError(t, s.Queues.SetQueuePaused(ctx, "default", true, "ada"))
		require.Empty(t, claim(t, s, "srv", 10), "nothing is claimed from a paused queue")
		require.NoError(t, s.Queues.SetQueuePaused(ctx, "default", false, "ada"))
		require.Len(t, claim(t, s, "srv", 10), 1)
	})
}
