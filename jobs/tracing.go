package jobs

// Tracing with OpenTelemetry: one trace from the code (or API request) that enqueued a job to
// each attempt that ran it, on whichever node and after whatever restart.
//
// Spans follow the OpenTelemetry semantic conventions for messaging (semconv 1.26 and later:
// messaging.system, messaging.operation.type and .name, messaging.destination.name for the
// queue, messaging.message.id for the job id, messaging.batch.message_count), Kiln being the
// messaging system; what the conventions have no name for is under kiln.job.*:
//   - enqueue {queue}  PRODUCER, operation type "send": one per Enqueue call, its context
//     stored with each job it stored (jobs.trace_parent, W3C traceparent), as otelriver stores
//     one insert's context in each job's metadata.
//   - claim {queue}    CLIENT, "receive": a claim that took jobs, linked to each one's enqueue.
//   - work {queue}     CONSUMER, "process": one attempt, with kind, attempt and outcome. Its
//     parent is the enqueue span, so that the request and its job are one trace (what people
//     ask for, and what otelriver does); the conventions say a process span SHOULD link to the
//     message's creation context and MAY take it as parent, so it carries the link too, which
//     tools that split long-lived work into traces of their own still follow.
//   - finish           CLIENT, "settle": one write of a batch of outcomes, linked to the
//     attempts it settled (up to the SDK's link limit, 128 by default).
//
// Tracing is off unless Config.TracerProvider is set or the program set the global provider
// before New: then tracer is nil, and each place below costs a nil check; no span, no
// allocation, and nothing more is written or read (the claim and the batch insert never touch
// trace_parent: it is written after the insert, and read after the claim, by a tracing engine).

import (
	"context"
	"slices"
	"strconv"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/kilnhq/kiln/models"
)

// tracerName names the engine's instrumentation scope.
const tracerName = "github.com/kilnhq/kiln/jobs"

// Attribute keys: the messaging conventions', then Kiln's own.
const (
	attrSystem        = attribute.Key("messaging.system")
	attrOperationType = attribute.Key("messaging.operation.type")
	attrOperationName = attribute.Key("messaging.operation.name")
	attrDestination   = attribute.Key("messaging.destination.name")
	attrMessageID     = attribute.Key("messaging.message.id")
	attrBatchCount    = attribute.Key("messaging.batch.message_count")
	attrKind          = attribute.Key("kiln.job.kind")
	attrAttempt       = attribute.Key("kiln.job.attempt")
	attrOutcome       = attribute.Key("kiln.job.outcome")
	attrServer        = attribute.Key("kiln.server.id")
)

var systemKiln = attrSystem.String("kiln")

// unsetGlobal is the global tracer provider as OpenTelemetry starts: a placeholder that makes
// only non-recording spans until a program sets a real one. An engine that finds it still in
// place traces nothing, at no cost.
var unsetGlobal = otel.GetTracerProvider()

// traceContext is the W3C trace context, the one format of jobs.trace_parent.
var traceContext = propagation.TraceContext{}

// newTracer is the engine's tracer from tp (nil: the global provider), or nil when tracing is off.
func newTracer(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		if tp = otel.GetTracerProvider(); tp == unsetGlobal {
			return nil
		}
	}
	if _, ok := tp.(noop.TracerProvider); ok {
		return nil
	}
	return tp.Tracer(tracerName)
}

// traceEnqueue starts the producer span of an enqueue of jobs and stores its context in each
// one's TraceParent. It returns nil when tracing is off.
func (e *Engine) traceEnqueue(ctx context.Context, jobs []*models.Job) trace.Span {
	if e.tracer == nil || len(jobs) == 0 {
		return nil
	}
	attrs := []attribute.KeyValue{systemKiln, attrOperationType.String("send"), attrOperationName.String("enqueue")}
	if len(jobs) == 1 {
		attrs = append(attrs, attrKind.String(jobs[0].Kind))
	} else {
		attrs = append(attrs, attrBatchCount.Int(len(jobs)))
	}
	name := "enqueue"
	if queue := jobs[0].Queue; !slices.ContainsFunc(jobs, func(j *models.Job) bool { return j.Queue != queue }) {
		// A batch for several queues has no one destination, and its span names none.
		name += " " + queue
		attrs = append(attrs, attrDestination.String(queue))
	}
	ctx, span := e.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
	carrier := propagation.MapCarrier{}
	traceContext.Inject(ctx, carrier)
	if tp, ok := carrier["traceparent"]; ok {
		for _, j := range jobs {
			j.TraceParent = &tp
		}
	}
	return span
}

// endEnqueue ends an enqueue's span (nil: tracing off) with the jobs' ids or the error.
func endEnqueue(span trace.Span, jobs []*models.Job, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	} else if len(jobs) == 1 {
		span.SetAttributes(attrMessageID.String(strconv.FormatInt(jobs[0].ID, 10)))
	}
	span.End()
}

// parentOf is the span context stored with job at its enqueue, if any.
func parentOf(job *models.Job) trace.SpanContext {
	if job.TraceParent == nil {
		return trace.SpanContext{}
	}
	ctx := traceContext.Extract(context.Background(), propagation.MapCarrier{"traceparent": *job.TraceParent})
	return trace.SpanContextFromContext(ctx)
}

// traceClaim reads the trace parents of jobs just claimed, which the claim leaves out, and
// records the claim's span, begun at start. It does nothing when tracing is off.
func (e *Engine) traceClaim(ctx context.Context, queue string, start trace.SpanStartOption, jobs []*models.Job) {
	if e.tracer == nil || len(jobs) == 0 {
		return
	}
	ids := make([]int64, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	parents, err := e.store.Jobs.TraceParents(ctx, ids)
	if err != nil { // the jobs run all the same, in traces of their own
		e.log.Warn("jobs: read trace parents", "queue", queue, "err", err)
	}
	links := make([]trace.Link, 0, len(parents))
	for _, j := range jobs {
		if tp, ok := parents[j.ID]; ok {
			j.TraceParent = &tp
			if sc := parentOf(j); sc.IsValid() {
				links = append(links, trace.Link{SpanContext: sc})
			}
		}
	}
	_, span := e.tracer.Start(ctx, "claim "+queue, start, trace.WithSpanKind(trace.SpanKindClient), trace.WithLinks(links...),
		trace.WithAttributes(systemKiln, attrOperationType.String("receive"), attrOperationName.String("claim"),
			attrDestination.String(queue), attrBatchCount.Int(len(jobs)), attrServer.String(e.cfg.ServerID)))
	span.End()
}

// startAttempt starts the span of one attempt of job, a child of its enqueue's span and linked
// to it, and puts it in ctx, where code that calls other services finds it (http.request sends
// it on as traceparent). It returns nil when tracing is off.
func (e *Engine) startAttempt(ctx context.Context, job *models.Job) (context.Context, trace.Span) {
	if e.tracer == nil {
		return ctx, nil
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(systemKiln,
		attrOperationType.String("process"), attrOperationName.String("work"), attrDestination.String(job.Queue),
		attrMessageID.String(strconv.FormatInt(job.ID, 10)), attrKind.String(job.Kind), attrAttempt.Int(job.Attempt),
		attrServer.String(e.cfg.ServerID))}
	if sc := parentOf(job); sc.IsValid() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, sc)
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
	}
	return e.tracer.Start(ctx, "work "+job.Queue, opts...)
}

// endAttempt ends an attempt's span (nil: tracing off) with its outcome, and keeps its context
// for the span of the write that settles it. ok false: the job was no longer this server's.
func (e *Engine) endAttempt(span trace.Span, f models.JobFinish, ok bool, err error) {
	if span == nil {
		return
	}
	outcome := "not running here"
	if ok {
		outcome = outcomeName(f)
		e.settling.Store(f.JobID, span.SpanContext())
	}
	span.SetAttributes(attrOutcome.String(outcome))
	if err != nil {
		span.RecordError(err)
	}
	if ok && (f.State == models.JobFailed || f.State == models.JobScheduled && !f.RefundAttempt) {
		span.SetStatus(codes.Error, f.Error)
	}
	span.End()
}

// traceFinish starts the span of one write of a batch of outcomes, linked to their attempts.
// It returns nil when tracing is off.
func (e *Engine) traceFinish(batch []models.JobFinish) trace.Span {
	if e.tracer == nil {
		return nil
	}
	links := make([]trace.Link, 0, len(batch))
	for _, f := range batch {
		if sc, ok := e.settling.LoadAndDelete(f.JobID); ok {
			links = append(links, trace.Link{SpanContext: sc.(trace.SpanContext)})
		}
	}
	_, span := e.tracer.Start(context.Background(), "finish", trace.WithSpanKind(trace.SpanKindClient), trace.WithLinks(links...),
		trace.WithAttributes(systemKiln, attrOperationType.String("settle"), attrOperationName.String("finish"),
			attrBatchCount.Int(len(batch)), attrServer.String(e.cfg.ServerID)))
	return span
}

// endFinish ends a finish's span (nil: tracing off) with the write's error, if any.
func endFinish(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
