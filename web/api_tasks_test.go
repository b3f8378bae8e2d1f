package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/web"
	"github.com/stretchr/testify/require"
)

func TestAPITasks(t *testing.T) {
	forEachDialect(t, web.Config{LocalNoAuth: true}, func(t *testing.T, a *app) {
		due := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		resp, body := a.apiCall("POST", "/api/v1/tasks", "", map[string]any{"title": "Renew the certificate", "due_at": due})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		require.Equal(t, "pending", body["status"])
		id := itoa(int64(body["id"].(float64)))

		resp, body = a.apiCall("PUT", "/api/v1/tasks/"+id, "", map[string]any{"title": "Renew the TLS certificate", "description": "both hosts", "due_at": due.Add(-2 * time.Hour)})
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Equal(t, "overdue", body["status"])
		resp, body = a.apiCall("POST", "/api/v1/tasks/"+id+"/complete", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Equal(t, "completed", body["status"])
		require.Equal(t, "user", body["completed_by"])
		resp, body = a.apiCall("POST", "/api/v1/tasks/"+id+"/reopen", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		resp, body = a.apiCall("GET", "/api/v1/tasks?status=overdue", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Len(t, body["tasks"], 1)

		// The forms' validation, as problems naming the field.
		for _, bad := range []map[string]any{
			{"title": "", "due_at": due},
			{"title": strings.Repeat("x", 201), "due_at": due},
			{"title": "bell\a", "due_at": due},
			{"title": "x", "due_at": "1066-10-14T09:00:00Z"},
			{"title": "x"},
			{"title": "x", "due_at": due, "priority": 1},
		} {
			resp, body := a.apiCall("POST", "/api/v1/tasks", "", bad)
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "%v: %v", bad, body)
		}
		resp, _ = a.apiCall("GET", "/api/v1/tasks?status=later", "", nil)
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		n, err := a.store.Tasks.CountTasks(context.Background(), time.Now())
		require.NoError(t, err)
		require.Equal(t, int64(1), n.All, "no bad request wrote a task")

		resp, _ = a.apiCall("DELETE", "/api/v1/tasks/"+id, "", nil)
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		resp, _ = a.apiCall("GET", "/api/v1/tasks/"+id, "", nil)
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
}
