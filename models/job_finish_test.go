package models_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// A continuation committed while its parent's finish waits for the parent's lock is released
// by that finish: on PostgreSQL the finish's probe for waiting jobs must not use the snapshot
// of a statement that began before the continuation was committed.
func TestContinuationCommittedWhileItsParentFinishes(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		parent := newJob("parent")
		insert(t, s, parent)
		jobs := claim(t, s, "srv", 1)
		require.Len(t, jobs, 1)

		tx := modeltest.DB(s).Begin()
		require.NoError(t, tx.Error)
		child := newJob("child")
		child.ParentID, child.ContinueOn = &parent.ID, models.ContinueOnSuccess
		_, err := s.Jobs.InsertJobsTx(tx, []*models.Job{child}, time.Now())
		require.NoError(t, err)
		require.Equal(t, models.JobAwaiting, child.State)

		done := make(chan error, 1)
		go func() {
			_, _, err := s.Jobs.FinishJobs(ctx, []models.JobFinish{{JobID: parent.ID, ServerID: "srv", Attempt: 1, Run: 1, State: models.JobSucceeded, At: time.Now()}})
			done <- err
		}()
		time.Sleep(300 * time.Millisecond) // the finish is waiting for the parent's lock (or the writer)
		require.NoError(t, tx.Commit().Error)
		require.NoError(t, <-done)

		got, err := s.JobQueries.GetJob(ctx, child.ID)
		require.NoError(t, err)
		require.Equal(t, models.JobEnqueued, got.State, "the continuation was left waiting for a parent that succeeded")
	})
}

// Two outcomes of one job in a batch (it was rescued and claimed again by the same server):
// the row takes the latest run's, and the counters, stats and history follow that one.
func TestTwoOutcomesOfOneJobInABatch(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		j := newJob("twice")
		insert(t, s, j)
		first := claim(t, s, "srv", 1)
		require.Len(t, first, 1)
		r := rescue(t, s, time.Now().Add(2*time.Minute))
		require.Equal(t, 1, r.Requeued)
		second := claim(t, s, "srv", 1)
		require.Len(t, second, 1)
		require.Equal(t, 2, second[0].Runs)

		since := time.Now().Add(-time.Hour)
		before, err := s.JobQueries.Stats(ctx, models.PeriodHour, since)
		require.NoError(t, err)
		now := time.Now()
		applied, _, err := s.Jobs.FinishJobs(ctx, []models.JobFinish{
			{JobID: j.ID, ServerID: "srv", Attempt: 1, Run: 2, State: models.JobSucceeded, At: now},
			{JobID: j.ID, ServerID: "srv", Attempt: 1, Run: 1, State: models.JobFailed, Error: "stale", At: now},
		})
		require.NoError(t, err)
		require.Equal(t, 1, applied)
		got, err := s.JobQueries.GetJob(ctx, j.ID)
		require.NoError(t, err)
		require.Equal(t, models.JobSucceeded, got.State)
		after, err := s.JobQueries.Stats(ctx, models.PeriodHour, since)
		require.NoError(t, err)
		sum := func(st []models.JobStat) (ok, failed int64) {
			for _, x := range st {
				ok, failed = ok+x.Succeeded, failed+x.Failed
			}
			return ok, failed
		}
		ok0, failed0 := sum(before)
		ok1, failed1 := sum(after)
		require.Equal(t, [2]int64{ok0 + 1, failed0}, [2]int64{ok1, failed1}, "succeeded +1, failed unchanged")
		require.Equal(t, []string{">enqueued", "enqueued>processing", "processing>enqueued", "enqueued>processing", "processing>succeeded"}, states(t, s, j))
	})
}

// A parent with more continuations than one statement has parameters for releases them all.
func TestManyContinuationsReleased(t *testing.T) {
	if testing.Short() {
		t.Skip("inserts 8,000 jobs")
	}
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		parent := newJob("parent")
		insert(t, s, parent)
		children := make([]*models.Job, 8000)
		for i := range children {
			c := newJob("child")
			c.Queue, c.ParentID, c.ContinueOn = "children", &parent.ID, models.ContinueOnSuccess
			children[i] = c
		}
		_, err := s.Jobs.InsertJobs(ctx, children, time.Now())
		require.NoError(t, err)
		require.Len(t, claim(t, s, "srv", 1), 1)
		applied, queues, err := s.Jobs.FinishJobs(ctx, []models.JobFinish{{JobID: parent.ID, ServerID: "srv", Attempt: 1, Run: 1, State: models.JobSucceeded, At: time.Now()}})
		require.NoError(t, err)
		require.Equal(t, 1, applied)
		require.Equal(t, []string{"children"}, queues)
		n, err := s.JobQueries.CountJobs(ctx, models.JobFilter{Queue: "children", State: models.JobEnqueued})
		require.NoError(t, err)
		require.Equal(t, int64(8000), n)
	})
}

// Log lines with NUL characters (a program's binary output) are stored without them, on both
// dialects, and a batch of lines is stored whole.
func TestLogLinesWithNUL(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		j := newJob("logs")
		insert(t, s, j)
		now := time.Now()
		lines := []models.JobLog{{JobID: j.ID, Attempt: 1, At: now, Message: "before"}, {JobID: j.ID, Attempt: 1, At: now, Message: "a\x00b"}}
		for i := range 300 {
			lines = append(lines, models.JobLog{JobID: j.ID, Attempt: 1, At: now, Message: fmt.Sprintf("line %d", i)})
		}
		require.NoError(t, s.Jobs.AppendJobLogs(ctx, lines))
		require.NoError(t, modeltest.AppendJobLog(ctx, s, j.ID, 1, now, "c\x00d"))
		got, err := s.JobQueries.JobLogs(ctx, j.ID)
		require.NoError(t, err)
		require.Len(t, got, 303)
		require.Equal(t, "ab", got[1].Message)
		require.Equal(t, "line 299", got[301].Message)
		require.Equal(t, "cd", got[302].Message)
	})
}

// A page reads a log's newest lines only: oldest first, with a count of the lines before them,
// on both dialects; another job's lines, written in between, are neither read nor counted.
func TestNewestJobLogs(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		j, other := newJob("logs"), newJob("logs")
		insert(t, s, j, other)
		now := time.Now()
		var lines []models.JobLog
		for i := range 500 {
			lines = append(lines, models.JobLog{JobID: j.ID, Attempt: 1, At: now, Message: fmt.Sprintf("line %d", i)},
				models.JobLog{JobID: other.ID, Attempt: 1, At: now, Message: fmt.Sprintf("other %d", i)})
		}
		require.NoError(t, s.Jobs.AppendJobLogs(ctx, lines))
		got, earlier, err := s.JobQueries.NewestJobLogs(ctx, j.ID, 256)
		require.NoError(t, err)
		require.Len(t, got, 256)
		require.Equal(t, int64(244), earlier)
		require.Equal(t, "line 244", got[0].Message)
		require.Equal(t, "line 499", got[255].Message)
		got, earlier, err = s.JobQueries.NewestJobLogs(ctx, j.ID, 1000)
		require.NoError(t, err)
		require.Len(t, got, 500)
		require.Zero(t, earlier)
		require.Equal(t, "line 0", got[0].Message)
		got, earlier, err = s.JobQueries.NewestJobLogs(ctx, j.ID+other.ID, 10)
		require.NoError(t, err)
		require.Empty(t, got)
		require.Zero(t, earlier)
	})
}
