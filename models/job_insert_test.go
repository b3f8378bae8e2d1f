package models_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/stretchr/testify/require"
)

// Tags are kept on every way in, including straight to an idle worker.
func TestJobTags(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		j := newJob("a")
		require.NoError(t, j.SetTags([]string{"x", "y:1"}))
		insert(t, s, j)
		got, err := s.JobQueries.GetJob(ctx, j.ID)
		require.NoError(t, err)
		require.Equal(t, []string{"x", "y:1"}, got.TagList())

		direct := newJob("b")
		direct.Queue = "other" // an idle queue: the job goes straight to the claimer
		require.NoError(t, direct.SetTags([]string{"z"}))
		claimed, err := s.Jobs.InsertAndClaimJob(ctx, direct, time.Now(), models.ClaimParams{Queue: "other", ServerID: "n", Limit: 1, Lease: time.Minute, Now: time.Now()})
		require.NoError(t, err)
		require.True(t, claimed)
		got, err = s.JobQueries.GetJob(ctx, direct.ID)
		require.NoError(t, err)
		require.Equal(t, []string{"z"}, got.TagList())

		page, err := s.JobQueries.ListJobs(ctx, models.JobFilter{Tag: "y:1"}, 0, 0, 10)
		require.NoError(t, err)
		require.Len(t, page.Jobs, 1)
		page, err = s.JobQueries.ListJobs(ctx, models.JobFilter{Tag: "z"}, 0, 0, 10)
		require.NoError(t, err)
		require.Len(t, page.Jobs, 1, "a job stored claimed is in the tag index too")
		require.Zero(t, page.SearchedFrom, "a tag filter reads its index, not a window of ids")

		// The tag index: a row per tag, none for a duplicate of a unique key, gone with the job.
		key := "tagged-once"
		u1, u2 := newJob("u"), newJob("u")
		u1.UniqueKey, u2.UniqueKey = &key, &key
		require.NoError(t, u1.SetTags([]string{"once"}))
		require.NoError(t, u2.SetTags([]string{"once", "twice"}))
		insert(t, s, u1)
		insert(t, s, u2)
		var rows []models.JobTag
		require.NoError(t, modeltest.DB(s).Order("tag, job_id").Find(&rows).Error)
		require.Equal(t, []models.JobTag{{Tag: "once", JobID: u1.ID}, {Tag: "x", JobID: j.ID}, {Tag: "y:1", JobID: j.ID}, {Tag: "z", JobID: direct.ID}}, rows)
		n, err := s.JobQueries.CountJobs(ctx, models.JobFilter{Tag: "once"})
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		_, _, err = s.Jobs.DeleteJob(ctx, u1.ID, "test")
		require.NoError(t, err)
		_, err = s.Jobs.CleanupJobs(ctx, models.RetainedStates, time.Now().Add(time.Hour), 100)
		require.NoError(t, err)
		require.NoError(t, modeltest.DB(s).Where("tag = ?", "once").Find(&rows).Error)
		require.Empty(t, rows, "cleaned up with its job")
		require.Error(t, (&models.Job{}).SetTags([]string{"no space"}))
		require.Nil(t, (&models.Job{}).TagList())
	})
}

// A batch of new jobs keeps every column it was given, each job under its own id (PostgreSQL
// inserts a batch from one array per column, SQLite with GORM).
func TestInsertJobsKeepsEveryColumn(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		now := time.Now().UTC().Truncate(time.Microsecond)
		parent, failed := newJob("parent"), newJob("failed")
		insert(t, s, parent, failed)
		claim(t, s, "n1", 2)
		_, _, err := s.Jobs.FinishJobs(ctx, []models.JobFinish{{JobID: failed.ID, ServerID: "n1", Attempt: 1, Run: 1,
			State: models.JobFailed, Error: "boom", At: now}})
		require.NoError(t, err)
		recurring := int64(42)
		past := now.Add(-90*time.Minute - 123456*time.Microsecond)
		a := &models.Job{Kind: "a", Queue: "q-a", Priority: 5, Args: `{"x":"ü\n"}`, MaxAttempts: 7, RunAt: past,
			Timeout: 90 * time.Second, Tags: ",red,blue,", RecurringID: &recurring}
		b := &models.Job{Kind: "b", Queue: "q-b", Priority: -3, Args: `[1,2]`, MaxAttempts: 1, RunAt: now.Add(time.Hour)}
		c := &models.Job{Kind: "c", Queue: "default", Args: `null`, MaxAttempts: 2, ParentID: &parent.ID,
			ContinueOn: models.ContinueOnFinish, LastError: "kept", Result: `"r"`}
		// Columns a new job rarely sets, each to a value of its own.
		started, lease := now.Add(-3*time.Second), now.Add(7*time.Second)
		d := &models.Job{Kind: "d", Queue: "default", Args: `{}`, MaxAttempts: 4, StartedAt: &started,
			LeaseUntil: &lease, ServerID: "elsewhere", Rescues: 2, Runs: 5}
		// A continuation of a failed parent that wanted a success: cancelled, finished now.
		e := &models.Job{Kind: "e", Queue: "default", Args: `{}`, MaxAttempts: 1, ParentID: &failed.ID,
			ContinueOn: models.ContinueOnSuccess}
		_, err = s.Jobs.InsertJobs(ctx, []*models.Job{a, b, c, d, e}, now)
		require.NoError(t, err)
		for _, want := range []*models.Job{a, b, c, d, e} {
			got, err := s.JobQueries.GetJob(ctx, want.ID)
			require.NoError(t, err)
			require.Equal(t, want.Kind, got.Kind, "job %d", want.ID)
			require.Equal(t, want.Queue, got.Queue)
			require.Equal(t, want.Priority, got.Priority)
			require.Equal(t, want.Args, got.Args)
			require.Equal(t, want.State, got.State)
			require.Equal(t, want.MaxAttempts, got.MaxAttempts)
			require.True(t, want.RunAt.Equal(got.RunAt), "run at %s, want %s", got.RunAt, want.RunAt)
			require.True(t, now.Equal(got.CreatedAt), "created at %s, want %s", got.CreatedAt, now)
			require.Equal(t, want.Timeout, got.Timeout)
			require.Equal(t, want.Tags, got.Tags)
			require.Equal(t, want.RecurringID, got.RecurringID)
			require.Equal(t, want.ParentID, got.ParentID)
			require.Equal(t, want.ContinueOn, got.ContinueOn)
			require.Equal(t, want.LastError, got.LastError)
			require.Equal(t, want.Result, got.Result)
			sameTime := func(want, got *time.Time, what string) {
				t.Helper()
				require.Equal(t, want == nil, got == nil, "%s of job %s: %v, want %v", what, want, got, want)
				if want != nil {
					require.True(t, want.Equal(*got), "%s of job %s: %s, want %s", what, want, got, want)
				}
			}
			sameTime(want.StartedAt, got.StartedAt, "started at")
			sameTime(want.FinishedAt, got.FinishedAt, "finished at")
			sameTime(want.LeaseUntil, got.LeaseUntil, "lease until")
			require.Equal(t, want.ServerID, got.ServerID)
			require.Equal(t, want.Rescues, got.Rescues)
			require.Equal(t, want.Runs, got.Runs)
			require.Nil(t, got.UniqueKey)
			require.Zero(t, got.Attempt)
			require.Zero(t, got.Progress)
		}
		require.Equal(t, models.JobEnqueued, a.State)
		require.Equal(t, models.JobScheduled, b.State)
		require.Equal(t, models.JobAwaiting, c.State)
		require.Equal(t, models.JobCancelled, e.State)
		require.NotNil(t, e.FinishedAt)

		// More jobs than one statement carries (5,000 on PostgreSQL): each still under its id.
		many := make([]*models.Job, 5003)
		for i := range many {
			many[i] = &models.Job{Kind: "many", Queue: "default", Args: fmt.Sprintf(`{"i":%d}`, i), MaxAttempts: 1}
		}
		_, err = s.Jobs.InsertJobs(ctx, many, now)
		require.NoError(t, err)
		for _, i := range []int{0, 4999, 5000, 5002} {
			got, err := s.JobQueries.GetJob(ctx, many[i].ID)
			require.NoError(t, err)
			require.Equal(t, many[i].Args, got.Args)
		}
	})
}

// Batches holding the same unique keys in opposite orders, written at once, never wait on each
// other in a cycle (PostgreSQL would fail one with a deadlock after a second): keyed jobs are
// written in the order of their keys. One of each pair stores a key, the other gets its job.
func TestInsertJobsWithTheSameKeysAtOnce(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		for round := range 5 {
			batch := func(reverse bool) []*models.Job {
				jobs := make([]*models.Job, 40)
				for i := range jobs {
					k := i
					if reverse {
						k = len(jobs) - 1 - i
					}
					key := fmt.Sprintf("round-%d-key-%02d", round, k)
					jobs[i] = &models.Job{Kind: "k", Queue: "default", Args: "{}", MaxAttempts: 1, UniqueKey: &key}
				}
				return jobs
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			dups := make([][]int, 2)
			for w := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					dups[w], errs[w] = s.Jobs.InsertJobs(ctx, batch(w == 1), time.Now())
				}()
			}
			wg.Wait()
			require.NoError(t, errs[0])
			require.NoError(t, errs[1])
			require.Equal(t, 40, len(dups[0])+len(dups[1]), "each key stored once")
			n, err := s.JobQueries.CountJobs(ctx, models.JobFilter{Kind: "k"})
			require.NoError(t, err)
			require.EqualValues(t, 40*(round+1), n)
		}
	})
}
