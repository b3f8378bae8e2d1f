package cli

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// Which OTEL_* variables turn tracing on, and which are refused with a message.
func TestTracerProviderFromEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		on   bool
		err  string
	}{
		{name: "unset"},
		{name: "endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, on: true},
		{name: "traces endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, on: true},
		{name: "exporter otlp", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, on: true},
		{name: "service name alone", env: map[string]string{"OTEL_SERVICE_NAME": "billing"}},
		{name: "sdk disabled", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}},
		{name: "exporter none", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"}},
		{name: "other exporter", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, err: "otlp only"},
		{name: "http/protobuf", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, on: true},
		{name: "grpc", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, on: true},
		{name: "traces protocol wins", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317",
			"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"}, on: true},
		{name: "http/json", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
			err: "OTEL_EXPORTER_OTLP_PROTOCOL=http/json: Kiln exports traces over http/protobuf or grpc"},
		{name: "other traces protocol", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
			"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "udp"},
			err: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=udp: Kiln exports traces over http/protobuf or grpc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := newTracerProvider(context.Background(), func(k string) string { return tc.env[k] })
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.on, tp != nil)
			if tp != nil {
				require.NoError(t, tp.Shutdown(context.Background()))
			}
		})
	}
}

// receivedSpans is what a test's OTLP receiver was sent: the spans' names and the services
// (service.name) that sent them. Its receivers, HTTP or gRPC, call it concurrently.
type receivedSpans struct {
	mu       sync.Mutex
	spans    []string
	services []string
}

// add records one export request.
func (r *receivedSpans) add(req *coltrace.ExportTraceServiceRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, a := range rs.Resource.GetAttributes() {
			if a.Key == "service.name" {
				r.services = append(r.services, a.Value.GetStringValue())
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				r.spans = append(r.spans, s.Name)
			}
		}
	}
}

// got is what was received so far.
func (r *receivedSpans) got() (spans, services []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.spans...), append([]string(nil), r.services...)
}

// kiln with OTEL_EXPORTER_OTLP_ENDPOINT sends its spans to that OTLP/HTTP receiver, as service
// kiln, and flushes them when it stops.
func TestServeExportsSpans(t *testing.T) {
	var received receivedSpans
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || r.URL.Path != "/v1/traces" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		var req coltrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		received.add(&req)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer receiver.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.URL)
	t.Setenv("OTEL_SERVICE_NAME", "")

	cfg, err := parseConfig([]string{"--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "kiln.db")}, io.Discard)
	require.NoError(t, err)
	m := NewMain(cfg, io.Discard)
	done := make(chan struct{})
	m.Setup = func(e *jobs.Engine) error {
		return e.Register("traced", func(context.Context, *models.Job) error { close(done); return nil })
	}
	require.NoError(t, m.Run(context.Background()))
	_, err = m.Engine.Enqueue(context.Background(), "traced", nil)
	require.NoError(t, err)
	<-done
	require.NoError(t, m.Close())

	spans, services := received.got()
	require.Contains(t, spans, "enqueue default")
	require.Contains(t, spans, "work default")
	require.Contains(t, services, "kiln")
}

// grpcCollector is an OTLP trace collector over gRPC, as a real collector's port 4317 serves.
type grpcCollector struct {
	coltrace.UnimplementedTraceServiceServer
	received *receivedSpans
}

// Export records the request's spans.
func (c grpcCollector) Export(_ context.Context, req *coltrace.ExportTraceServiceRequest) (*coltrace.ExportTraceServiceResponse, error) {
	c.received.add(req)
	return &coltrace.ExportTraceServiceResponse{}, nil
}

// OTEL_EXPORTER_OTLP_PROTOCOL=grpc sends the spans to an OTLP/gRPC collector, as service kiln,
// and the provider's shutdown flushes them.
func TestTracerProviderExportsOverGRPC(t *testing.T) {
	var received receivedSpans
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	server := grpc.NewServer()
	coltrace.RegisterTraceServiceServer(server, grpcCollector{received: &received})
	served := make(chan error, 1)
	go func() { served <- server.Serve(lis) }()
	defer func() {
		server.Stop()
		// ErrServerStopped: stopped before Serve began, when the test failed early.
		if err := <-served; !errors.Is(err, grpc.ErrServerStopped) {
			require.NoError(t, err)
		}
	}()
	// The exporter reads the endpoint itself, from the process's environment; http:// makes the
	// connection plaintext, as OTEL_EXPORTER_OTLP_INSECURE=true would.
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+lis.Addr().String())
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	t.Setenv("OTEL_SERVICE_NAME", "")

	tp, err := newTracerProvider(context.Background(), os.Getenv)
	require.NoError(t, err)
	require.NotNil(t, tp)
	_, span := tp.Tracer("test").Start(context.Background(), "over grpc")
	span.End()
	require.NoError(t, tp.Shutdown(context.Background()))

	spans, services := received.got()
	require.Equal(t, []string{"over grpc"}, spans)
	require.Equal(t, []string{"kiln"}, services)
}
