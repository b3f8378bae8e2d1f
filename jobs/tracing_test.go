package jobs_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// newTracing is a tracer provider that keeps every span it ends, in memory.
func newTracing(t *testing.T) (*sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, exp
}

// spanNamed is the one ended span named name.
func spanNamed(t *testing.T, spans tracetest.SpanStubs, name string) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, s := range spans {
		if s.Name == name {
			found = append(found, s)
		}
	}
	require.Len(t, found, 1, "spans named %q", name)
	return found[0]
}

func attrOf(s tracetest.SpanStub, key string) attribute.Value {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

func linksTo(s tracetest.SpanStub, sc trace.SpanContext) bool {
	for _, l := range s.Links {
		if l.SpanContext.TraceID() == sc.TraceID() && l.SpanContext.SpanID() == sc.SpanID() {
			return true
		}
	}
	return false
}

// waitSpan waits until a span named name has ended, and returns every span ended by then.
func waitSpan(t *testing.T, exp *tracetest.InMemoryExporter, name string) tracetest.SpanStubs {
	t.Helper()
	var spans tracetest.SpanStubs
	require.Eventually(t, func() bool {
		spans = exp.GetSpans()
		for _, s := range spans {
			if s.Name == name {
				return true
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond, "no span named %q", name)
	return spans
}

// The context of the span that enqueued a job is stored with it: a second engine, started after
// the first stopped, runs the job in an attempt whose parent (and link) is that span.
func TestTraceFromEnqueueToAttemptAcrossRestart(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, _ *jobs.Engine, s *models.Store) {
		tp, exp := newTracing(t)
		cfg := fast()
		cfg.TracerProvider, cfg.Queues = tp, []jobs.QueueConfig{{Name: "elsewhere", Workers: 1}}
		first := newEngine(t, s, jobs.Config{NoWorkers: true, TracerProvider: tp, ServerID: "first"})
		require.NoError(t, first.Start(ctx))
		reqCtx, request := tp.Tracer("test").Start(ctx, "request")
		job, err := first.Enqueue(reqCtx, "traced", map[string]int{"n": 1}, jobs.Queue("elsewhere"))
		require.NoError(t, err)
		request.End()
		require.NoError(t, first.Stop(ctx))

		stored, err := s.JobQueries.GetJob(ctx, job.ID)
		require.NoError(t, err)
		require.NotNil(t, stored.TraceParent, "the enqueue's trace context is stored with the job")

		worked := make(chan trace.SpanContext, 1)
		second := newEngine(t, s, cfg)
		require.NoError(t, second.Register("traced", func(ctx context.Context, _ *models.Job) error {
			worked <- trace.SpanContextFromContext(ctx)
			return nil
		}))
		start(t, second)
		inJob := <-worked
		waitState(t, s, job.ID, models.JobSucceeded)
		spans := waitSpan(t, exp, "finish")
		enqueue := spanNamed(t, spans, "enqueue elsewhere")
		require.Equal(t, request.SpanContext().SpanID(), enqueue.Parent.SpanID(), "the enqueue is part of the caller's trace")
		require.Equal(t, trace.SpanKindProducer, enqueue.SpanKind)
		require.Equal(t, "kiln", attrOf(enqueue, "messaging.system").AsString())
		require.Equal(t, "send", attrOf(enqueue, "messaging.operation.type").AsString())

		work := spanNamed(t, spans, "work elsewhere")
		require.Equal(t, enqueue.SpanContext.TraceID(), work.SpanContext.TraceID(), "one trace from the request to the job")
		require.Equal(t, enqueue.SpanContext.SpanID(), work.Parent.SpanID(), "the attempt's parent is the enqueue")
		require.True(t, work.Parent.IsRemote())
		require.True(t, linksTo(work, enqueue.SpanContext), "the attempt links to the enqueue")
		require.Equal(t, trace.SpanKindConsumer, work.SpanKind)
		require.Equal(t, "process", attrOf(work, "messaging.operation.type").AsString())
		require.Equal(t, "elsewhere", attrOf(work, "messaging.destination.name").AsString())
		require.Equal(t, strconv.FormatInt(job.ID, 10), attrOf(work, "messaging.message.id").AsString())
		require.Equal(t, "traced", attrOf(work, "kiln.job.kind").AsString())
		require.EqualValues(t, 1, attrOf(work, "kiln.job.attempt").AsInt64())
		require.Equal(t, "succeeded", attrOf(work, "kiln.job.outcome").AsString())
		require.Equal(t, work.SpanContext.SpanID(), inJob.SpanID(), "the job's context carries its attempt's span")

		claim := spanNamed(t, spans, "claim elsewhere")
		require.True(t, linksTo(claim, enqueue.SpanContext), "the claim links to the enqueue of each job it took")
		require.EqualValues(t, 1, attrOf(claim, "messaging.batch.message_count").AsInt64())
		finish := spanNamed(t, spans, "finish")
		require.True(t, linksTo(finish, work.SpanContext), "the finish links to the attempts it settled")
		require.Equal(t, "settle", attrOf(finish, "messaging.operation.type").AsString())
	})
}

// A failed attempt's span says so, and a retry is a second attempt under the same enqueue.
func TestTraceRetriedAttempts(t *testing.T) {
	tp, exp := newTracing(t)
	cfg := fast()
	cfg.TracerProvider = tp
	forEachDialect(t, cfg, func(t *testing.T, e *jobs.Engine, s *models.Store) {
		exp.Reset()
		require.NoError(t, e.Register("flaky", func(ctx context.Context, j *models.Job) error {
			if j.Attempt == 1 {
				return errors.New("boom")
			}
			return nil
		}, jobs.WithBackoff(jobs.ConstantBackoff(0))))
		start(t, e)
		job, err := e.Enqueue(ctx, "flaky", nil) // handed to a free worker, in the insert's claim
		require.NoError(t, err)
		done := waitState(t, s, job.ID, models.JobSucceeded)
		require.NotNil(t, done.TraceParent, "a job handed straight to a worker keeps its trace context too")
		var outcomes []string
		var parents []trace.SpanID
		for _, sp := range exp.GetSpans() {
			if sp.Name == "work default" {
				outcomes = append(outcomes, attrOf(sp, "kiln.job.outcome").AsString())
				parents = append(parents, sp.Parent.SpanID())
			}
		}
		require.Equal(t, []string{"retried", "succeeded"}, outcomes)
		require.Equal(t, parents[0], parents[1], "both attempts continue the one enqueue")
		require.Equal(t, spanNamed(t, exp.GetSpans(), "enqueue default").SpanContext.SpanID(), parents[0])
	})
}

// With no tracer provider set anywhere, nothing is traced: no trace context is stored, and a job
// runs outside any trace even when the code that enqueued it had one.
func TestTracingOff(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		tp, exp := newTracing(t) // the caller's own, not given to the engine
		worked := make(chan trace.SpanContext, 1)
		require.NoError(t, e.Register("untraced", func(ctx context.Context, _ *models.Job) error {
			worked <- trace.SpanContextFromContext(ctx)
			return nil
		}))
		start(t, e)
		reqCtx, request := tp.Tracer("test").Start(ctx, "request")
		job, err := e.Enqueue(reqCtx, "untraced", nil)
		require.NoError(t, err)
		request.End()
		require.False(t, (<-worked).IsValid(), "the attempt is in no trace")
		done := waitState(t, s, job.ID, models.JobSucceeded)
		require.Nil(t, done.TraceParent, "no trace context is stored")
		require.Len(t, exp.GetSpans(), 1, "only the caller's own span")
	})
}

// A batch is one enqueue span, whose context every job of the batch keeps; a batch for several
// queues names no queue.
func TestTraceBatchEnqueue(t *testing.T) {
	tp, exp := newTracing(t)
	cfg := fast()
	cfg.TracerProvider, cfg.NoWorkers = tp, true
	forEachDialect(t, cfg, func(t *testing.T, e *jobs.Engine, s *models.Store) {
		exp.Reset()
		batch, err := e.EnqueueMany(ctx, []jobs.EnqueueParams{
			{Kind: "a", Opts: []jobs.Option{jobs.Queue("one")}},
			{Kind: "b", Opts: []jobs.Option{jobs.Queue("two")}},
		})
		require.NoError(t, err)
		enqueue := spanNamed(t, exp.GetSpans(), "enqueue")
		require.EqualValues(t, 2, attrOf(enqueue, "messaging.batch.message_count").AsInt64())
		require.Equal(t, attribute.INVALID, attrOf(enqueue, "messaging.destination.name").Type(), "no one queue")
		want := "00-" + enqueue.SpanContext.TraceID().String() + "-" + enqueue.SpanContext.SpanID().String() + "-01"
		for _, j := range batch {
			stored, err := s.JobQueries.GetJob(ctx, j.ID)
			require.NoError(t, err)
			require.NotNil(t, stored.TraceParent)
			require.Equal(t, want, *stored.TraceParent)
		}
	})
}
