package models_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
)

// A worker gets exactly the job the database holds after the claim, although the claim reads
// back only some columns and fills in the rest itself.
func TestClaimedJobIsTheStoredJob(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		parent := newJob("parent")
		insert(t, s, parent)
		key := "the-key"
		j := &models.Job{Kind: "full", Queue: "default", Args: `{"a":[1,2],"s":"é"}`, MaxAttempts: 7, Priority: 3,
			UniqueKey: &key, Timeout: 90 * time.Second}
		insert(t, s, j)
		jobs := claim(t, s, "srv-1", 2)
		require.Len(t, jobs, 2)
		require.Equal(t, j.ID, jobs[0].ID, "the higher priority first")
		for _, got := range jobs {
			stored, err := s.JobQueries.GetJob(ctx, got.ID)
			require.NoError(t, err)
			require.Equal(t, inUTC(*stored), inUTC(*got))
		}
	})
}

// inUTC puts a job's times in UTC: drivers differ in the Location they attach to the same instant.
func inUTC(j models.Job) models.Job {
	j.RunAt, j.CreatedAt = j.RunAt.UTC(), j.CreatedAt.UTC()
	for _, t := range []**time.Time{&j.StartedAt, &j.FinishedAt, &j.LeaseUntil} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	return j
}

// Outcomes travel to the database as JSON: quotes, newlines, control characters, non-ASCII
// text and NUL bytes (which no text column can hold) must arrive as text, unchanged but for NUL.
func TestFinishKeepsAwkwardText(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		insert(t, s, newJob("a"), newJob("b"))
		jobs := claim(t, s, "srv", 2)
		awkward := "line 1 \"quoted\" \\ back\nline 2\ttab \x01 <b>&amp;</b> ünïcødé 日本 \U0001F525 nul\x00end"
		long := strings.Repeat("é", models.JobErrorMax) // cut on a rune boundary
		now := time.Now()
		applied, _, err := s.Jobs.FinishJobs(ctx, []models.JobFinish{
			{JobID: jobs[0].ID, ServerID: "srv", Attempt: 1, Run: 1, State: models.JobFailed, Error: awkward, Reason: awkward, At: now},
			{JobID: jobs[1].ID, ServerID: "srv", Attempt: 1, Run: 1, State: models.JobSucceeded, Result: `{"msg":"` + strings.ReplaceAll(awkward, "\x00", "") + `"}`, Error: long, At: now},
		})
		require.NoError(t, err)
		require.Equal(t, 2, applied)
		want := strings.ReplaceAll(awkward, "\x00", "")
		failed, err := s.JobQueries.GetJob(ctx, jobs[0].ID)
		require.NoError(t, err)
		require.Equal(t, want, failed.LastError)
		events, err := s.JobQueries.JobEvents(ctx, failed.ID)
		require.NoError(t, err)
		last := events[len(events)-1]
		require.Equal(t, want, last.Reason)
		require.Equal(t, want, last.Error)
		require.Equal(t, models.JobFailed, last.To)
		require.Equal(t, "srv", last.ServerID)
		require.WithinDuration(t, now, last.At, time.Millisecond)

		ok, err := s.JobQueries.GetJob(ctx, jobs[1].ID)
		require.NoError(t, err)
		require.Contains(t, ok.Result, "日本")
		require.LessOrEqual(t, len(ok.LastError), models.JobErrorMax)
		require.True(t, strings.HasSuffix(ok.LastError, "[truncated]"))
	})
}

// Times written through JSON compare with times written as parameters: a retry scheduled
// through FinishJobs is promoted exactly when due, not a moment before or after.
func TestFinishTimesCompareWithParameters(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		insert(t, s, newJob("a"))
		jobs := claim(t, s, "srv", 1)
		due := time.Now().Add(time.Hour).Truncate(time.Microsecond)
		_, _, err := s.Jobs.FinishJobs(ctx, []models.JobFinish{{JobID: jobs[0].ID, ServerID: "srv", Attempt: 1, Run: 1, State: models.JobScheduled, RunAt: due, Error: "x", At: time.Now()}})
		require.NoError(t, err)
		n, _, err := s.Jobs.PromoteScheduled(ctx, due.Add(-time.Microsecond), 10)
		require.NoError(t, err)
		require.Zero(t, n)
		n, _, err = s.Jobs.PromoteScheduled(ctx, due, 10)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		got, err := s.JobQueries.GetJob(ctx, jobs[0].ID)
		require.NoError(t, err)
		require.True(t, due.Equal(got.RunAt), "run_at %s, want %s", got.RunAt, due)
	})
}

// An enqueue that finds its queue idle goes straight to its worker, with the full history; any
// reason to wait (another job waits, the queue is paused, a later run, a unique key, a parent)
// stores the job as usual instead.
func TestInsertAndClaimJob(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		p := models.ClaimParams{Queue: "default", ServerID: "srv", Lease: time.Minute}
		now := time.Now()
		j := newJob("fast")
		j.Note = "enqueued by ada"
		claimed, err := s.Jobs.InsertAndClaimJob(ctx, j, now, p)
		require.NoError(t, err)
		require.True(t, claimed)
		stored, err := s.JobQueries.GetJob(ctx, j.ID)
		require.NoError(t, err)
		require.Equal(t, inUTC(*stored), inUTC(*j), "the worker gets the job as stored, its note too")
		require.Equal(t, models.JobProcessing, stored.State)
		require.Equal(t, 1, stored.Attempt)
		require.Equal(t, []string{">enqueued", "enqueued>processing"}, states(t, s, j))
		events, err := s.JobQueries.JobEvents(ctx, j.ID)
		require.NoError(t, err)
		require.Equal(t, "enqueued by ada", events[0].Reason)
		require.Equal(t, "srv", events[1].ServerID)

		// The queue is idle again once that job runs; a job that waits blocks the shortcut.
		waiting := newJob("waiting")
		waiting.Queue = "busy"
		insert(t, s, waiting)
		behind := newJob("behind")
		behind.Queue = "busy"
		claimed, err = s.Jobs.InsertAndClaimJob(ctx, behind, now, models.ClaimParams{Queue: "busy", ServerID: "srv", Lease: time.Minute})
		require.NoError(t, err)
		require.False(t, claimed, "no jumping ahead of a waiting job")
		require.Equal(t, models.JobEnqueued, behind.State)

		require.NoError(t, s.Queues.SetQueuePaused(ctx, "quiet", true, "ada"))
		later := newJob("later")
		later.RunAt = now.Add(time.Hour)
		key := "k"
		unique := newJob("unique")
		unique.UniqueKey = &key
		paused := newJob("paused")
		paused.Queue = "quiet"
		for _, c := range []struct {
			job  *models.Job
			want models.JobState
		}{{paused, models.JobEnqueued}, {later, models.JobScheduled}, {unique, models.JobEnqueued}} {
			claimed, err := s.Jobs.InsertAndClaimJob(ctx, c.job, now, models.ClaimParams{Queue: c.job.Queue, ServerID: "srv", Lease: time.Minute})
			require.NoError(t, err)
			require.False(t, claimed, c.job.Kind)
			got, err := s.JobQueries.GetJob(ctx, c.job.ID)
			require.NoError(t, err)
			require.Equal(t, c.want, got.State, c.job.Kind)
		}

		bad := newJob("bad")
		bad.Args = "{not json"
		_, err = s.Jobs.InsertAndClaimJob(ctx, bad, now, p)
		require.Equal(t, models.EINVALID, models.ErrorCode(err))
	})
}

// ClaimParams.Idle lets the store skip its look for a waiting job (PostgreSQL does), never
// its check of a pause.
func TestInsertAndClaimJobIdle(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		now := time.Now()
		require.NoError(t, s.Queues.SetQueuePaused(ctx, "held", true, "ada"))
		j := newJob("held")
		j.Queue = "held"
		claimed, err := s.Jobs.InsertAndClaimJob(ctx, j, now, models.ClaimParams{Queue: "held", ServerID: "srv", Lease: time.Minute, Idle: true})
		require.NoError(t, err)
		require.False(t, claimed, "a paused queue holds its jobs")
		got, err := s.JobQueries.GetJob(ctx, j.ID)
		require.NoError(t, err)
		require.Equal(t, models.JobEnqueued, got.State)

		idle := newJob("idle")
		idle.Queue = "idle"
		claimed, err = s.Jobs.InsertAndClaimJob(ctx, idle, now, models.ClaimParams{Queue: "idle", ServerID: "srv", Lease: time.Minute, Idle: true})
		require.NoError(t, err)
		require.True(t, claimed)
		got, err = s.JobQueries.GetJob(ctx, idle.ID)
		require.NoError(t, err)
		require.Equal(t, models.JobProcessing, got.State)
		require.Equal(t, "srv", got.ServerID)
	})
}
