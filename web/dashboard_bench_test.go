package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/kilnhq/kiln/internal/tasks"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// BenchmarkDashboardPages measures the server time of every dashboard page with 100,000 jobs
// in the database (SQLite): go test -run '^$' -bench DashboardPages -benchtime 50x ./web/
func BenchmarkDashboardPages(b *testing.B) {
	store := modeltest.Open(b, modeltest.SQLiteDSN(b))
	const total = 100_000
	now := time.Now().UTC()
	states := []models.JobState{models.JobSucceeded, models.JobSucceeded, models.JobSucceeded, models.JobSucceeded, models.JobSucceeded,
		models.JobSucceeded, models.JobEnqueued, models.JobScheduled, models.JobFailed, models.JobCancelled}
	kinds := []string{"mail.send", "report.build", "image.resize", "tasks.sweep_overdue"}
	queues := []string{"default", "critical", "low"}
	batch := make([]models.Job, 0, 1000)
	var events []models.JobEvent
	for i := range total {
		st := states[i%len(states)]
		created := now.Add(-time.Duration(total-i) * time.Second)
		j := models.Job{
			Kind: kinds[i%len(kinds)], Queue: queues[i%len(queues)], Args: fmt.Sprintf(`{"user":%d,"to":"user%d@example.com"}`, i, i),
			State: st, Attempt: 1, MaxAttempts: 10, RunAt: created, CreatedAt: created,
		}
		if st.Final() {
			fin := created.Add(time.Second)
			j.StartedAt, j.FinishedAt = &created, &fin
		}
		if st == models.JobFailed {
			j.LastError = "upstream timed out after 30s"
		}
		batch = append(batch, j)
		if len(batch) == cap(batch) {
			if err := modeltest.DB(store).CreateInBatches(&batch, 500).Error; err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	for i := int64(1); i <= 3; i++ {
		events = append(events, models.JobEvent{JobID: total - 5, To: models.JobEnqueued, At: now}, models.JobEvent{JobID: total - 5, From: models.JobEnqueued, To: models.JobProcessing, At: now})
	}
	if err := modeltest.DB(store).Create(&events).Error; err != nil {
		b.Fatal(err)
	}
	modeltest.RecountJobs(b, store) // the jobs were written directly
	for h := range 24 * 7 {
		if err := modeltest.DB(store).Create(&models.JobStat{Period: models.PeriodHour, Bucket: now.Truncate(time.Hour).Add(-time.Duration(h) * time.Hour), Succeeded: 900, Failed: 12}).Error; err != nil {
			b.Fatal(err)
		}
	}
	engine, err := jobs.New(store, jobs.Config{NoWorkers: true})
	if err != nil {
		b.Fatal(err)
	}
	if err := builtin.Register(engine, store.Jobs, builtin.Config{}); err != nil {
		b.Fatal(err)
	}
	if err := tasks.Register(engine, store.Tasks, tasks.Config{}); err != nil {
		b.Fatal(err)
	}
	srv, err := web.New(web.Config{LocalNoAuth: true}, store, engine, nil)
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	for _, path := range []string{
		"/dashboard", "/dashboard/live", "/dashboard?history=7d",
		"/dashboard/jobs", "/dashboard/jobs?state=failed", "/dashboard/jobs?before=50000&limit=100",
		"/dashboard/jobs?kind=image.resize&queue=low", "/dashboard/jobs?q=user99999@",
		"/dashboard/jobs/" + strconv.Itoa(total-5), "/dashboard/recurring", "/dashboard/queues", "/dashboard/servers", "/",
	} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodGet, path, nil)
				req.Host = "localhost" // a loopback name: other hosts get 421 (DNS rebinding)
				req.RemoteAddr = "127.0.0.1:40000"
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: status %d", path, rec.Code)
				}
			}
		})
	}
}
