package models_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// storedEvents counts the event rows stored for a job.
func storedEvents(t *testing.T, s *models.Store, id int64) int64 {
	t.Helper()
	var n int64
	require.NoError(t, modeltest.DB(s).Model(&models.JobEvent{}).Where("job_id = ?", id).Count(&n).Error)
	return n
}

// requirePath checks that a history is a path: each event leaves the state the one before
// entered, the first one creates the job, and none goes back in time by more than skew.
func requirePath(t *testing.T, events []models.JobEvent) {
	t.Helper()
	require.NotEmpty(t, events)
	require.Equal(t, models.JobState(""), events[0].From, "the first event creates the job")
	for i := 1; i < len(events); i++ {
		require.Equal(t, events[i-1].To, events[i].From, "event %d of %v", i, events)
		require.False(t, events[i].At.Before(events[i-1].At.Add(-time.Millisecond)), "event %d goes back in time: %v", i, events)
	}
}

func finish(t *testing.T, s *models.Store, j *models.Job, f models.JobFinish) {
	t.Helper()
	f.JobID, f.ServerID, f.Attempt, f.Run = j.ID, j.ServerID, j.Attempt, j.Runs
	if f.At.IsZero() {
		f.At = time.Now()
	}
	applied, _, err := s.Jobs.FinishJobs(ctx, []models.JobFinish{f})
	require.NoError(t, err)
	require.Equal(t, 1, applied)
}

// A job's happy path stores no event: the enqueue, the claim and the success are told by its
// row. Everything else is stored, and the history shows both, in order, whatever happens.
func TestHistoryFromRowAndEvents(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		t.Run("happy path", func(t *testing.T) {
			j := newJob("happy")
			j.Queue = "happy"
			insert(t, s, j)
			jobs, err := s.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "happy", ServerID: "srv-a", Limit: 1, Lease: time.Minute, Now: time.Now()})
			require.NoError(t, err)
			require.Len(t, jobs, 1)
			finish(t, s, jobs[0], models.JobFinish{State: models.JobSucceeded, Reason: "succeeded", Duration: time.Millisecond})
			require.Zero(t, storedEvents(t, s, j.ID), "the happy path stores no event")

			got, err := s.JobQueries.GetJob(ctx, j.ID)
			require.NoError(t, err)
			events, err := s.JobQueries.JobEvents(ctx, j.ID)
			require.NoError(t, err)
			requirePath(t, events)
			require.Equal(t, []string{">enqueued", "enqueued>processing", "processing>succeeded"}, states(t, s, j))
			require.Equal(t, got.CreatedAt, events[0].At)
			require.Equal(t, "enqueued", events[0].Reason)
			require.Equal(t, *got.StartedAt, events[1].At)
			require.Equal(t, "srv-a", events[1].ServerID)
			require.Equal(t, 1, events[1].Attempt)
			require.Equal(t, *got.FinishedAt, events[2].At)
			require.Equal(t, got.FinishedAt.Sub(*got.StartedAt), events[2].Duration)
			require.Equal(t, "srv-a", events[2].ServerID)
			require.Equal(t, "succeeded", events[2].Reason)
		})

		t.Run("retried, then requeued by hand and run again", func(t *testing.T) {
			j := newJob("retry")
			j.Queue = "retry"
			insert(t, s, j)
			p := models.ClaimParams{Queue: "retry", ServerID: "srv-a", Limit: 1, Lease: time.Minute, Now: time.Now()}
			jobs, err := s.Jobs.ClaimJobs(ctx, p)
			require.NoError(t, err)
			first := *jobs[0].StartedAt
			time.Sleep(3 * time.Millisecond)
			end := time.Now().Truncate(time.Microsecond)
			finish(t, s, jobs[0], models.JobFinish{State: models.JobScheduled, RunAt: end, Error: "boom",
				Reason: "attempt 1 of 3 failed", At: end, Duration: end.Sub(first)})
			n, _, err := s.Jobs.PromoteScheduled(ctx, time.Now(), 10)
			require.NoError(t, err)
			require.Equal(t, 1, n)
			p.ServerID, p.Now = "srv-b", time.Now()
			jobs, err = s.Jobs.ClaimJobs(ctx, p)
			require.NoError(t, err)
			require.Len(t, jobs, 1)
			finish(t, s, jobs[0], models.JobFinish{State: models.JobSucceeded, Reason: "succeeded"})
			require.Equal(t, int64(2), storedEvents(t, s, j.ID), "the retry and the promotion")

			events, err := s.JobQueries.JobEvents(ctx, j.ID)
			require.NoError(t, err)
			requirePath(t, events)
			require.Equal(t, []string{">enqueued", "enqueued>processing", "processing>scheduled", "scheduled>enqueued",
				"enqueued>processing", "processing>succeeded"}, states(t, s, j))
			require.Equal(t, first.UTC(), events[1].At.UTC(), "the first claim, drawn from the retry's duration")
			require.Equal(t, "srv-a", events[1].ServerID)
			require.Equal(t, "srv-b", events[4].ServerID)
			require.Equal(t, 2, events[4].Attempt)
			require.Equal(t, 2, events[5].Attempt)

			// A requeue rewrites the row's run: the claim and success it told are stored first.
			before := events
			_, _, err = s.Jobs.RequeueJob(ctx, j.ID, "requeued by admin")
			require.NoError(t, err)
			require.Equal(t, int64(5), storedEvents(t, s, j.ID))
			events, err = s.JobQueries.JobEvents(ctx, j.ID)
			require.NoError(t, err)
			requirePath(t, events)
			require.Len(t, events, len(before)+1)
			for i := range before {
				before[i].ID, events[i].ID = 0, 0
				require.Equal(t, before[i].At.UTC(), events[i].At.UTC(), "event %d", i)
				before[i].At, events[i].At = time.Time{}, time.Time{}
			}
			require.Equal(t, before, events[:len(before)], "the history before the requeue is unchanged")
			require.Equal(t, "requeued by admin", events[len(before)].Reason)

			p.ServerID, p.Now = "srv-c", time.Now()
			jobs, err = s.Jobs.ClaimJobs(ctx, p)
			require.NoError(t, err)
			require.Len(t, jobs, 1)
			finish(t, s, jobs[0], models.JobFinish{State: models.JobSucceeded, Reason: "succeeded"})
			events, err = s.JobQueries.JobEvents(ctx, j.ID)
			require.NoError(t, err)
			requirePath(t, events)
			require.Len(t, events, len(before)+3)
			require.Equal(t, "srv-c", events[len(events)-1].ServerID)
			require.Equal(t, 1, events[len(events)-1].Attempt, "a requeue resets the attempts")
		})

		t.Run("cancelled while running", func(t *testing.T) {
			j := newJob("cancel")
			j.Queue = "cancel"
			insert(t, s, j)
			jobs, err := s.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "cancel", ServerID: "srv-a", Limit: 1, Lease: time.Minute, Now: time.Now()})
			require.NoError(t, err)
			require.Len(t, jobs, 1)
			_, _, err = s.Jobs.CancelJob(ctx, j.ID, "cancelled by admin")
			require.NoError(t, err)
			events, err := s.JobQueries.JobEvents(ctx, j.ID)
			require.NoError(t, err)
			requirePath(t, events)
			require.Equal(t, []string{">enqueued", "enqueued>processing", "processing>cancelled"}, states(t, s, j))
			require.Equal(t, jobs[0].StartedAt.UTC(), events[1].At.UTC())
			require.Equal(t, "srv-a", events[1].ServerID)
		})

		t.Run("rescued after its server died", func(t *testing.T) {
			j := newJob("rescue")
			j.Queue = "rescue"
			insert(t, s, j)
			jobs, err := s.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "rescue", ServerID: "dead", Limit: 1, Lease: time.Minute, Now: time.Now()})
			require.NoError(t, err)
			require.Len(t, jobs, 1)
			r := rescue(t, s, time.Now().Add(2*time.Minute))
			require.GreaterOrEqual(t, r.Requeued, 1)
			events, err := s.JobQueries.JobEvents(ctx, j.ID)
			require.NoError(t, err)
			requirePath(t, events)
			require.Equal(t, []string{">enqueued", "enqueued>processing", "processing>enqueued"}, states(t, s, j))
			require.Equal(t, jobs[0].StartedAt.UTC(), events[1].At.UTC(), "the claim, drawn from the rescue's duration")
			require.Equal(t, "dead", events[1].ServerID)
			require.True(t, events[2].IsRescue())
		})

		t.Run("stored claimed at once", func(t *testing.T) {
			p := models.ClaimParams{Queue: "direct", ServerID: "srv-a", Lease: time.Minute}
			plain, noted := newJob("direct"), newJob("direct")
			plain.Queue, noted.Queue, noted.Note = "direct", "direct", "from recurring job nightly"
			for _, j := range []*models.Job{plain, noted} {
				claimed, err := s.Jobs.InsertAndClaimJob(ctx, j, time.Now(), p)
				require.NoError(t, err)
				require.True(t, claimed)
				finish(t, s, j, models.JobFinish{State: models.JobSucceeded, Reason: "succeeded"})
				events, err := s.JobQueries.JobEvents(ctx, j.ID)
				require.NoError(t, err)
				requirePath(t, events)
				require.Equal(t, []string{">enqueued", "enqueued>processing", "processing>succeeded"}, states(t, s, j))
			}
			require.Zero(t, storedEvents(t, s, plain.ID))
			require.Zero(t, storedEvents(t, s, noted.ID), "a note is kept on the row")
			events, err := s.JobQueries.JobEvents(ctx, noted.ID)
			require.NoError(t, err)
			require.Equal(t, "from recurring job nightly", events[0].Reason)
		})

		t.Run("enqueued with a note", func(t *testing.T) {
			plain, later := newJob("noted"), newJob("noted")
			plain.Note, later.Note = "enqueued by token deploy", "enqueued by token deploy"
			later.RunAt = time.Now().Add(time.Hour)
			insert(t, s, plain, later)
			require.Zero(t, storedEvents(t, s, plain.ID), "a plain enqueue's row tells it, note and all")
			events, err := s.JobQueries.JobEvents(ctx, plain.ID)
			require.NoError(t, err)
			require.Len(t, events, 1)
			require.Equal(t, models.JobEnqueued, events[0].To)
			require.Equal(t, "enqueued by token deploy", events[0].Reason)
			got, err := s.JobQueries.GetJob(ctx, plain.ID)
			require.NoError(t, err)
			require.Equal(t, "enqueued by token deploy", got.Note)

			require.Equal(t, int64(1), storedEvents(t, s, later.ID), "a schedule is stored, starting with the note")
			events, err = s.JobQueries.JobEvents(ctx, later.ID)
			require.NoError(t, err)
			require.Len(t, events, 1)
			require.Equal(t, models.JobScheduled, events[0].To)
			require.True(t, strings.HasPrefix(events[0].Reason, "enqueued by token deploy; scheduled for "), events[0].Reason)
		})

		t.Run("histories stored in full by earlier releases", func(t *testing.T) {
			j := newJob("old")
			j.Queue = "old"
			insert(t, s, j)
			jobs, err := s.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "old", ServerID: "srv-a", Limit: 1, Lease: time.Minute, Now: time.Now()})
			require.NoError(t, err)
			finish(t, s, jobs[0], models.JobFinish{State: models.JobSucceeded, Reason: "succeeded"})
			got, err := s.JobQueries.GetJob(ctx, j.ID)
			require.NoError(t, err)
			old := []models.JobEvent{
				{JobID: j.ID, To: models.JobEnqueued, At: got.CreatedAt, Reason: "enqueued"},
				{JobID: j.ID, From: models.JobEnqueued, To: models.JobProcessing, At: *got.StartedAt, Attempt: 1, ServerID: "srv-a"},
				{JobID: j.ID, From: models.JobProcessing, To: models.JobSucceeded, At: *got.FinishedAt, Attempt: 1, ServerID: "srv-a", Reason: "succeeded"},
			}
			require.NoError(t, modeltest.DB(s).Create(&old).Error)
			events, err := s.JobQueries.JobEvents(ctx, j.ID)
			require.NoError(t, err)
			require.Equal(t, []string{">enqueued", "enqueued>processing", "processing>succeeded"}, states(t, s, j), "nothing twice")
			for _, e := range events {
				require.NotZero(t, e.ID, "all stored")
			}
		})
	})
}

// History is a pure function of the row and the stored events; these cases have no store.
func TestHistoryEdges(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ptr := func(t time.Time) *time.Time { return &t }

	// Waiting, never run: only the enqueue.
	j := &models.Job{ID: 1, State: models.JobEnqueued, CreatedAt: t0}
	require.Len(t, models.History(j, nil), 1)

	// Running: the enqueue and the claim, nothing more.
	j = &models.Job{ID: 1, State: models.JobProcessing, CreatedAt: t0, Runs: 1, Attempt: 1, StartedAt: ptr(at(5)), ServerID: "a"}
	h := models.History(j, nil)
	require.Len(t, h, 2)
	require.Equal(t, models.JobProcessing, h[1].To)

	// Failed for good on its second run: both claims from the ending events, no success.
	j = &models.Job{ID: 1, State: models.JobFailed, CreatedAt: t0, Runs: 2, Attempt: 2, StartedAt: ptr(at(20)), FinishedAt: ptr(at(30)), ServerID: "b"}
	stored := []models.JobEvent{
		{ID: 7, From: models.JobProcessing, To: models.JobScheduled, At: at(10), Attempt: 1, ServerID: "a", Duration: 4 * time.Millisecond},
		{ID: 8, From: models.JobScheduled, To: models.JobEnqueued, At: at(15)},
		{ID: 9, From: models.JobProcessing, To: models.JobFailed, At: at(30), Attempt: 2, ServerID: "b", Duration: 10 * time.Millisecond},
	}
	h = models.History(j, stored)
	requirePath(t, h)
	require.Len(t, h, 6)
	require.Equal(t, at(6), h[1].At)
	require.Equal(t, at(20), h[4].At)

	// A scheduled job stores its creation; the history adds nothing to it.
	j = &models.Job{ID: 1, State: models.JobScheduled, CreatedAt: t0}
	h = models.History(j, []models.JobEvent{{ID: 3, To: models.JobScheduled, At: t0, Reason: "scheduled for later"}})
	require.Len(t, h, 1)

	// A job released at shutdown and claimed again, still running.
	j = &models.Job{ID: 1, State: models.JobProcessing, CreatedAt: t0, Runs: 2, Attempt: 1, StartedAt: ptr(at(50)), ServerID: "b"}
	h = models.History(j, []models.JobEvent{{ID: 4, From: models.JobProcessing, To: models.JobEnqueued, At: at(40), Attempt: 1, ServerID: "a", Duration: 30 * time.Millisecond}})
	requirePath(t, h)
	require.Equal(t, []time.Time{t0, at(10), at(40), at(50)}, []time.Time{h[0].At, h[1].At, h[2].At, h[3].At})
}
