package models_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// This file is the store conformance suite: every test runs against SQLite and PostgreSQL.

func newJob(kind string) *models.Job {
	return &models.Job{Kind: kind, Queue: "default", Args: `{"n":1}`, MaxAttempts: 3}
}

func insert(t *testing.T, s *models.Store, jobs ...*models.Job) {
	t.Helper()
	_, err := s.Jobs.InsertJobs(ctx, jobs, time.Now())
	require.NoError(t, err)
}

func states(t *testing.T, s *models.Store, j *models.Job) []string {
	t.Helper()
	events, err := s.JobQueries.JobEvents(ctx, j.ID)
	require.NoError(t, err)
	var out []string
	for _, e := range events {
		out = append(out, fmt.Sprintf("%s>%s", e.From, e.To))
	}
	return out
}

func claim(t *testing.T, s *models.Store, server string, n int) []*models.Job {
	t.Helper()
	jobs, err := s.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "default", ServerID: server, Limit: n, Lease: time.Minute, Now: time.Now()})
	require.NoError(t, err)
	return jobs
}

func TestInsertJobStates(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		now := time.Now()
		later := newJob("later")
		later.RunAt = now.Add(time.Hour)
		insert(t, s, newJob("now"), later)
		got := modeltest.RecentJobs(t, s, 10)
		require.Equal(t, models.JobScheduled, got[0].State)
		require.Equal(t, models.JobEnqueued, got[1].State)
		require.Equal(t, []string{">enqueued"}, states(t, s, &got[1]))

		for _, bad := range []*models.Job{
			{Kind: "", Queue: "default", Args: "{}", MaxAttempts: 1},
			{Kind: "k", Queue: "has space", Args: "{}", MaxAttempts: 1},
			{Kind: "k", Queue: "default", Args: "{not json", MaxAttempts: 1},
			{Kind: "k", Queue: "default", Args: "{}", MaxAttempts: 0},
			{Kind: "nul\x00", Queue: "default", Args: "{}", MaxAttempts: 1},
			{Kind: "k", Queue: "\xff", Args: "{}", MaxAttempts: 1},
			{Kind: "k", Queue: "tab\tq", Args: "{}", MaxAttempts: 1},
		} {
			_, err := s.Jobs.InsertJobs(ctx, []*models.Job{newJob("ok"), bad}, now)
			require.Equal(t, models.EINVALID, models.ErrorCode(err), "%+v", bad)
		}
		counts, err := s.JobQueries.CountJobsByState(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 2, counts[models.JobEnqueued]+counts[models.JobScheduled], "a rejected batch writes nothing")
	})
}

func TestClaimOrderAndLimit(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		low, high, other := newJob("low"), newJob("high"), newJob("other")
		high.Priority = 5
		other.Queue = "critical"
		insert(t, s, low, high, other, newJob("low2"))
		jobs := claim(t, s, "a", 3)
		require.Len(t, jobs, 3)
		require.Equal(t, []string{"high", "low", "low2"}, []string{jobs[0].Kind, jobs[1].Kind, jobs[2].Kind}, "priority, then run_at, then id")
		for _, j := range jobs {
			require.Equal(t, models.JobProcessing, j.State)
			require.Equal(t, 1, j.Attempt)
			require.Equal(t, "a", j.ServerID)
			require.NotNil(t, j.LeaseUntil)
		}
		require.Empty(t, claim(t, s, "a", 10), "the critical queue's job is not claimed for default")
		require.Equal(t, []string{">enqueued", "enqueued>processing"}, states(t, s, jobs[0]))
	})
}

// Eight claimers racing over 400 jobs: each job is claimed exactly once.
func TestConcurrentClaimersNeverShareAJob(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		const total = 400
		batch := make([]*models.Job, total)
		for i := range batch {
			batch[i] = newJob("race")
		}
		insert(t, s, batch...)
		var (
			mu      sync.Mutex
			claimed = map[int64]string{}
			wg      sync.WaitGroup
			dupes   []int64
		)
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				server := fmt.Sprintf("server-%d", w)
				for {
					jobs, err := s.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "default", ServerID: server, Limit: 7, Lease: time.Minute, Now: time.Now()})
					if err != nil {
						t.Errorf("%s: %v", server, err)
						return
					}
					if len(jobs) == 0 {
						return
					}
					mu.Lock()
					for _, j := range jobs {
						if _, ok := claimed[j.ID]; ok {
							dupes = append(dupes, j.ID)
						}
						claimed[j.ID] = server
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		require.Empty(t, dupes, "jobs claimed twice")
		require.Len(t, claimed, total)
		counts, err := s.JobQueries.CountJobsByState(ctx)
		require.NoError(t, err)
		require.EqualValues(t, total, counts[models.JobProcessing])
	})
}

func TestFinishJobsAndGuard(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		a, b, c := newJob("a"), newJob("b"), newJob("c")
		insert(t, s, a, b, c)
		jobs := claim(t, s, "srv", 3)
		now := time.Now()
		applied, _, err := s.Jobs.FinishJobs(ctx, []models.JobFinish{
			{JobID: jobs[0].ID, ServerID: "srv", Attempt: 1, Run: 1, State: models.JobSucceeded, Result: `{"ok":true}`, At: now, Duration: time.Second},
			{JobID: jobs[1].ID, ServerID: "srv", Attempt: 1, Run: 1, State: models.JobScheduled, RunAt: now.Add(time.Minute), Error: "boom", At: now, Duration: 2 * time.Second},
			{JobID: jobs[2].ID, ServerID: "other", Attempt: 1, Run: 1, State: models.JobSucceeded, At: now}, // not ours: skipped
			{JobID: jobs[2].ID, ServerID: "srv", Attempt: 1, Run: 2, State: models.JobSucceeded, At: now},   // another run: skipped
		})
		require.NoError(t, err)
		require.Equal(t, 2, applied)
		got, err := s.JobQueries.GetJob(ctx, jobs[0].ID)
		require.NoError(t, err)
		require.Equal(t, models.JobSucceeded, got.State)
		require.Equal(t, 100, got.Progress)
		require.JSONEq(t, `{"ok":true}`, got.Result)
		require.NotNil(t, got.FinishedAt)
		require.Nil(t, got.LeaseUntil)
		got, err = s.JobQueries.GetJob(ctx, jobs[1].ID)
		require.NoError(t, err)
		require.Equal(t, models.JobScheduled, got.State)
		require.Equal(t, "boom", got.LastError)
		require.Nil(t, got.FinishedAt)
		got, err = s.JobQueries.GetJob(ctx, jobs[2].ID)
		require.NoError(t, err)
		require.Equal(t, models.JobProcessing, got.State)
		// A success is told by the row: its run lasted from the claim to the finish. A retry's
		// event is stored with the duration the worker measured, and its claim is drawn from it.
		events, err := s.JobQueries.JobEvents(ctx, jobs[0].ID)
		require.NoError(t, err)
		done, err := s.JobQueries.GetJob(ctx, jobs[0].ID)
		require.NoError(t, err)
		require.Equal(t, done.FinishedAt.Sub(*done.StartedAt), events[len(events)-1].Duration)
		events, err = s.JobQueries.JobEvents(ctx, jobs[1].ID)
		require.NoError(t, err)
		require.Len(t, events, 3)
		require.Equal(t, 2*time.Second, events[2].Duration)
		require.Equal(t, models.JobProcessing, events[1].To)
		require.Equal(t, events[2].At.Add(-2*time.Second), events[1].At)

		// Promotion brings the retry back once due; a refunded attempt is given back.
		n, queues, err := s.Jobs.PromoteScheduled(ctx, now.Add(2*time.Minute), 10)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Equal(t, []string{"default"}, queues)
		again := claim(t, s, "srv", 10)
		require.Len(t, again, 1)
		require.Equal(t, 2, again[0].Attempt)
		_, _, err = s.Jobs.FinishJobs(ctx, []models.JobFinish{{JobID: again[0].ID, ServerID: "srv", Attempt: 2, Run: again[0].Runs, State: models.JobEnqueued, RunAt: now, RefundAttempt: true, At: now}})
		require.NoError(t, err)
		got, err = s.JobQueries.GetJob(ctx, again[0].ID)
		require.NoError(t, err)
		require.Equal(t, 1, got.Attempt)
		require.Equal(t, []string{">enqueued", "enqueued>processing", "processing>scheduled", "scheduled>enqueued", "enqueued>processing", "processing>enqueued"}, states(t, s, got))
	})
}

func TestUniqueKeys(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		key := "recurring:sweep:1700000000"
		first := newJob("sweep")
		first.UniqueKey = &key
		insert(t, s, first)
		second, third := newJob("sweep"), newJob("other")
		second.UniqueKey = &key
		dups, err := s.Jobs.InsertJobs(ctx, []*models.Job{third, second}, time.Now())
		require.NoError(t, err)
		require.Equal(t, []int{1}, dups)
		require.Equal(t, first.ID, second.ID, "the existing job comes back")
		require.NotZero(t, third.ID, "the rest of the batch is inserted")
		counts, err := s.JobQueries.CountJobsByState(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 2, counts[models.JobEnqueued])
		require.Len(t, states(t, s, first), 1, "no second event for the duplicate")

		// Concurrent inserts of one key make one job.
		var wg sync.WaitGroup
		ids := make([]int64, 8)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k := "tick:42"
				j := newJob("tick")
				j.UniqueKey = &k
				if _, err := s.Jobs.InsertJobs(ctx, []*models.Job{j}, time.Now()); err != nil {
					t.Error(err)
				}
				ids[i] = j.ID
			}()
		}
		wg.Wait()
		for _, id := range ids {
			require.Equal(t, ids[0], id)
		}
	})
}

func TestContinuations(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		parent, failing := newJob("parent"), newJob("failing")
		insert(t, s, parent, failing)
		cont := func(p *models.Job, on string) *models.Job {
			c := newJob("child")
			c.ParentID, c.ContinueOn = &p.ID, on
			insert(t, s, c)
			return c
		}
		onSuccess := cont(parent, models.ContinueOnSuccess)
		afterFail := cont(failing, models.ContinueOnFinish)
		wantedSuccess := cont(failing, models.ContinueOnSuccess)
		require.Equal(t, models.JobAwaiting, onSuccess.State)

		jobs := claim(t, s, "srv", 2)
		now := time.Now()
		_, queues, err := s.Jobs.FinishJobs(ctx, []models.JobFinish{
			{JobID: parent.ID, ServerID: "srv", Attempt: 1, Run: 1, State: models.JobSucceeded, At: now},
			{JobID: failing.ID, ServerID: "srv", Attempt: 1, Run: 1, State: models.JobFailed, Error: "no", At: now},
		})
		require.NoError(t, err)
		require.Len(t, jobs, 2)
		require.Equal(t, []string{"default"}, queues)
		for j, want := range map[*models.Job]models.JobState{onSuccess: models.JobEnqueued, afterFail: models.JobEnqueued, wantedSuccess: models.JobCancelled} {
			got, err := s.JobQueries.GetJob(ctx, j.ID)
			require.NoError(t, err)
			require.Equal(t, want, got.State)
		}
		require.Equal(t, []string{">awaiting", "awaiting>cancelled"}, states(t, s, wantedSuccess))

		// A continuation of a finished parent starts at once (or is cancelled).
		late := cont(parent, models.ContinueOnSuccess)
		require.Equal(t, models.JobEnqueued, late.State)
		lateFail := cont(failing, models.ContinueOnSuccess)
		require.Equal(t, models.JobCancelled, lateFail.State)
		missing := newJob("orphan")
		id := int64(99999)
		missing.ParentID, missing.ContinueOn = &id, models.ContinueOnSuccess
		_, err = s.Jobs.InsertJobs(ctx, []*models.Job{missing}, now)
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))

		// Cancelling an awaiting job's parent cancels it too.
		p2 := newJob("p2")
		insert(t, s, p2)
		c2 := cont(p2, models.ContinueOnSuccess)
		_, _, err = s.Jobs.CancelJob(ctx, p2.ID, "cancelled by test")
		require.NoError(t, err)
		got, err := s.JobQueries.GetJob(ctx, c2.ID)
		require.NoError(t, err)
		require.Equal(t, models.JobCancelled, got.State)
	})
}

func TestCancelDeleteRequeueTrigger(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		waiting, running := newJob("waiting"), newJob("running")
		scheduled := newJob("scheduled")
		scheduled.RunAt = time.Now().Add(time.Hour)
		insert(t, s, waiting, running, scheduled)
		_, _, err := s.Jobs.CancelJob(ctx, waiting.ID, "cancelled by alice")
		require.NoError(t, err)
		_, _, err = s.Jobs.CancelJob(ctx, waiting.ID, "again")
		require.Equal(t, models.ECONFLICT, models.ErrorCode(err))

		claimed := claim(t, s, "srv", 1)
		require.Equal(t, running.ID, claimed[0].ID)
		before, _, err := s.Jobs.DeleteJob(ctx, running.ID, "deleted by bob")
		require.NoError(t, err)
		require.Equal(t, models.JobProcessing, before.State, "the caller learns it was running, and where")
		require.Equal(t, "srv", before.ServerID)
		applied, _, err := s.Jobs.FinishJobs(ctx, []models.JobFinish{{JobID: running.ID, ServerID: "srv", Attempt: 1, Run: 1, State: models.JobSucceeded, At: time.Now()}})
		require.NoError(t, err)
		require.Zero(t, applied, "a deleted job stays deleted when its worker finishes")

		_, _, err = s.Jobs.RequeueJob(ctx, scheduled.ID, "requeued")
		require.Equal(t, models.ECONFLICT, models.ErrorCode(err), "only final jobs are requeued")
		_, _, err = s.Jobs.TriggerJob(ctx, scheduled.ID, "triggered now by carol")
		require.NoError(t, err)
		_, _, err = s.Jobs.RequeueJob(ctx, running.ID, "requeued by dave")
		require.NoError(t, err)
		got, err := s.JobQueries.GetJob(ctx, running.ID)
		require.NoError(t, err)
		require.Equal(t, models.JobEnqueued, got.State)
		require.Zero(t, got.Attempt)
		require.Nil(t, got.FinishedAt)
		events, err := s.JobQueries.JobEvents(ctx, running.ID)
		require.NoError(t, err)
		require.Equal(t, "deleted by bob", events[2].Reason)
		require.Equal(t, "requeued by dave", events[3].Reason)
		_, _, err = s.Jobs.CancelJob(ctx, 424242, "x")
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))
	})
}

func TestRetention(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		var finished []*models.Job
		for range 25 {
			finished = append(finished, newJob("done"))
		}
		failed, waiting := newJob("failed"), newJob("waiting")
		insert(t, s, append(finished, failed)...)
		claimed := claim(t, s, "srv", 26)
		old := time.Now().Add(-8 * 24 * time.Hour)
		var batch []models.JobFinish
		for _, j := range claimed {
			st := models.JobSucceeded
			if j.ID == failed.ID {
				st = models.JobFailed
			}
			batch = append(batch, models.JobFinish{JobID: j.ID, ServerID: "srv", Attempt: 1, Run: 1, State: st, At: old})
		}
		_, _, err := s.Jobs.FinishJobs(ctx, batch)
		require.NoError(t, err)
		require.NoError(t, modeltest.AppendJobLog(ctx, s, finished[0].ID, 1, old, "a line"))
		insert(t, s, waiting)

		n, err := s.Jobs.CleanupJobs(ctx, models.RetainedStates, time.Now().Add(-7*24*time.Hour), 10) // three batches
		require.NoError(t, err)
		require.EqualValues(t, 25, n)
		counts, err := s.JobQueries.CountJobsByState(ctx)
		require.NoError(t, err)
		require.EqualValues(t, map[models.JobState]int64{models.JobFailed: 1, models.JobEnqueued: 1}, counts, "failed jobs are kept for inspection")
		var orphans int64
		require.NoError(t, modeltest.DB(s).Model(&models.JobEvent{}).Where("job_id = ?", finished[0].ID).Count(&orphans).Error)
		require.Zero(t, orphans)
		require.NoError(t, modeltest.DB(s).Model(&models.JobLog{}).Count(&orphans).Error)
		require.Zero(t, orphans)

		// With a retention of their own, failed jobs go too; a job still waiting never does.
		_, err = s.Jobs.CleanupJobs(ctx, []models.JobState{models.JobEnqueued}, time.Now(), 10)
		require.Error(t, err, "retention deletes finished jobs only")
		n, err = s.Jobs.CleanupJobs(ctx, []models.JobState{models.JobFailed}, time.Now().Add(-7*24*time.Hour), 10)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		counts, err = s.JobQueries.CountJobsByState(ctx)
		require.NoError(t, err)
		require.EqualValues(t, map[models.JobState]int64{models.JobEnqueued: 1}, counts)
	})
}
