package alerts_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// unfinished stores a job of the kind in queue "default", due at t0+due, and running since
// t0+started when state is processing.
func (f *fixture) unfinished(kind string, state models.JobState, due, started time.Duration) int64 {
	f.t.Helper()
	at := t0.Add(due)
	j := &models.Job{Kind: kind, Queue: "default", Args: "{}", State: state, MaxAttempts: 1, RunAt: at, CreatedAt: at}
	if state == models.JobProcessing {
		s := t0.Add(started)
		j.StartedAt, j.Attempt = &s, 1
	}
	require.NoError(f.t, modeltest.DB(f.s).Create(j).Error)
	return j.ID
}

func (f *fixture) setState(id int64, state models.JobState) {
	f.t.Helper()
	require.NoError(f.t, modeltest.DB(f.s).Model(&models.Job{}).Where("id = ?", id).Update("state", state).Error)
}

// A job running longer than the rule allows opens an alert naming it; its end resolves it.
func TestRunningLonger(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		f.rule(models.AlertRule{Name: "slow", Watch: models.WatchRunningLonger, Scope: models.ScopeKind, Target: "export",
			LongerThan: 30 * time.Minute, Channels: []string{"ops"}})
		f.unfinished("export", models.JobProcessing, 0, 20*time.Minute) // running for 10 minutes at 30m
		long := f.unfinished("export", models.JobProcessing, 0, time.Minute)
		f.evaluateAt(30 * time.Minute)
		require.Empty(t, f.deliveries(), "29 minutes is not longer than 30")
		f.evaluateAt(32 * time.Minute)
		ds := f.deliveries()
		require.Equal(t, []string{"ops:firing"}, statuses(ds))
		require.Equal(t, "kind export: 1 job running longer than 30m0s", ds[0].Message.Title)
		require.Equal(t, long, ds[0].Message.Jobs[0].ID)
		f.setState(long, models.JobSucceeded)
		f.evaluateAt(35 * time.Minute)
		require.Equal(t, []string{"ops:firing", "ops:resolved"}, statuses(f.deliveries()))
	})
}

// More than N jobs waiting longer than X opens; the backlog draining to N resolves it.
func TestBacklog(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		f.rule(models.AlertRule{Name: "backed up", Watch: models.WatchBacklog, Scope: models.ScopeQueue, Target: "default",
			Threshold: 2, LongerThan: 10 * time.Minute, Channels: []string{"ops"}})
		ids := []int64{
			f.unfinished("mail", models.JobEnqueued, 0, 0),
			f.unfinished("mail", models.JobEnqueued, time.Minute, 0),
			f.unfinished("sms", models.JobEnqueued, time.Minute, 0),
		}
		f.unfinished("mail", models.JobEnqueued, 9*time.Minute, 0) // waited 2 minutes at 11m
		f.evaluateAt(10 * time.Minute)
		require.Empty(t, f.deliveries(), "one job waited longer than 10m, not more than two")
		f.evaluateAt(11*time.Minute + time.Second)
		ds := f.deliveries()
		require.Equal(t, []string{"ops:firing"}, statuses(ds))
		require.Equal(t, 3, ds[0].Message.Count)
		require.Equal(t, ids[0], ds[0].Message.Jobs[0].ID, "the job waiting longest first")
		f.setState(ids[0], models.JobProcessing)
		f.evaluateAt(12 * time.Minute)
		require.Equal(t, []string{"ops:firing", "ops:resolved"}, statuses(f.deliveries()))
	})
}

// A queue no live server works fires; a server that works it resolves it. A rule on every
// queue watches those with jobs waiting (the messages' own deliveries wait in "default").
func TestNoWorkers(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.rule(models.AlertRule{Name: "reports unworked", Watch: models.WatchNoWorkers, Scope: models.ScopeQueue, Target: "reports", Channels: []string{"ops"}})
		f.rule(models.AlertRule{Name: "any unworked", Watch: models.WatchNoWorkers, Scope: models.ScopeQueue, Channels: []string{"pager"}})
		_, err := f.s.Jobs.InsertJobs(ctx, []*models.Job{{Kind: "mail", Queue: "emails", Args: "{}", MaxAttempts: 1}}, time.Now())
		require.NoError(t, err)
		f.evaluateAt(time.Minute)
		ds := f.deliveries()
		require.ElementsMatch(t, []string{"ops:firing", "pager:firing"}, statuses(ds))
		for _, d := range ds {
			if d.Channel == "pager" {
				require.Equal(t, "queue emails: no live server works it", d.Message.Title)
			}
		}
		require.NoError(t, f.s.Servers.UpsertServer(ctx, &models.Server{ID: "node-1", Host: "h", StartedAt: time.Now(), Queues: "reports=2,emails=1,default=1", Workers: 4}))
		f.evaluateAt(2 * time.Minute)
		require.ElementsMatch(t, []string{"ops:firing", "pager:firing", "ops:resolved", "pager:resolved"}, statuses(f.deliveries()))
	})
}
