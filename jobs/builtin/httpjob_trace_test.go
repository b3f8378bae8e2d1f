package builtin_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// An http.request job of a tracing engine sends its attempt's span as the request's traceparent,
// unless the job sets one itself; an engine that does not trace sends none.
func TestHTTPRequestSendsTraceparent(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		got := make(chan string, 3)
		rec := newRecorder(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			got <- r.Header.Get("Traceparent")
			w.WriteHeader(http.StatusNoContent)
		})
		exp := tracetest.NewInMemoryExporter()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
		t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		cfg := fast()
		cfg.TracerProvider = tp
		e := newEngine(t, s, cfg)
		require.NoError(t, builtin.Register(e, s.Jobs, builtin.Config{}))
		start(t, e)

		job := runOnce(t, e, s, map[string]any{"url": rec.srv.URL})
		require.Equal(t, models.JobSucceeded, job.State)
		sent := <-got
		var work tracetest.SpanStub
		for _, sp := range exp.GetSpans() {
			if sp.Name == "work default" {
				work = sp
			}
		}
		require.True(t, work.SpanContext.IsValid(), "the attempt has a span")
		require.Equal(t, "00-"+work.SpanContext.TraceID().String()+"-"+work.SpanContext.SpanID().String()+"-01", sent,
			"the request's parent is the attempt")

		own := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
		job = runOnce(t, e, s, map[string]any{"url": rec.srv.URL, "headers": map[string]string{"traceparent": own}})
		require.Equal(t, models.JobSucceeded, job.State)
		require.Equal(t, own, <-got, "the job's own traceparent is kept")

	})
}

// An engine that does not trace sends no traceparent.
func TestHTTPRequestWithoutTracing(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		got := make(chan string, 1)
		rec := newRecorder(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			got <- r.Header.Get("Traceparent")
			w.WriteHeader(http.StatusNoContent)
		})
		e := newEngine(t, s, fast())
		require.NoError(t, builtin.Register(e, s.Jobs, builtin.Config{}))
		start(t, e)
		job := runOnce(t, e, s, map[string]any{"url": rec.srv.URL})
		require.Equal(t, models.JobSucceeded, job.State)
		require.Empty(t, <-got)
	})
}
