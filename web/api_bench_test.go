package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// BenchmarkAPIEnqueue measures POST /api/v1/jobs over HTTP with a token, on each dialect
// (PostgreSQL when KILN_TEST_POSTGRES_DSN is set): one job per POST from one client, from 32 at
// once (their enqueues share transactions), and 1,000 per POST to /api/v1/jobs/batch (ns/op is
// per POST). go test -run '^$' -bench APIEnqueue -benchmem ./web/
func BenchmarkAPIEnqueue(b *testing.B) {
	for _, d := range modeltest.Dialects {
		b.Run(d.Name, func(b *testing.B) {
			url, token := apiBenchServer(b, d.DSN(b))
			one, err := json.Marshal(map[string]any{"kind": "bench.api", "args": map[string]string{"to": "ada@example.com"}})
			if err != nil {
				b.Fatal(err)
			}
			jobs := make([]json.RawMessage, 1000)
			for i := range jobs {
				jobs[i] = one
			}
			batch, err := json.Marshal(map[string]any{"jobs": jobs})
			if err != nil {
				b.Fatal(err)
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			post := func(b *testing.B, path string, body []byte, want int) {
				req, err := http.NewRequest(http.MethodPost, url+path, bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != want {
					b.Fatalf("POST %s: %d, want %d", path, resp.StatusCode, want)
				}
			}
			b.Run("one", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					post(b, "/api/v1/jobs", one, http.StatusCreated)
				}
			})
			b.Run("one-32-clients", func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism(16) // 32 clients on this project's 2 cores
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						post(b, "/api/v1/jobs", one, http.StatusCreated)
					}
				})
			})
			b.Run("batch-1000", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					post(b, "/api/v1/jobs/batch", batch, http.StatusCreated)
				}
			})
		})
	}
}

// apiBenchServer serves the API over a store on dsn, with the kind bench.api known, and returns
// its URL and an admin token.
func apiBenchServer(b *testing.B, dsn string) (string, string) {
	b.Helper()
	store := modeltest.Open(b, dsn)
	engine, err := jobs.New(store, jobs.Config{NoWorkers: true})
	if err != nil {
		b.Fatal(err)
	}
	if err := engine.Register("bench.api", func(context.Context, *models.Job) error { return nil }); err != nil {
		b.Fatal(err)
	}
	srv, err := web.New(web.Config{}, store, engine, nil)
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	b.Cleanup(ts.Close)
	token, _, err := store.Tokens.CreateAPIToken(context.Background(), "bench", models.RoleAdmin, time.Hour, "bench", "")
	if err != nil {
		b.Fatal(err)
	}
	return ts.URL, token
}
