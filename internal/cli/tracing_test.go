package cli

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
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
		{name: "grpc", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, err: "http/protobuf only"},
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

// kiln with OTEL_EXPORTER_OTLP_ENDPOINT sends its spans to that OTLP/HTTP receiver, as service
// kiln, and flushes them when it stops.
func TestServeExportsSpans(t *testing.T) {
	var (
		mu       sync.Mutex
		spans    []string
		services []string
	)
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
		mu.Lock()
		defer mu.Unlock()
		for _, rs := range req.ResourceSpans {
			for _, a := range rs.Resource.GetAttributes() {
				if a.Key == "service.name" {
					services = append(services, a.Value.GetStringValue())
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					spans = append(spans, s.Name)
				}
			}
		}
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

	mu.Lock()
	defer mu.Unlock()
	require.Contains(t, spans, "enqueue default")
	require.Contains(t, spans, "work default")
	require.Contains(t, services, "kiln")
}
