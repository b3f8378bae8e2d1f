package builtin_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// BenchmarkHTTPRequestBurnDown measures http.request jobs end to end: 50 workers on SQLite
// each POST a JSON body with a secret header to a local server and keep the response. Compare
// with the engine's BenchmarkBurnDown (jobs) for what the request, the secret and the result
// cost.
func BenchmarkHTTPRequestBurnDown(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()
	s := modeltest.Open(b, modeltest.SQLiteDSN(b))
	e, err := jobs.New(s, jobs.Config{Queues: []jobs.QueueConfig{{Name: "default", Workers: 50}}})
	if err != nil {
		b.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	if err := builtin.Register(e, s.Jobs, builtin.Config{Secrets: mapSecrets{"api": apiKey}, HTTPClient: &http.Client{Transport: tr}}); err != nil {
		b.Fatal(err)
	}
	args := map[string]any{"method": "POST", "url": srv.URL + "/hook", "headers": map[string]string{"Authorization": "Bearer ${secret:api}"},
		"body": map[string]int{"n": 1}}
	n := max(b.N, 1000)
	batch := make([]jobs.EnqueueParams, 0, 1000)
	for i := range n {
		batch = append(batch, jobs.EnqueueParams{Kind: builtin.KindHTTPRequest, Args: args})
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := e.EnqueueMany(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	b.ResetTimer()
	if err := e.Start(ctx); err != nil {
		b.Fatal(err)
	}
	for {
		counts, err := s.JobQueries.CountJobsByState(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if counts[models.JobSucceeded] == int64(n) {
			break
		}
		if counts[models.JobFailed] > 0 || counts[models.JobScheduled] > 0 {
			b.Fatalf("jobs failed: %v", counts)
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "jobs/s")
	if err := e.Stop(ctx); err != nil {
		b.Fatal(err)
	}
}
