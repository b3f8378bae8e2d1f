package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/kilnhq/kiln/api"
	"github.com/kilnhq/kiln/internal/secrets"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// A traceparent on the API call that enqueues a job is the parent of the enqueue's span, whose
// context the job's attempt continues: the caller's trace reaches the job, on both dialects.
func TestAPITraceparentReachesTheAttempt(t *testing.T) {
	for _, d := range modeltest.Dialects {
		t.Run(d.Name, func(t *testing.T) {
			store := modeltest.Open(t, d.DSN(t))
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
			t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			cfg := jobs.Config{TracerProvider: tp, FinishDelay: 1, SoftStop: 1}
			engine, err := jobs.New(store, cfg)
			require.NoError(t, err)
			worked := make(chan trace.SpanContext, 1)
			require.NoError(t, engine.Register("traced", func(ctx context.Context, _ *models.Job) error {
				worked <- trace.SpanContextFromContext(ctx)
				return nil
			}))
			require.NoError(t, engine.Start(context.Background()))
			t.Cleanup(func() { require.NoError(t, engine.Stop(context.Background())) })
			vault, err := secrets.Open(context.Background(), store, "")
			require.NoError(t, err)
			srv, err := web.New(web.Config{LocalNoAuth: true, Secrets: vault}, store, engine, nil)
			require.NoError(t, err)
			ts := httptest.NewServer(srv.Handler())
			t.Cleanup(ts.Close)

			const callerTrace, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
			req, err := http.NewRequest("POST", ts.URL+"/api/v1/jobs", bytes.NewReader([]byte(`{"kind":"traced"}`)))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("traceparent", "00-"+callerTrace+"-"+callerSpan+"-01")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			var made api.Job
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&made))
			require.NoError(t, resp.Body.Close())
			require.Equal(t, http.StatusCreated, resp.StatusCode)

			inJob := <-worked
			require.Equal(t, callerTrace, inJob.TraceID().String(), "the attempt is in the caller's trace")
			var enqueue, work tracetest.SpanStub
			require.Eventually(t, func() bool { // the attempt's span ends once the job returned
				for _, sp := range exp.GetSpans() {
					switch sp.Name {
					case "enqueue default":
						enqueue = sp
					case "work default":
						work = sp
					}
				}
				return work.SpanContext.IsValid()
			}, 10*time.Second, 5*time.Millisecond)
			require.Equal(t, callerSpan, enqueue.Parent.SpanID().String(), "the API call's span is the enqueue's parent")
			require.Equal(t, enqueue.SpanContext.SpanID(), work.Parent.SpanID(), "the enqueue is the attempt's parent")
			require.Len(t, work.Links, 1)
			require.Equal(t, enqueue.SpanContext.SpanID(), work.Links[0].SpanContext.SpanID(), "and its link")

			// The job's trace is on its API answer and its page, to find it in the tracing backend.
			stored := "00-" + callerTrace + "-" + enqueue.SpanContext.SpanID().String() + "-01"
			got, err := http.Get(ts.URL + "/api/v1/jobs/" + strconv.FormatInt(made.ID, 10))
			require.NoError(t, err)
			var read api.Job
			require.NoError(t, json.NewDecoder(got.Body).Decode(&read))
			require.NoError(t, got.Body.Close())
			require.Equal(t, stored, read.TraceParent)
			page, err := http.Get(ts.URL + "/dashboard/jobs/" + strconv.FormatInt(made.ID, 10))
			require.NoError(t, err)
			body, err := io.ReadAll(page.Body)
			require.NoError(t, err)
			require.NoError(t, page.Body.Close())
			require.Contains(t, string(body), `data-testid="job-trace"><code title="traceparent: `+stored+`">`+callerTrace+`</code>`)
		})
	}
}
