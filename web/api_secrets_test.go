package web_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/jobs/jobstest"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// Secrets through the API: admin tokens save, list (names only) and delete them; a value goes
// in and never comes out.
func TestAPISecrets(t *testing.T) {
	forEachDialect(t, web.Config{}, func(t *testing.T, a *app) {
		admin, viewer := a.token("ops", models.RoleAdmin), a.token("grafana", models.RoleViewer)
		const value = "xoxb-1234-abcd-secret"
		resp, body := a.apiCall("PUT", "/api/v1/secrets/slack.token", admin, map[string]any{"value": value})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		require.Equal(t, "slack.token", body["name"])
		require.Equal(t, "token ops", body["updated_by"])
		require.NotContains(t, fmt.Sprint(body), value)
		resp, _ = a.apiCall("PUT", "/api/v1/secrets/slack.token", admin, map[string]any{"value": "v2"})
		require.Equal(t, http.StatusOK, resp.StatusCode, "replaced")
		got, err := a.vault.Reveal(context.Background(), "slack.token")
		require.NoError(t, err)
		require.Equal(t, "v2", got)

		resp, body = a.apiCall("GET", "/api/v1/secrets", admin, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		list := body["secrets"].([]any)
		require.Len(t, list, 1)
		require.Equal(t, "slack.token", list[0].(map[string]any)["name"])

		for _, call := range [][2]string{{"GET", "/api/v1/secrets"}, {"PUT", "/api/v1/secrets/x"}, {"DELETE", "/api/v1/secrets/slack.token"}} {
			resp, _ := a.apiCall(call[0], call[1], viewer, map[string]any{"value": "v"})
			require.Equal(t, http.StatusForbidden, resp.StatusCode, call)
		}
		resp, body = a.apiCall("PUT", "/api/v1/secrets/bad%20name", admin, map[string]any{"value": "v"})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		require.Equal(t, "path.name", body["errors"].([]any)[0].(map[string]any)["location"])
		resp, _ = a.apiCall("PUT", "/api/v1/secrets/empty", admin, map[string]any{"value": ""})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		resp, _ = a.apiCall("PUT", "/api/v1/secrets/extra", admin, map[string]any{"value": "v", "oops": 1})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "unknown fields are refused")

		resp, _ = a.apiCall("DELETE", "/api/v1/secrets/slack.token", admin, nil)
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		resp, _ = a.apiCall("DELETE", "/api/v1/secrets/slack.token", admin, nil)
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
}

// A refused PUT of a secret echoes no part of its body, whatever the refusal: a wrong content
// type (415), a body that isn't JSON (400), or one that breaks the schema (422). Nor does the
// server's log.
func TestAPISecretRefusalsEchoNoValue(t *testing.T) {
	for _, d := range modeltest.Dialects {
		t.Run(d.Name, func(t *testing.T) {
			var log syncBuffer
			a := setupLogged(t, web.Config{}, d.DSN(t), slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})))
			admin := a.token("ops", models.RoleAdmin)
			const value = "Zq7-never-echo-me"
			for _, tc := range []struct {
				status      int
				contentType string
				body        string
			}{
				{http.StatusUnsupportedMediaType, "text/plain", `{"value":"` + value + `"}`},
				{http.StatusUnsupportedMediaType, "application/x-www-form-urlencoded", "value=" + value},
				{http.StatusBadRequest, "application/json", `{"value":"` + value + `"`},
				{http.StatusBadRequest, "application/json", `{"value":"` + value + `",}`},
				{http.StatusBadRequest, "application/json", `{"value":"` + value + "\x01\"}"},
				{http.StatusUnprocessableEntity, "application/json", `{"value":"` + value + `","oops":1}`},
				{http.StatusUnprocessableEntity, "application/json", `{"value":["` + value + `"]}`},
				{http.StatusUnprocessableEntity, "application/json", `{"value":"` + strings.Repeat(value, 500) + `"}`},
				{http.StatusUnprocessableEntity, "application/json", `{"secret":"` + value + `"}`},
				{http.StatusUnprocessableEntity, "application/json", `{"` + value + `":"x"}`},
				{http.StatusUnprocessableEntity, "application/json", `{"value":"x","` + value + `":1}`},
				{http.StatusBadRequest, "application/json", `{"value":"` + value + "\xff\xfe\"}"},
			} {
				req, err := http.NewRequest("PUT", a.server.URL+"/api/v1/secrets/echo.test", strings.NewReader(tc.body))
				require.NoError(t, err)
				req.Header.Set("Content-Type", tc.contentType)
				req.Header.Set("Authorization", "Bearer "+admin)
				resp, err := a.client.Do(req)
				require.NoError(t, err)
				got, err := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				require.NoError(t, err)
				require.Equal(t, tc.status, resp.StatusCode, "%s: %s", tc.body, got)
				require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
				require.NotContains(t, string(got), value[:8], tc.body)
				require.NotContains(t, string(got), `\\x01`, "not even one character: %s", got)
			}
			_, err := a.vault.Reveal(context.Background(), "echo.test")
			require.Error(t, err, "nothing was saved")
			require.NotContains(t, log.String(), value[:8])
			require.Contains(t, log.String(), "/api/v1/secrets/echo.test", "the requests were logged")
		})
	}
}

// A secret used by an http.request job reaches the server it calls, and appears nowhere else:
// not in any row of any table (jobs, events, logs, recurring jobs...), not in the API's
// answers, not on any dashboard page, even when the server echoes it back.
func TestSecretAppearsNowhere(t *testing.T) {
	forEachDialect(t, web.Config{LocalNoAuth: true}, func(t *testing.T, a *app) {
		const value = "pk_live_Zq81-not-to-be-seen"
		_, err := a.vault.Set(context.Background(), "partner.key", value, "ada")
		require.NoError(t, err)
		received := make(chan string, 10)
		partner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			received <- r.Header.Get("X-Api-Key")
			w.Header().Set("X-Request-Id", r.Header.Get("X-Api-Key")) // a careless partner echoes it
			if r.URL.Query().Get("fail") != "" {
				w.WriteHeader(http.StatusBadGateway)
			}
			_, _ = fmt.Fprintf(w, "hello %s, you sent %s", r.Header.Get("X-Api-Key"), body)
		}))
		t.Cleanup(partner.Close)

		// A worker on the same database, with the same secrets.
		worker, err := jobs.New(a.store, jobstest.Fast())
		require.NoError(t, err)
		require.NoError(t, builtin.Register(worker, a.store.Jobs, builtin.Config{Secrets: a.vault}))
		jobstest.Start(t, worker)

		args := map[string]any{"method": "POST", "url": partner.URL + "/v1?key=${secret:partner.key}",
			"headers": map[string]string{"X-Api-Key": "${secret:partner.key}"}, "body": map[string]string{"key": "${secret:partner.key}"}}
		resp, body := a.apiCall("POST", "/api/v1/jobs", "", map[string]any{"kind": "http.request", "args": args})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		ok := int64(body["id"].(float64))
		args["url"] = partner.URL + "/v1?fail=1&key=${secret:partner.key}"
		resp, body = a.apiCall("POST", "/api/v1/jobs", "", map[string]any{"kind": "http.request", "args": args, "max_attempts": 1})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		failed := int64(body["id"].(float64))
		resp, body = a.apiCall("POST", "/api/v1/recurring", "", map[string]any{"name": "nightly-partner", "spec": "0 2 * * *",
			"time_zone": "Europe/Berlin", "kind": "http.request", "args": args})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)

		require.Equal(t, value, <-received, "the secret reached the server")
		require.Equal(t, value, <-received)
		done := jobstest.WaitState(t, a.store.JobQueries, ok, models.JobSucceeded)
		require.Contains(t, done.Result, "hello ${secret:partner.key}")
		jobstest.WaitState(t, a.store.JobQueries, failed, models.JobFailed)

		// Every row of every table.
		db, err := modeltest.DB(a.store).DB()
		require.NoError(t, err)
		for _, table := range tables(t, db, a.store.Dialect()) {
			rows, err := db.Query(`SELECT * FROM ` + table)
			require.NoError(t, err)
			cols, err := rows.Columns()
			require.NoError(t, err)
			n := 0
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				require.NoError(t, rows.Scan(ptrs...))
				for i, v := range vals {
					text := fmt.Sprint(v)
					if b, ok := v.([]byte); ok {
						text = string(b)
					}
					require.NotContains(t, text, value, "table %s, column %s", table, cols[i])
					require.NotContains(t, text, "pk_live_Zq81", "table %s, column %s", table, cols[i])
				}
				n++
			}
			require.NoError(t, rows.Err())
			_ = rows.Close()
			t.Logf("searched %d rows of %s", n, table)
		}

		// Every page and answer that shows these jobs.
		for _, path := range []string{
			"/dashboard", "/dashboard/jobs", "/dashboard/jobs?state=failed", fmt.Sprintf("/dashboard/jobs/%d", ok), fmt.Sprintf("/dashboard/jobs/%d", failed),
			fmt.Sprintf("/dashboard/jobs/%d/live", ok), "/dashboard/recurring", "/dashboard/secrets",
			fmt.Sprintf("/api/v1/jobs/%d", ok), fmt.Sprintf("/api/v1/jobs/%d", failed), fmt.Sprintf("/api/v1/jobs/%d/logs", ok),
			fmt.Sprintf("/api/v1/jobs/%d/logs", failed), "/api/v1/jobs?kind=http.request", "/api/v1/recurring", "/api/v1/recurring/nightly-partner",
		} {
			req, err := http.NewRequest("GET", a.server.URL+path, nil)
			require.NoError(t, err)
			resp, err := a.client.Do(req)
			require.NoError(t, err)
			page, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode, path)
			require.NotContains(t, string(page), value, path)
		}
		logs, err := a.store.JobQueries.JobLogs(context.Background(), failed)
		require.NoError(t, err)
		require.NotEmpty(t, logs)
		require.Contains(t, logs[len(logs)-1].Message, "502 Bad Gateway")
	})
}

// tables lists the database's tables.
func tables(t *testing.T, db *sql.DB, d models.Dialect) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if d == models.DialectPostgres {
		q = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`
	}
	rows, err := db.Query(q)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		out = append(out, `"`+strings.ReplaceAll(name, `"`, `""`)+`"`)
	}
	require.NotEmpty(t, out)
	return out
}
