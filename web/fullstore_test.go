package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// fullTasks are tasks whose disk filled up: making one fails as SQLite fails then.
type fullTasks struct{ models.TaskStore }

func (fullTasks) CreateTask(context.Context, models.TaskInput) (*models.Task, error) {
	return nil, fmt.Errorf("models: create task: %w", sqlite3.Error{Code: sqlite3.ErrFull})
}

// A form whose save fails for a full disk answers 507 with a page that says so, not a 500.
// (diskfull_test.go fills a real disk through the API.)
func TestFullDiskPage(t *testing.T) {
	store := modeltest.Open(t, modeltest.SQLiteDSN(t))
	engine, err := jobs.New(store, jobs.Config{NoWorkers: true})
	require.NoError(t, err)
	full := *store
	full.Tasks = fullTasks{store.Tasks}
	srv, err := web.New(web.Config{LocalNoAuth: true}, &full, engine, nil)
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	a := &app{t: t, store: store, engine: engine, server: ts, client: newClient(t)}
	token := a.csrf("/tasks/new")
	resp, doc := a.post("/tasks", url.Values{"_csrf": {token}, "title": {"t"}, "due_at": {"2030-01-01T10:00"}, "tz": {"UTC"}})
	require.Equal(t, http.StatusInsufficientStorage, resp.StatusCode)
	require.Contains(t, doc.Find("h1").Text(), "Disk full")
	require.True(t, strings.Contains(doc.Text(), "nothing was saved"))
}
