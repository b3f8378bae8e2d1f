package alerts_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/alerts"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/jobstest"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// fixture is an evaluator on a store, with a clock the test moves.
type fixture struct {
	t  *testing.T
	s  *models.Store
	e  *jobs.Engine
	v  *alerts.Evaluator
	mu sync.Mutex
	at time.Time
}

// t0 is when each test's rules are made.
var t0 = time.Date(2031, 3, 4, 10, 0, 30, 0, time.UTC)

func newFixture(t *testing.T, e *jobs.Engine, s *models.Store) *fixture {
	f := &fixture{t: t, s: s, e: e, at: t0}
	f.v = alerts.New(e, s.Rules, alerts.Config{Now: f.now, PublicURL: "https://kiln.example.com/"})
	return f
}

func (f *fixture) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.at
}

// evaluateAt evaluates the rules at t0+d.
func (f *fixture) evaluateAt(d time.Duration) {
	f.t.Helper()
	f.mu.Lock()
	f.at = t0.Add(d)
	f.mu.Unlock()
	ran, err := f.v.Evaluate(context.Background())
	require.NoError(f.t, err)
	require.True(f.t, ran)
}

func (f *fixture) rule(r models.AlertRule) *models.AlertRule {
	f.t.Helper()
	r.Enabled = true
	out, err := f.s.Rules.CreateRule(context.Background(), &r, t0)
	require.NoError(f.t, err)
	return out
}

// finished stores a job of the kind that ended in state at t0+d, made just before.
func (f *fixture) finished(kind string, state models.JobState, d time.Duration, recurringID *int64) int64 {
	f.t.Helper()
	return f.finishedMany(kind, state, d, recurringID, 1)[0]
}

func (f *fixture) finishedMany(kind string, state models.JobState, d time.Duration, recurringID *int64, n int) []int64 {
	f.t.Helper()
	at := t0.Add(d)
	rows := make([]*models.Job, n)
	for i := range rows {
		end := at.Add(time.Duration(i) * time.Microsecond)
		made := end.Add(-time.Second)
		rows[i] = &models.Job{Kind: kind, Queue: "default", Args: "{}", State: state, Attempt: 1, MaxAttempts: 1,
			RunAt: made, CreatedAt: made, StartedAt: &made, FinishedAt: &end, RecurringID: recurringID, LastError: "boom\nat line 2"}
	}
	require.NoError(f.t, modeltest.DB(f.s).CreateInBatches(rows, 500).Error)
	ids := make([]int64, n)
	for i, j := range rows {
		ids[i] = j.ID
	}
	return ids
}

// deliveries are the delivery jobs enqueued so far, oldest first.
func (f *fixture) deliveries() []alerts.DeliveryArgs {
	f.t.Helper()
	var rows []models.Job
	require.NoError(f.t, modeltest.DB(f.s).Where("kind = ?", alerts.KindDeliver).Order("id").Find(&rows).Error)
	out := make([]alerts.DeliveryArgs, len(rows))
	for i, j := range rows {
		require.NoError(f.t, json.Unmarshal([]byte(j.Args), &out[i]))
	}
	return out
}

func (f *fixture) alerts() []models.Alert {
	f.t.Helper()
	all, err := f.s.Rules.ListAlerts(context.Background(), false, 100)
	require.NoError(f.t, err)
	return all
}

// statuses lists the deliveries' channel and status, in order.
func statuses(ds []alerts.DeliveryArgs) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Channel + ":" + string(d.Message.Status)
	}
	return out
}

// forEachDialect runs fn on each dialect with an engine (not started) and a fixture.
func forEachDialect(t *testing.T, fn func(t *testing.T, f *fixture)) {
	jobstest.ForEachDialect(t, jobstest.Fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		fn(t, newFixture(t, e, s))
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

var errBoom = errors.New("boom")
