package jobs

import (
	"testing"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"
)

// Tracing is off, the tracer nil, while no provider is given and the global one is
// OpenTelemetry's placeholder, or when the provider given is a no-op; on with a real provider.
func TestNewTracerIsNilWhenOff(t *testing.T) {
	require.Nil(t, newTracer(nil), "no provider, and the global one never set")
	require.Nil(t, newTracer(noop.NewTracerProvider()))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewInMemoryExporter()))
	require.NotNil(t, newTracer(tp))
}
