package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// BenchmarkTaskListPage measures the server time of the task list (first page of 50) with
// 10,000 tasks in the database.
func BenchmarkTaskListPage(b *testing.B) {
	store := modeltest.Open(b, modeltest.SQLiteDSN(b))
	tasks := make([]models.Task, 10_000)
	for i := range tasks {
		tasks[i] = models.Task{Title: "A task with a reasonably long title", DueAt: time.Now().Add(time.Duration(i-5000) * time.Minute).UTC()}
	}
	if err := modeltest.DB(store).CreateInBatches(&tasks, 500).Error; err != nil {
		b.Fatal(err)
	}
	srv, err := web.New(web.Config{LocalNoAuth: true}, store, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/?status=overdue", nil)
		req.Host = "localhost" // a loopback name: other hosts get 421 (DNS rebinding)
		req.AddCookie(&http.Cookie{Name: "kiln_tz", Value: "Europe/Berlin"})
		req.RemoteAddr = "127.0.0.1:40000" // a local request, which skips login
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
