package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
	"github.com/stretchr/testify/require"
)

func TestAPICreateAndDeleteRecurring(t *testing.T) {
	forEachDialect(t, web.Config{LocalNoAuth: true}, func(t *testing.T, a *app) {
		a.register("report.build", "x")
		resp, body := a.apiCall("POST", "/api/v1/recurring", "", map[string]any{
			"name": "weekly-report", "spec": "0 7 * * MON", "time_zone": "Europe/Berlin", "kind": "report.build",
			"args": map[string]string{"scope": "week"}, "queue": "low", "misfire": "strict", "overlap": "skip",
		})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		require.Equal(t, "skip", body["overlap"])
		require.EqualValues(t, 0, body["skipped"])
		require.Equal(t, "at 07:00 on Mondays", body["description"])
		require.Equal(t, "low", body["queue"])
		require.NotNil(t, body["next_run_at"])
		rj, err := a.store.Recurring.GetRecurring(context.Background(), "weekly-report")
		require.NoError(t, err)
		require.Equal(t, models.MisfireStrict, rj.Misfire)
		require.JSONEq(t, `{"scope":"week"}`, rj.Args)

		for _, tc := range []struct {
			body   map[string]any
			status int
			says   string
		}{
			{map[string]any{"name": "weekly-report", "spec": "@daily", "kind": "x"}, 409, "already a recurring job"},
			{map[string]any{"name": "n", "spec": "0 0 30 2 *", "kind": "x"}, 422, "body.spec"},
			{map[string]any{"name": "n", "spec": "@daily", "time_zone": "Mars/Base", "kind": "x"}, 422, "body.time_zone"},
			{map[string]any{"name": "n", "spec": "@daily", "kind": "x", "misfire": "sometimes"}, 422, "misfire"},
			{map[string]any{"name": "n", "spec": "@daily", "kind": "x", "overlap": "queue"}, 422, "overlap"},
			{map[string]any{"name": "n", "spec": "@daily", "kind": "x", "queue": "bad queue"}, 422, "queue"},
			{map[string]any{"name": "n", "spec": "@daily", "kind": "x", "timeout": "long"}, 422, "body.timeout"},
			{map[string]any{"name": "n\x07", "spec": "@daily", "kind": "x"}, 422, "control characters"},
			{map[string]any{"spec": "@daily", "kind": "x"}, 422, "name"},
		} {
			resp, body := a.apiCall("POST", "/api/v1/recurring", "", tc.body)
			require.Equal(t, tc.status, resp.StatusCode, "%v: %v", tc.body, body)
			raw, _ := json.Marshal(body)
			require.Contains(t, string(raw), tc.says, "%v", tc.body)
		}
		n, err := a.store.Recurring.CountRecurring(context.Background())
		require.NoError(t, err)
		require.Equal(t, int64(1), n, "nothing half-made")

		// PUT changes the overlap policy with the schedule; a bad one changes neither.
		resp, body = a.apiCall("PUT", "/api/v1/recurring/weekly-report", "", map[string]any{"spec": "0 8 * * MON", "time_zone": "Europe/Berlin", "overlap": "sometimes"})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
		resp, body = a.apiCall("PUT", "/api/v1/recurring/weekly-report", "", map[string]any{"spec": "0 8 * * MON", "time_zone": "Europe/Berlin", "overlap": "replace"})
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Equal(t, "replace", body["overlap"])
		rj, err = a.store.Recurring.GetRecurring(context.Background(), "weekly-report")
		require.NoError(t, err)
		require.Equal(t, [2]string{"0 8 * * MON", models.OverlapReplace}, [2]string{rj.Spec, rj.Overlap})

		resp, _ = a.apiCall("DELETE", "/api/v1/recurring/weekly-report", "", nil)
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		resp, _ = a.apiCall("DELETE", "/api/v1/recurring/weekly-report", "", nil)
		require.Equal(t, http.StatusNotFound, resp.StatusCode)

		// One a server's code defines is refused, as on the dashboard: it would come back.
		_, err = a.store.Recurring.UpsertRecurring(context.Background(), &models.RecurringJob{Name: "from-code", Spec: "@daily", TimeZone: "UTC", Kind: "report.build", Queue: "default", MaxAttempts: 3, Misfire: models.MisfireRelaxed}, func() time.Time { return time.Now().Add(time.Hour) })
		require.NoError(t, err)
		resp, body = a.apiCall("DELETE", "/api/v1/recurring/from-code", "", nil)
		require.Equal(t, http.StatusConflict, resp.StatusCode, body)
		require.Contains(t, body["detail"], "defined in a server's code")
		_, err = a.store.Recurring.GetRecurring(context.Background(), "from-code")
		require.NoError(t, err, "still there")
	})
}

func TestAPITags(t *testing.T) {
	forEachDialect(t, web.Config{LocalNoAuth: true}, func(t *testing.T, a *app) {
		a.register("mail.send", "report.build", "x")
		resp, body := a.apiCall("POST", "/api/v1/jobs", "", map[string]any{"kind": "mail.send", "tags": []string{"customer:42", "welcome", "welcome"}})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		require.Equal(t, []any{"customer:42", "welcome"}, body["tags"])
		a.apiCall("POST", "/api/v1/jobs", "", map[string]any{"kind": "mail.send", "tags": []string{"customer:7"}})
		a.apiCall("POST", "/api/v1/jobs/batch", "", map[string]any{"jobs": []map[string]any{{"kind": "report.build", "tags": []string{"customer:42"}}}})
		_, body = a.apiCall("GET", "/api/v1/jobs?tag=customer:42", "", nil)
		require.Len(t, body["jobs"], 2)
		_, body = a.apiCall("GET", "/api/v1/jobs?tag=customer", "", nil)
		require.Empty(t, body["jobs"], "a tag matches whole")
		_, body = a.apiCall("GET", "/api/v1/jobs?tag=%25", "", nil)
		require.Empty(t, body["jobs"], "LIKE's wildcards are plain characters")
		for _, bad := range [][]string{{"has space"}, {""}, {strings.Repeat("x", 51)}, {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"}} {
			resp, body := a.apiCall("POST", "/api/v1/jobs", "", map[string]any{"kind": "x", "tags": bad})
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "%v: %v", bad, body)
		}
		require.Len(t, modeltestRecent(t, a), 3)
	})
}

// A recurring job's JSON says overridden, the column's name, once a person changed its
// schedule; edited, the old name, still comes with the same value for clients that read it,
// and the document marks it deprecated.
func TestAPIRecurringOverridden(t *testing.T) {
	a := setup(t)
	a.recurringIn("nightly", "30 2 * * *", "Europe/Berlin") // as code defines it
	_, body := a.apiCall("GET", "/api/v1/recurring/nightly", "", nil)
	require.Equal(t, []any{false, false}, []any{body["overridden"], body["edited"]})
	resp, body := a.apiCall("PUT", "/api/v1/recurring/nightly", "", map[string]any{"spec": "15 4 * * *", "time_zone": "UTC"})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Equal(t, []any{true, true}, []any{body["overridden"], body["edited"]})
	_, body = a.apiCall("GET", "/api/v1/recurring", "", nil)
	rj := body["recurring"].([]any)[0].(map[string]any)
	require.Equal(t, []any{true, true}, []any{rj["overridden"], rj["edited"]})

	_, doc := a.apiCall("GET", "/api/openapi.json", "", nil)
	props := doc["components"].(map[string]any)["schemas"].(map[string]any)["Recurring"].(map[string]any)["properties"].(map[string]any)
	require.Equal(t, true, props["edited"].(map[string]any)["deprecated"])
	require.Contains(t, props["edited"].(map[string]any)["description"], "Deprecated")
	require.Nil(t, props["overridden"].(map[string]any)["deprecated"])
}
