package models_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
)

// rescue runs RescueJobs for leases that ended before at, of servers silent for 15 s (or not
// registered), with the default limit of rescues.
func rescue(t *testing.T, s *models.Store, at time.Time) models.Rescue {
	t.Helper()
	r, err := s.Jobs.RescueJobs(ctx, models.RescueParams{Now: at, Limit: 100, MaxRescues: models.DefaultMaxRescues, SilentFor: 15 * time.Second})
	require.NoError(t, err)
	return r
}

// A crash is not the job's fault: a rescued job goes back to its queue without using an
// attempt, even its only one, and its rescue is counted.
func TestLeaseExpiryRescue(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		alive, dead, last := newJob("alive"), newJob("dead"), newJob("last")
		last.MaxAttempts = 1
		insert(t, s, alive, dead, last)
		jobs := claim(t, s, "dead-server", 3)
		require.Len(t, jobs, 3)
		now := time.Now()
		// The live server's heartbeat keeps its job; the dead server's leases run out.
		n, err := s.Jobs.ExtendLeases(ctx, "nobody", now.Add(time.Hour))
		require.NoError(t, err)
		require.Zero(t, n)
		r := rescue(t, s, now.Add(2*time.Minute))
		require.Equal(t, models.Rescue{Requeued: 3, Queues: []string{"default"}}, r)
		for _, j := range jobs {
			got, err := s.JobQueries.GetJob(ctx, j.ID)
			require.NoError(t, err)
			require.Equal(t, models.JobEnqueued, got.State, "%s: a crash uses no attempt, not even the last one", j.Kind)
			require.Zero(t, got.Attempt, "the attempt was given back")
			require.Equal(t, 1, got.Rescues)
			require.Contains(t, got.LastError, "lease expired: server dead-server presumed dead")
			require.Equal(t, []string{">enqueued", "enqueued>processing", "processing>enqueued"}, states(t, s, got))
		}
		events, err := s.JobQueries.JobEvents(ctx, jobs[0].ID)
		require.NoError(t, err)
		require.Contains(t, events[2].Reason, "rescued (1 of 3)")
		require.Equal(t, "dead-server", events[2].ServerID, "the event names the server that died")
		stats, err := s.JobQueries.Stats(ctx, models.PeriodSecond, now.Add(time.Minute))
		require.NoError(t, err)
		require.Len(t, stats, 1)
		require.EqualValues(t, 3, stats[0].Rescued, "rescues show in the charts")
		require.Zero(t, stats[0].Failed)

		// Run again, the one-attempt job has its attempt.
		again := claim(t, s, "live", 3)
		require.Len(t, again, 3)
		for _, j := range again {
			require.Equal(t, 1, j.Attempt)
			require.Equal(t, 1, j.Rescues, "the claim reads the rescue count")
		}
		// A heartbeat prevents a rescue.
		n, err = s.Jobs.ExtendLeases(ctx, "live", now.Add(time.Hour))
		require.NoError(t, err)
		require.EqualValues(t, 3, n)
		require.Equal(t, models.Rescue{}, rescue(t, s, now.Add(2*time.Minute)))
		gone, err := s.Jobs.NotRunningHere(ctx, "live", []int64{again[0].ID})
		require.NoError(t, err)
		require.Empty(t, gone)
		gone, err = s.Jobs.NotRunningHere(ctx, "dead-server", []int64{again[0].ID})
		require.NoError(t, err)
		require.Equal(t, []int64{again[0].ID}, gone, "the dead server's workers, should it wake, stop")
	})
}

// A job that keeps killing its server is a poison pill: after MaxRescues rescues, the next
// death of its server fails it, with its continuations, and the failure is charted.
func TestRescueLimitFailsPoisonPills(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		poison := newJob("poison")
		insert(t, s, poison)
		child := &models.Job{Kind: "after", Queue: "default", Args: "{}", MaxAttempts: 1, ParentID: &poison.ID, ContinueOn: models.ContinueOnFinish}
		insert(t, s, child)
		at := time.Now()
		for i := 1; i <= models.DefaultMaxRescues; i++ {
			require.Len(t, claim(t, s, fmt.Sprintf("srv-%d", i), 1), 1)
			at = at.Add(2 * time.Minute)
			require.Equal(t, 1, rescue(t, s, at).Requeued, "rescue %d", i)
		}
		got, err := s.JobQueries.GetJob(ctx, poison.ID)
		require.NoError(t, err)
		require.Equal(t, models.DefaultMaxRescues, got.Rescues)
		require.Zero(t, got.Attempt)

		require.Len(t, claim(t, s, "srv-last", 1), 1)
		at = at.Add(2 * time.Minute)
		r := rescue(t, s, at)
		require.Equal(t, 1, r.Failed)
		require.Zero(t, r.Requeued)
		require.Equal(t, []string{"default"}, r.Queues, "its continuation was started")
		got, err = s.JobQueries.GetJob(ctx, poison.ID)
		require.NoError(t, err)
		require.Equal(t, models.JobFailed, got.State)
		require.NotNil(t, got.FinishedAt)
		require.Contains(t, got.LastError, "crashed its server 4 times")
		next, err := s.JobQueries.GetJob(ctx, child.ID)
		require.NoError(t, err)
		require.Equal(t, models.JobEnqueued, next.State)
		stats, err := s.JobQueries.Stats(ctx, models.PeriodHour, time.Now().Add(-time.Hour).Truncate(time.Hour))
		require.NoError(t, err)
		var failed, rescued int64
		for _, st := range stats {
			failed, rescued = failed+st.Failed, rescued+st.Rescued
		}
		require.EqualValues(t, 1, failed, "the poison pill counts as a failure in the charts")
		require.EqualValues(t, models.DefaultMaxRescues, rescued)
		kinds, err := s.JobQueries.KindStats(ctx, "poison", time.Now().Add(-time.Hour))
		require.NoError(t, err)
		sum := models.SummarizeKindStats(kinds)
		require.EqualValues(t, 1, sum.Failed, "and on its kind's page")
		require.Greater(t, sum.Max, time.Minute, "having run from its claim to the rescue")

		// With no rescues allowed, the first death fails the job.
		once := newJob("once")
		insert(t, s, once)
		claim(t, s, "srv", 2)
		r, err = s.Jobs.RescueJobs(ctx, models.RescueParams{Now: at.Add(time.Hour), Limit: 100, MaxRescues: 0})
		require.NoError(t, err)
		require.Equal(t, 2, r.Failed) // the continuation and the new job
		got, err = s.JobQueries.GetJob(ctx, once.ID)
		require.NoError(t, err)
		require.Equal(t, models.JobFailed, got.State)
		require.Contains(t, got.LastError, "crashed its server once")
	})
}

// A node that starts takes back at once the jobs of servers whose heartbeat stopped (or that
// left the registry), whatever their leases say; live servers keep theirs.
func TestRescueJobsOfDeadServers(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		now := time.Now()
		for _, srv := range []models.Server{
			{ID: "stale", Host: "h", PID: 1, StartedAt: now.Add(-time.Hour), HeartbeatAt: now.Add(-time.Minute)},
			{ID: "fresh", Host: "h", PID: 2, StartedAt: now.Add(-time.Hour), HeartbeatAt: now},
			{ID: "me", Host: "h", PID: 3, StartedAt: now, HeartbeatAt: now.Add(-time.Minute)},
			{ID: "beating", Host: "h", PID: 4, StartedAt: now}, // heartbeat now, by the database's clock
		} {
			require.NoError(t, s.Servers.UpsertServer(ctx, &srv))
		}
		byServer := map[string]*models.Job{}
		for _, srv := range []string{"stale", "fresh", "gone", "me", "beating"} {
			j := newJob(srv)
			insert(t, s, j)
			require.Len(t, claim(t, s, srv, 1), 1)
			byServer[srv] = j
		}
		// Every lease runs for another minute; only the periodic rule would wait for it.
		require.Equal(t, models.Rescue{}, rescue(t, s, now))
		r, err := s.Jobs.RescueJobs(ctx, models.RescueParams{Now: now, Limit: 100, MaxRescues: 3, SilentFor: 15 * time.Second, Self: "me", IgnoreLeases: true})
		require.NoError(t, err)
		require.Equal(t, 2, r.Requeued)
		for srv, want := range map[string]models.JobState{"stale": models.JobEnqueued, "gone": models.JobEnqueued, "fresh": models.JobProcessing, "me": models.JobProcessing, "beating": models.JobProcessing} {
			got, err := s.JobQueries.GetJob(ctx, byServer[srv].ID)
			require.NoError(t, err)
			require.Equal(t, want, got.State, "job of server %s", srv)
			if want == models.JobEnqueued {
				require.Contains(t, got.LastError, "server "+srv+" stopped sending heartbeats: presumed dead")
			}
		}
	})
}

// A finish names its run by server and run count: the outcome of a run from before a rescue,
// or from before a cancel and a requeue, never lands on the run after it, even on the same
// server with the same attempt number. A requeue also gives the job its rescues back.
func TestFinishOfAnEarlierRunIsIgnored(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		insert(t, s, newJob("frozen"))
		first := claim(t, s, "srv", 1)[0]
		require.Equal(t, 1, rescue(t, s, time.Now().Add(2*time.Minute)).Requeued)
		second := claim(t, s, "srv", 1)[0]
		require.Equal(t, first.Attempt, second.Attempt, "the rescued attempt runs again")
		require.Equal(t, first.Runs+1, second.Runs)
		stale := models.JobFinish{JobID: first.ID, ServerID: "srv", Attempt: first.Attempt, Run: first.Runs, State: models.JobFailed, Error: "stale", At: time.Now()}
		n, _, err := s.Jobs.FinishJobs(ctx, []models.JobFinish{stale})
		require.NoError(t, err)
		require.Zero(t, n, "the run from before the rescue finishes nothing")

		// Cancelled, requeued and claimed again by the same server: attempt 1 again, a new run.
		_, _, err = s.Jobs.CancelJob(ctx, first.ID, "cancelled by ada")
		require.NoError(t, err)
		_, _, err = s.Jobs.RequeueJob(ctx, first.ID, "requeued by ada")
		require.NoError(t, err)
		third := claim(t, s, "srv", 1)[0]
		require.Equal(t, 1, third.Attempt)
		require.Zero(t, third.Rescues, "a requeue starts the job afresh")
		late := stale
		late.Run, late.Attempt = second.Runs, second.Attempt
		n, _, err = s.Jobs.FinishJobs(ctx, []models.JobFinish{late})
		require.NoError(t, err)
		require.Zero(t, n, "the cancelled run's late outcome finishes nothing")

		fresh := late
		fresh.Run, fresh.State, fresh.Error = third.Runs, models.JobSucceeded, ""
		n, _, err = s.Jobs.FinishJobs(ctx, []models.JobFinish{fresh})
		require.NoError(t, err)
		require.Equal(t, 1, n)
		got, err := s.JobQueries.GetJob(ctx, first.ID)
		require.NoError(t, err)
		require.Equal(t, models.JobSucceeded, got.State)
		require.Equal(t, 3, got.Runs)
	})
}

// A lease runs out while its server is cut off from the database as surely as when it died: a
// job is rescued only when its server is silent too. A server heard from since (it came back
// after an outage) keeps its jobs, and so does the server asking, whatever its leases say,
// except those it doesn't hold (a claim whose answer was lost), and at start, when its own
// running jobs are an earlier process's. A rescued job keeps its place in its queue.
func TestRescueNeedsASilentServer(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		now := time.Now()
		for _, srv := range []models.Server{
			{ID: "silent", Host: "h", PID: 1, StartedAt: now.Add(-time.Hour), HeartbeatAt: now.Add(-time.Minute)},
			{ID: "back", Host: "h", PID: 2, StartedAt: now.Add(-time.Hour)}, // heartbeat now: it answers again
			{ID: "me", Host: "h", PID: 3, StartedAt: now.Add(-time.Hour), HeartbeatAt: now.Add(-time.Minute)},
			{ID: "other", Host: "h", PID: 4, StartedAt: now.Add(-time.Hour)},
		} {
			require.NoError(t, s.Servers.UpsertServer(ctx, &srv))
		}
		byServer := map[string]*models.Job{}
		for i, srv := range []string{"silent", "back", "me", "me-lost", "me-new"} {
			j := newJob(srv)
			j.RunAt = now.Add(-time.Duration(10-i) * time.Hour) // its place in the queue
			insert(t, s, j)
			server := strings.TrimSuffix(strings.TrimSuffix(srv, "-lost"), "-new")
			claimed, err := s.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "default", ServerID: server, Limit: 1, Lease: time.Minute, Now: now.Add(-time.Duration(5-i) * time.Minute)})
			require.NoError(t, err)
			require.Len(t, claimed, 1)
			byServer[srv] = j
		}
		later := now.Add(2 * time.Minute) // every lease ran out
		r, err := s.Jobs.RescueJobs(ctx, models.RescueParams{Now: later, Limit: 100, MaxRescues: 3, SilentFor: 15 * time.Second, Self: "me",
			Held: []int64{byServer["me"].ID}, ClaimedBefore: now.Add(-90 * time.Second)})
		require.NoError(t, err)
		require.Equal(t, 1, r.Requeued, "the silent server's job")
		require.Equal(t, 1, r.TakenBack, "and the one this server claimed and never got, not counted as a rescue")
		for srv, want := range map[string]models.JobState{"silent": models.JobEnqueued, "back": models.JobProcessing, "me": models.JobProcessing,
			"me-lost": models.JobEnqueued, "me-new": models.JobProcessing} {
			got, err := s.JobQueries.GetJob(ctx, byServer[srv].ID)
			require.NoError(t, err)
			require.Equal(t, want, got.State, "job %s", srv)
		}
		got, err := s.JobQueries.GetJob(ctx, byServer["silent"].ID)
		require.NoError(t, err)
		require.WithinDuration(t, byServer["silent"].RunAt, got.RunAt, time.Millisecond, "the rescued job keeps its place in its queue")
		require.Contains(t, got.LastError, "lease expired: server silent presumed dead (the lease ran out 6m0s ago, and its last heartbeat was 3m0s ago)")
		got, err = s.JobQueries.GetJob(ctx, byServer["me-lost"].ID)
		require.NoError(t, err)
		require.Contains(t, got.LastError, "server me claimed the job but never got it")
		require.Zero(t, got.Rescues, "a lost claim is no crash")
		require.Zero(t, got.Attempt, "nor an attempt")
		events, err := s.JobQueries.JobEvents(ctx, got.ID)
		require.NoError(t, err)
		require.True(t, events[len(events)-1].IsTakeBack())
		next := claim(t, s, "other", 1)
		require.Len(t, next, 1)
		require.Equal(t, byServer["silent"].ID, next[0].ID, "first in line again")

		// At start, the asking server takes back what an earlier process of its id left, and
		// nothing of others'.
		r, err = s.Jobs.RescueJobs(ctx, models.RescueParams{Now: later, Limit: 100, MaxRescues: 3, SilentFor: 15 * time.Second, Self: "me", Starting: true, ClaimedBefore: later})
		require.NoError(t, err)
		require.Equal(t, models.Rescue{Requeued: 2, Queues: []string{"default"}}, r)
		got, err = s.JobQueries.GetJob(ctx, byServer["me"].ID)
		require.NoError(t, err)
		require.Equal(t, models.JobEnqueued, got.State)
		require.Contains(t, got.LastError, "server me started again")
		got, err = s.JobQueries.GetJob(ctx, byServer["back"].ID)
		require.NoError(t, err)
		require.Equal(t, models.JobProcessing, got.State, "a server heard from keeps its job")
	})
}
