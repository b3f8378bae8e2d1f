package cli

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// defaultServiceName is service.name when neither OTEL_SERVICE_NAME nor
// OTEL_RESOURCE_ATTRIBUTES names the service.
const defaultServiceName = "kiln"

// tracingEnv lists the variables that turn tracing on, for messages.
const tracingEnv = "OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_TRACES_EXPORTER=otlp"

// newTracerProvider builds the tracer provider the standard OTEL_* variables ask for (read with
// getenv), exporting OTLP over HTTP or gRPC in batches, or returns nil when they ask for none. Tracing
// is on when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, or
// OTEL_TRACES_EXPORTER is otlp; OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn it
// off whatever else is set. Off, Kiln makes no span at all (jobs/tracing.go). The exporter, the
// batcher and the sampler read the rest of their variables themselves (OTEL_EXPORTER_OTLP_HEADERS,
// OTEL_TRACES_SAMPLER, OTEL_BSP_*, ...).
func newTracerProvider(ctx context.Context, getenv func(string) string) (*sdktrace.TracerProvider, error) {
	exporter := strings.TrimSpace(strings.ToLower(getenv("OTEL_TRACES_EXPORTER")))
	switch {
	case strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true"), exporter == "none":
		return nil, nil
	case exporter != "" && exporter != "otlp":
		return nil, fmt.Errorf("OTEL_TRACES_EXPORTER=%s: Kiln exports traces with otlp only (or none)", exporter)
	case exporter == "" && getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "":
		return nil, nil
	}
	exp, err := newOTLPExporter(ctx, getenv)
	if err != nil {
		return nil, err
	}
	// Later options win: the environment's service name over Kiln's default.
	res, err := resource.New(ctx, resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", defaultServiceName), attribute.String("service.version", Version)),
		resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}

// newOTLPExporter is the OTLP exporter for the protocol OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, or
// else OTEL_EXPORTER_OTLP_PROTOCOL, names: http/protobuf (the default, as the specification
// says) or grpc. http/json is refused: neither Go exporter speaks it. Each exporter reads its
// endpoint, headers, certificates, timeout and compression from the environment itself, with
// the default port of its protocol (4318, 4317).
func newOTLPExporter(ctx context.Context, getenv func(string) string) (sdktrace.SpanExporter, error) {
	name := "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	protocol := getenv(name)
	if protocol == "" {
		name = "OTEL_EXPORTER_OTLP_PROTOCOL"
		protocol = getenv(name)
	}
	var (
		exp sdktrace.SpanExporter
		err error
	)
	chosen := strings.TrimSpace(strings.ToLower(protocol))
	if chosen == "" {
		chosen = "http/protobuf"
	}
	switch chosen {
	case "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("%s=%s: Kiln exports traces over http/protobuf or grpc", name, protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter (%s): %w", chosen, err)
	}
	return exp, nil
}
