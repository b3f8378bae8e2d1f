package jobs_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// A kind's uniqueness: by some argument fields and the hour, by queue, and over states: a
// cancelled job gives its key up to the next one.
func TestUniqueKinds(t *testing.T) {
	forEachDialect(t, jobs.Config{NoWorkers: true}, func(t *testing.T, e *jobs.Engine, s *models.Store) {
		noop := func(context.Context, *models.Job) error { return nil }
		require.NoError(t, e.Register("sync.user", noop, jobs.Unique(jobs.UniqueOpts{ArgsFields: []string{"user"}, ByPeriod: time.Hour})))
		require.NoError(t, e.Register("rebuild", noop, jobs.Unique(jobs.UniqueOpts{ByArgs: true, ByQueue: true})))
		enqueue := func(kind string, args any, opts ...jobs.Option) jobs.EnqueueResult {
			t.Helper()
			res, err := e.EnqueueResults(ctx, []jobs.EnqueueParams{{Kind: kind, Args: args, Opts: opts}})
			require.NoError(t, err)
			return res[0]
		}

		first := enqueue("sync.user", map[string]any{"user": 1, "reason": "signup"})
		require.False(t, first.Duplicate)
		again := enqueue("sync.user", map[string]any{"reason": "login", "user": 1})
		require.True(t, again.Duplicate, "the same user within the hour")
		require.Equal(t, first.Job.ID, again.Job.ID)
		other := enqueue("sync.user", map[string]any{"user": 2})
		require.False(t, other.Duplicate)
		later := enqueue("sync.user", map[string]any{"user": 1}, jobs.RunAt(time.Now().Add(2*time.Hour)))
		require.False(t, later.Duplicate, "another hour is another job")

		// Over states: a cancelled job gives its key up; the new job takes it.
		_, _, err := s.Jobs.CancelJob(ctx, first.Job.ID, "test")
		require.NoError(t, err)
		next := enqueue("sync.user", map[string]any{"user": 1})
		require.False(t, next.Duplicate, "a cancelled job holds no key")
		require.NotEqual(t, first.Job.ID, next.Job.ID)
		cancelled, err := s.JobQueries.GetJob(ctx, first.Job.ID)
		require.NoError(t, err)
		require.Nil(t, cancelled.UniqueKey, "the cancelled job gave its key up")
		require.True(t, enqueue("sync.user", map[string]any{"user": 1}).Duplicate, "the new job holds it now")

		// By arguments (key order does not matter) and queue.
		a := enqueue("rebuild", map[string]any{"a": 1, "b": []int{1, 2}})
		require.True(t, enqueue("rebuild", map[string]any{"b": []int{1, 2}, "a": 1}).Duplicate)
		require.False(t, enqueue("rebuild", map[string]any{"a": 1, "b": []int{2, 1}}).Duplicate, "other arguments")
		require.False(t, enqueue("rebuild", map[string]any{"a": 1, "b": []int{1, 2}}, jobs.Queue("low")).Duplicate, "another queue")
		// A job's own unique key wins over its kind's.
		own := enqueue("rebuild", map[string]any{"a": 1, "b": []int{1, 2}}, jobs.UniqueKey("mine"))
		require.False(t, own.Duplicate)
		require.NotEqual(t, a.Job.ID, own.Job.ID)

		require.ErrorIs(t, e.Register("bad", noop, jobs.Unique(jobs.UniqueOpts{ByPeriod: 500 * time.Millisecond})), jobs.ErrInvalidOption)
		require.ErrorIs(t, e.Register("bad", noop, jobs.Unique(jobs.UniqueOpts{States: []models.JobState{"gone"}})), jobs.ErrInvalidOption)
		_, err = e.Enqueue(ctx, "rebuild", nil, jobs.Unique(jobs.UniqueOpts{ByArgs: true}))
		require.ErrorIs(t, err, jobs.ErrInvalidOption, "uniqueness belongs to the kind")
	})
}

// peakTracker counts a kind's jobs running at once, the most seen, and those done.
type peakTracker struct{ running, peak, done atomic.Int64 }

// work is one job: counted running for d, then done.
func (p *peakTracker) work(d time.Duration) {
	n := p.running.Add(1)
	defer p.running.Add(-1)
	for {
		q := p.peak.Load()
		if n <= q || p.peak.CompareAndSwap(q, n) {
			break
		}
	}
	time.Sleep(d)
	p.done.Add(1)
}

// MaxRunning: however many workers are free, no more jobs of the kind run at once than its
// cap; other kinds of the queue go on meanwhile; every job runs.
func TestMaxRunning(t *testing.T) {
	cfg := fast()
	cfg.Queues = []jobs.QueueConfig{{Name: "default", Workers: 8}}
	forEachDialect(t, cfg, func(t *testing.T, e *jobs.Engine, s *models.Store) {
		var pt peakTracker
		require.NoError(t, e.Register("pdf.render", func(context.Context, *models.Job) error { pt.work(30 * time.Millisecond); return nil }, jobs.MaxRunning(2)))
		var mails atomic.Int64
		require.NoError(t, e.Register("mail.send", func(context.Context, *models.Job) error { mails.Add(1); return nil }))
		require.ErrorIs(t, e.Register("bad", func(context.Context, *models.Job) error { return nil }, jobs.MaxRunning(-1)), jobs.ErrInvalidOption)
		start(t, e)
		limits, err := s.Kinds.KindLimits(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, limits["pdf.render"].MaxRunning, "the cap is stored for every node")
		for range 12 {
			_, err := e.Enqueue(ctx, "pdf.render", nil)
			require.NoError(t, err)
		}
		for range 5 {
			_, err := e.Enqueue(ctx, "mail.send", nil)
			require.NoError(t, err)
		}
		require.Eventually(t, func() bool { return mails.Load() == 5 }, 10*time.Second, 10*time.Millisecond, "other kinds are not held up")
		require.Eventually(t, func() bool { return pt.done.Load() == 12 }, 20*time.Second, 10*time.Millisecond, "every capped job runs")
		require.LessOrEqual(t, pt.peak.Load(), int64(2), "never more than the cap at once")
		require.Equal(t, int64(2), pt.peak.Load(), "the cap is used")
	})
}

// A cap set while the engine runs (on the kind's page, through the API) holds like one from
// the code, and a job that finishes frees its slot at once: the next claim does not wait for a
// poll. With polls 10 s apart, six jobs one at a time would take a minute without that.
func TestCapSetAtRunTimeFreesSlotsAtOnce(t *testing.T) {
	cfg := fast()
	cfg.PollInterval = 10 * time.Second
	cfg.Queues = []jobs.QueueConfig{{Name: "default", Workers: 4}}
	forEachDialect(t, cfg, func(t *testing.T, e *jobs.Engine, s *models.Store) {
		var pt peakTracker
		require.NoError(t, e.Register("pdf.render", func(context.Context, *models.Job) error { pt.work(20 * time.Millisecond); return nil }))
		start(t, e)
		require.NoError(t, s.Kinds.SetKindLimits(ctx, "pdf.render", models.KindLimit{MaxRunning: 1}))
		var batch []jobs.EnqueueParams
		for range 6 {
			batch = append(batch, jobs.EnqueueParams{Kind: "pdf.render"})
		}
		_, err := e.EnqueueMany(ctx, batch)
		require.NoError(t, err)
		require.Eventually(t, func() bool { return pt.done.Load() == 6 }, 5*time.Second, 10*time.Millisecond, "each finish wakes the next claim")
		require.Equal(t, int64(1), pt.peak.Load(), "one at a time")
	})
}

// RateLimit: no more jobs of the kind start per window than it allows, across the engine's
// workers; the rest wait, counted as waiting.
func TestRateLimit(t *testing.T) {
	cfg := fast()
	cfg.Queues = []jobs.QueueConfig{{Name: "default", Workers: 8}}
	forEachDialect(t, cfg, func(t *testing.T, e *jobs.Engine, s *models.Store) {
		var ran atomic.Int64
		require.NoError(t, e.Register("sms.send", func(context.Context, *models.Job) error { ran.Add(1); return nil }, jobs.RateLimit(2, time.Hour)))
		require.ErrorIs(t, e.Register("bad", func(context.Context, *models.Job) error { return nil }, jobs.RateLimit(1, time.Millisecond)), jobs.ErrInvalidOption)
		start(t, e)
		for range 5 {
			_, err := e.Enqueue(ctx, "sms.send", nil)
			require.NoError(t, err)
		}
		require.Eventually(t, func() bool { return ran.Load() == 2 }, 10*time.Second, 10*time.Millisecond)
		time.Sleep(500 * time.Millisecond) // several polls later, still only the hour's two
		require.Equal(t, int64(2), ran.Load())
		n, err := s.JobQueries.CountJobs(ctx, models.JobFilter{Kind: "sms.send", State: models.JobEnqueued})
		require.NoError(t, err)
		require.EqualValues(t, 3, n)
	})
}

// With a free worker here, a duplicate of a unique kind is still reported as one.
func TestUniqueDuplicateWithAFreeWorker(t *testing.T) {
	cfg := fast()
	cfg.Queues = []jobs.QueueConfig{{Name: "default", Workers: 4}}
	forEachDialect(t, cfg, func(t *testing.T, e *jobs.Engine, s *models.Store) {
		release := make(chan struct{})
		require.NoError(t, e.Register("sync.user", func(ctx context.Context, _ *models.Job) error {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		}, jobs.Unique(jobs.UniqueOpts{ByArgs: true})))
		start(t, e)
		defer close(release)
		r1, err := e.EnqueueResults(ctx, []jobs.EnqueueParams{{Kind: "sync.user", Args: map[string]int{"user": 1}}})
		require.NoError(t, err)
		r2, err := e.EnqueueResults(ctx, []jobs.EnqueueParams{{Kind: "sync.user", Args: map[string]int{"user": 1}}})
		require.NoError(t, err)
		require.Equal(t, r1[0].Job.ID, r2[0].Job.ID)
		require.False(t, r1[0].Duplicate)
		require.True(t, r2[0].Duplicate)
	})
}

// Caps and rates follow the code: taken out of it, they go at the next start.
func TestCapsFollowTheCode(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	noop := func(context.Context, *models.Job) error { return nil }
	e1 := newEngine(t, s, jobs.Config{NoWorkers: true})
	require.NoError(t, e1.Register("pdf", noop, jobs.MaxRunning(2), jobs.RateLimit(5, time.Minute)))
	require.NoError(t, e1.Start(ctx))
	l, err := s.Kinds.KindLimits(ctx)
	require.NoError(t, err)
	require.Equal(t, [3]int{2, 5, 60}, [3]int{l["pdf"].MaxRunning, l["pdf"].RateN, int(l["pdf"].RatePerSeconds)})
	require.NoError(t, e1.Stop(ctx))
	e2 := newEngine(t, s, jobs.Config{NoWorkers: true})
	require.NoError(t, e2.Register("pdf", noop, jobs.MaxRunning(0)))
	start(t, e2)
	l, err = s.Kinds.KindLimits(ctx)
	require.NoError(t, err)
	require.Empty(t, l)
}

// Unique keys that begin like the engine's own are refused from any caller: a planted
// recurring:<name>:<time> would make a recurring job skip that occurrence. IdempotencyKey keys
// are scoped to their caller.
func TestReservedAndScopedKeys(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		for _, key := range jobs.ReservedKeyPrefixes {
			_, err := e.Enqueue(ctx, "k", nil, jobs.UniqueKey(key+"nightly:1767225600"))
			require.Equal(t, models.EINVALID, models.ErrorCode(err), key)
			require.Contains(t, models.FieldErrors(err)["unique_key"], "the engine's own")
		}
		a, err := e.Enqueue(ctx, "k", nil, jobs.IdempotencyKey("token:1", "order-17"))
		require.NoError(t, err)
		b, err := e.Enqueue(ctx, "k", nil, jobs.IdempotencyKey("token:2", "order-17"))
		require.NoError(t, err)
		require.NotEqual(t, a.ID, b.ID, "another caller's same key is another job")
		again, err := e.Enqueue(ctx, "k", nil, jobs.IdempotencyKey("token:1", "order-17"))
		require.NoError(t, err)
		require.Equal(t, a.ID, again.ID)
		require.Equal(t, "idempotency:token:1:order-17", *a.UniqueKey)
		_, err = e.Enqueue(ctx, "k", nil, jobs.IdempotencyKey("token:1", "x"), jobs.UniqueKey("y"))
		require.Equal(t, models.EINVALID, models.ErrorCode(err))
	})
}
