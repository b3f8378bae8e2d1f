package web

import (
	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/propagation"
)

// traceContext puts the W3C trace context of a request's traceparent header (and tracestate) in
// the request's context, where the engine finds it when the request enqueues a job: the
// enqueue's span, and so each attempt's, continue the caller's trace (jobs/tracing.go). An
// engine that does not trace ignores it. Kiln makes no span of its own for the request: a
// program that wants them wraps Handler in otelhttp.
func traceContext(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Header.Get("Traceparent") != "" {
			c.SetRequest(r.WithContext(propagation.TraceContext{}.Extract(r.Context(), propagation.HeaderCarrier(r.Header))))
		}
		return next(c)
	}
}
