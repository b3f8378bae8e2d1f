package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/kilnhq/kiln/internal/alerts"
	"github.com/kilnhq/kiln/internal/metrics"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/jobstest"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, 200, rec.Code)
	b, err := io.ReadAll(rec.Body)
	require.NoError(t, err)
	return string(b)
}

// What the engine does and what the database holds both show, on either database.
func TestMetrics(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		m := metrics.New(s)
		cfg := jobstest.Fast()
		cfg.Observer = m
		e, err := jobs.New(s, cfg)
		require.NoError(t, err)
		m.SetEngine(e)
		require.NoError(t, e.Register("ok", func(context.Context, *models.Job) error { return nil }))
		require.NoError(t, e.Register("bad", func(context.Context, *models.Job) error { return errors.New("no") }, jobs.MaxAttempts(1)))
		require.NoError(t, e.Register("later", func(context.Context, *models.Job) error { return jobs.Snooze(time.Hour) }))
		v := alerts.New(e, s.Rules, alerts.Config{Every: 50 * time.Millisecond, Settle: 500 * time.Millisecond})
		require.NoError(t, jobs.AlertOnFailure(e, "bad jobs", "bad", nil, 0))
		require.NoError(t, v.Register())
		jobstest.Start(t, e)
		for _, kind := range []string{"ok", "ok", "bad", "later"} {
			_, err := e.Enqueue(context.Background(), kind, nil)
			require.NoError(t, err)
		}
		_, err = e.Enqueue(context.Background(), "ok", nil, jobs.Queue("reports"), jobs.RunAt(time.Now().Add(-time.Minute)))
		require.NoError(t, err)
		wants := []string{
			`kiln_jobs_finished_total{kind="ok",outcome="succeeded",queue="default"} 2`,
			`kiln_jobs_finished_total{kind="bad",outcome="failed",queue="default"} 1`,
			`kiln_jobs_finished_total{kind="later",outcome="snoozed",queue="default"} 1`,
			`kiln_job_duration_seconds_count{kind="ok",queue="default"} 2`,
			// The attempts are counted when they end, the database a moment later (the
			// completer writes finishes in batches): wait for both.
			`kiln_jobs{queue="default",state="succeeded"} 2`,
			`kiln_jobs{queue="default",state="failed"} 1`,
			`kiln_jobs{queue="default",state="scheduled"} 1`,
			`kiln_jobs{queue="reports",state="enqueued"} 1`, // this node doesn't work reports
			`kiln_queue_paused{queue="default"} 0`,
			`kiln_workers{queue="default"} 10`,
			`kiln_alerts_open 1`,
			`kiln_store_scrape_error 0`,
			`go_goroutines`,
			`process_resident_memory_bytes`,
		}
		var out string
		require.Eventually(t, func() bool {
			out = scrape(t, m)
			for _, w := range wants {
				if !strings.Contains(out, w) {
					return false
				}
			}
			return true
		}, 20*time.Second, 20*time.Millisecond, "the metrics never showed all of %v", wants)
		require.Regexp(t, `kiln_queue_oldest_enqueued_age_seconds\{queue="reports"\} [1-9]`, out, "the reports job has waited a minute")
		m.JobsRescued(3)
		require.Contains(t, scrape(t, m), "kiln_jobs_rescued_total 3")
	})
}
