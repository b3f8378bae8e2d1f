package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// errDown is what every call gets while downStore's database is away.
var errDown = errors.New("dial tcp 127.0.0.1:5432: connect: connection refused (test outage)")

// downStore is a store whose database can be taken away: while down, every call the engine
// makes to keep itself and its jobs alive fails, as over a lost connection. Its jobs and its
// servers (downJobs, downServers) take the place of the store's own in store().
type downStore struct {
	*models.Store
	down atomic.Bool
}

type (
	downJobs struct {
		models.JobStore
		d *downStore
	}
	downServers struct {
		models.ServerStore
		d *downStore
	}
)

// store is the store the engine is given: the real one, with the calls that fail while down.
func (d *downStore) store() *models.Store {
	c := *d.Store
	c.Jobs, c.Servers = downJobs{d.Store.Jobs, d}, downServers{d.Store.Servers, d}
	return &c
}

func (d *downStore) err() error {
	if d.down.Load() {
		return errDown
	}
	return nil
}

func (w downServers) UpsertServer(ctx context.Context, srv *models.Server) error {
	if err := w.d.err(); err != nil {
		return err
	}
	return w.ServerStore.UpsertServer(ctx, srv)
}

func (w downJobs) FinishJobs(ctx context.Context, batch []models.JobFinish) (int, []string, error) {
	if err := w.d.err(); err != nil {
		return 0, nil, err
	}
	return w.JobStore.FinishJobs(ctx, batch)
}

func (w downJobs) ExtendLeases(ctx context.Context, server string, until time.Time) (int64, error) {
	if err := w.d.err(); err != nil {
		return 0, err
	}
	return w.JobStore.ExtendLeases(ctx, server, until)
}

func (w downJobs) RescueJobs(ctx context.Context, p models.RescueParams) (models.Rescue, error) {
	if err := w.d.err(); err != nil {
		return models.Rescue{}, err
	}
	return w.JobStore.RescueJobs(ctx, p)
}

func (w downJobs) ClaimJobs(ctx context.Context, p models.ClaimParams) ([]*models.Job, error) {
	if err := w.d.err(); err != nil {
		return nil, err
	}
	return w.JobStore.ClaimJobs(ctx, p)
}

func (w downServers) DeleteStaleServers(ctx context.Context, age time.Duration) (int64, error) {
	if err := w.d.err(); err != nil {
		return 0, err
	}
	return w.ServerStore.DeleteStaleServers(ctx, age)
}

func (w downJobs) NotRunningHere(ctx context.Context, server string, ids []int64) ([]int64, error) {
	if err := w.d.err(); err != nil {
		return nil, err
	}
	return w.JobStore.NotRunningHere(ctx, server, ids)
}

// Two servers lose their database for three leases while they work one-attempt jobs. Their
// leases run out, their heartbeats stop; yet no job runs twice: each server keeps the outcomes
// of the runs that ended (shown in Outcomes, for /metrics) and writes them once the database
// answers, renews its leases first, and takes back nobody's jobs (its own least of all) until
// every live server had the time to say it lives.
func TestOutcomesOutliveAnOutageLongerThanTheLease(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		d := &downStore{Store: s}
		cfg := fast()
		cfg.Lease, cfg.ServerHeartbeat = 600*time.Millisecond, 200*time.Millisecond
		cfg.Queues = []jobs.QueueConfig{{Name: jobs.DefaultQueue, Workers: 4}}
		var (
			mu   sync.Mutex
			runs = map[int64]int{}
		)
		work := func(ctx context.Context, j *models.Job) error {
			mu.Lock()
			runs[j.ID]++
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
			return nil
		}
		var nodes []*jobs.Engine
		for range 2 {
			e, err := jobs.New(d.store(), cfg)
			require.NoError(t, err)
			require.NoError(t, e.Register("once", work, jobs.MaxAttempts(1)))
			nodes = append(nodes, e)
		}
		const total = 400
		batch := make([]jobs.EnqueueParams, total)
		for i := range batch {
			batch[i] = jobs.EnqueueParams{Kind: "once"}
		}
		_, err := nodes[0].EnqueueMany(ctx, batch)
		require.NoError(t, err)
		for _, e := range nodes {
			start(t, e)
		}
		ran := func() int {
			mu.Lock()
			defer mu.Unlock()
			return len(runs)
		}
		require.Eventually(t, func() bool { return ran() >= 40 }, 10*time.Second, time.Millisecond)

		d.down.Store(true)
		var most int64
		for end := time.Now().Add(3 * cfg.Lease); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			for _, e := range nodes {
				most = max(most, e.Outcomes().Waiting)
			}
		}
		d.down.Store(false)

		require.Eventually(t, func() bool {
			n, err := s.JobQueries.CountJobs(ctx, models.JobFilter{Kind: "once", State: models.JobSucceeded})
			return err == nil && n == total
		}, 30*time.Second, 10*time.Millisecond, "every job succeeds")
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, runs, total)
		for id, n := range runs {
			require.Equal(t, 1, n, "job %d ran %d times", id, n)
		}
		require.Positive(t, most, "outcomes waited in memory through the outage")
		var failed uint64
		for _, e := range nodes {
			require.Zero(t, e.Outcomes().Waiting, "every outcome is written")
			failed += e.Outcomes().FailedWrites
		}
		require.Positive(t, failed)
		ids, err := s.JobQueries.JobIDs(ctx, models.JobFilter{Kind: "once"}, 0, total)
		require.NoError(t, err)
		for _, id := range ids {
			j, err := s.JobQueries.GetJob(ctx, id)
			require.NoError(t, err)
			require.Zero(t, j.Rescues, "job %d was rescued: a live server was taken for dead", id)
		}
	})
}

// refusingJobs refuses, as a constraint would, every batch of outcomes that holds a result
// with "poison" in it, while the database otherwise answers.
type refusingJobs struct{ models.JobStore }

// errRefused is what refusingJobs refuses a batch with: SQLite's constraint error, which the
// driver tells as a refusal.
var errRefused = fmt.Errorf("value refused (test): %w", sqlite3.Error{Code: sqlite3.ErrConstraint})

func (r refusingJobs) FinishJobs(ctx context.Context, batch []models.JobFinish) (int, []string, error) {
	for _, f := range batch {
		if strings.Contains(f.Result, "poison") {
			return 0, nil, errRefused
		}
	}
	return r.JobStore.FinishJobs(ctx, batch)
}

// Retrying for ever is for outages. A batch the database refuses for what it holds is split
// until the outcome it refuses is found; that one is written without its result, and every
// other outcome of the batch is written whole.
func TestARefusedOutcomeDoesNotHoldTheOthers(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	logs := &syncBuffer{}
	cfg := fast()
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	cfg.Queues = []jobs.QueueConfig{{Name: jobs.DefaultQueue, Workers: 8}}
	cfg.FinishDelay = 50 * time.Millisecond // outcomes share batches
	refusing := *s
	refusing.Jobs = refusingJobs{s.Jobs}
	e, err := jobs.New(&refusing, cfg)
	require.NoError(t, err)
	type args struct{ Value string }
	_, err = jobs.Register(e, "echo", func(ctx context.Context, j *jobs.Job[args]) error {
		return jobs.SetResult(ctx, j.Args)
	})
	require.NoError(t, err)
	batch := make([]jobs.EnqueueParams, 40)
	for i := range batch {
		batch[i] = jobs.EnqueueParams{Kind: "echo", Args: args{Value: strconv.Itoa(i)}}
	}
	batch[17].Args = args{Value: "poison"}
	made, err := e.EnqueueMany(ctx, batch)
	require.NoError(t, err)
	start(t, e)
	for i, j := range made {
		done := waitState(t, s, j.ID, models.JobSucceeded)
		if i == 17 {
			require.Empty(t, done.Result, "written without the result it was refused for")
			continue
		}
		require.JSONEq(t, `{"Value":"`+strconv.Itoa(i)+`"}`, done.Result)
	}
	require.Contains(t, logs.String(), "the database refused a job's result or error; its outcome was written without them")
	require.Zero(t, e.Outcomes().Waiting)
}

// A claim whose answer never reached its server (the connection broke as it was written)
// leaves a job running on a live server that doesn't run it. Nobody else may take it: the
// server is heard from. The server itself puts it back once the claim is a lease old.
func TestALostClaimIsTakenBack(t *testing.T) {
	cfg := fast()
	cfg.Lease, cfg.ServerHeartbeat = 300*time.Millisecond, 50*time.Millisecond
	forEachDialect(t, cfg, func(t *testing.T, e *jobs.Engine, s *models.Store) {
		start(t, e)
		job, err := e.Enqueue(ctx, "lost", nil, jobs.Queue("elsewhere")) // a queue this server doesn't work
		require.NoError(t, err)
		claimed, err := s.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "elsewhere", ServerID: e.ServerID(), Limit: 1, Lease: cfg.Lease, Now: time.Now()})
		require.NoError(t, err)
		require.Len(t, claimed, 1)
		back := waitState(t, s, job.ID, models.JobEnqueued)
		require.Contains(t, back.LastError, "claimed the job but never got it")
		require.Zero(t, back.Attempt, "the lost claim used no attempt")
	})
}
