package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// apiCall sends a JSON request to the API, with a bearer token when given, and decodes the
// answer.
func (a *app) apiCall(method, path, token string, body any) (*http.Response, map[string]any) {
	a.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(a.t, err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.server.URL+path, r)
	require.NoError(a.t, err)
	req.Header.Set("Content-Type", "application/json")
	return a.apiDo(req, token)
}

// apiDo sends req with token (when not empty), checks the answer against the document
// (checkSpec), and returns it with its JSON body.
func (a *app) apiDo(req *http.Request, token string) (*http.Response, map[string]any) {
	a.t.Helper()
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.client.Do(req)
	require.NoError(a.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(a.t, err)
	var out map[string]any
	if len(raw) > 0 {
		require.NoError(a.t, json.Unmarshal(raw, &out), "%s %s: %s", req.Method, req.URL, raw)
	}
	var checked any
	if out != nil {
		checked = out
	}
	path := strings.TrimPrefix(req.URL.String(), a.server.URL)
	a.checkSpec(req.Method, path, resp.StatusCode, strings.SplitN(resp.Header.Get("Content-Type"), ";", 2)[0], checked)
	return resp, out
}

func (a *app) token(name, role string) string {
	a.t.Helper()
	tok, _, err := a.store.Tokens.CreateAPIToken(context.Background(), name, role, 0, "test", "")
	require.NoError(a.t, err)
	return tok
}

func TestAPIAuth(t *testing.T) {
	// no local access: every call needs a token
	forEachDialect(t, web.Config{}, func(t *testing.T, a *app) {
		admin, viewer := a.token("ops", models.RoleAdmin), a.token("grafana", models.RoleViewer)
		a.register("mail.send")

		resp, body := a.apiCall("GET", "/api/v1/stats", "", nil)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		require.Contains(t, body["detail"], "Authorization: Bearer")

		resp, body = a.apiCall("GET", "/api/v1/stats", "kiln_nope", nil)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		require.Contains(t, body["detail"], "No such API token")

		resp, _ = a.apiCall("GET", "/api/v1/stats", viewer, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "a viewer reads")
		resp, body = a.apiCall("POST", "/api/v1/jobs", viewer, map[string]any{"kind": "mail.send"})
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "a viewer changes nothing")
		require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		require.Contains(t, body["detail"], "viewer role")

		resp, body = a.apiCall("POST", "/api/v1/jobs", admin, map[string]any{"kind": "mail.send", "args": map[string]string{"to": "ada@example.com"}})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		require.Equal(t, "mail.send", body["kind"])

		// A logged-in browser's cookie is no key to the API.
		a.addUser("ada", models.RoleAdmin)
		a.login("ada", password)
		resp, _ = a.apiCall("POST", "/api/v1/jobs", "", map[string]any{"kind": "mail.send"})
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

		// An expired token is refused, saying so.
		expiring, _, err := a.store.Tokens.CreateAPIToken(context.Background(), "short", models.RoleAdmin, time.Millisecond, "test", "")
		require.NoError(t, err)
		time.Sleep(5 * time.Millisecond)
		resp, body = a.apiCall("GET", "/api/v1/stats", expiring, nil)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		require.Contains(t, body["detail"], "expired")
		require.Contains(t, body["detail"], `"kiln token create" on the server's database (the --db or KILN_DB kiln serves with)`,
			"a token made in another database is refused so: the answer says where to make one")

		// A revoked token stops working at once.
		require.NoError(t, a.store.Tokens.RevokeAPIToken(context.Background(), "ops"))
		resp, _ = a.apiCall("GET", "/api/v1/stats", admin, nil)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		n := len(modeltestRecent(t, a))
		require.Equal(t, 1, n, "one job, by the admin token")
	})
}

func modeltestRecent(t *testing.T, a *app) []models.Job {
	page, err := a.store.JobQueries.ListJobs(context.Background(), models.JobFilter{}, 0, 0, 100)
	require.NoError(t, err)
	return page.Jobs
}

func TestAPIJobs(t *testing.T) {
	// local access: acts as the local admin
	forEachDialect(t, web.Config{LocalNoAuth: true}, func(t *testing.T, a *app) {
		a.register("report.build", "mail.send", "x")
		resp, body := a.apiCall("POST", "/api/v1/jobs", "", map[string]any{
			"kind": "report.build", "args": map[string]int{"rows": 3}, "queue": "low", "priority": 5, "max_attempts": 3,
			"timeout": "30s", "delay": "1h", "unique_key": "report:1",
		})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		require.Equal(t, "scheduled", body["state"])
		require.Equal(t, "low", body["queue"])
		require.Equal(t, "30s", body["timeout"])
		require.Equal(t, map[string]any{"rows": float64(3)}, body["args"])
		id := int64(body["id"].(float64))

		require.Nil(t, body["duplicate"], "a new job is no duplicate")
		resp, body = a.apiCall("POST", "/api/v1/jobs", "", map[string]any{"kind": "report.build", "unique_key": "report:1"})
		require.Equal(t, http.StatusOK, resp.StatusCode, "nothing was created")
		require.Equal(t, float64(id), body["id"], "the unique key returns the first job")
		require.Equal(t, true, body["duplicate"])

		resp, body = a.apiCall("GET", "/api/v1/jobs/"+itoa(id), "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		events := body["events"].([]any)
		require.Len(t, events, 1)
		require.Contains(t, events[0].(map[string]any)["reason"], "by local")

		for range 3 {
			a.apiCall("POST", "/api/v1/jobs", "", map[string]any{"kind": "mail.send"})
		}
		resp, body = a.apiCall("GET", "/api/v1/jobs?kind=mail.send&limit=2", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Len(t, body["jobs"], 2)
		next := body["next"].(string)
		resp, body = a.apiCall("GET", "/api/v1/jobs?kind=mail.send&limit=2&after="+next, "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Len(t, body["jobs"], 1)
		require.Nil(t, body["next"], "the last page")

		resp, body = a.apiCall("GET", "/api/v1/stats", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, float64(3), body["jobs"].(map[string]any)["enqueued"])
		require.Equal(t, float64(1), body["jobs"].(map[string]any)["scheduled"])

		// Bad input: 4xx problems, never a 500, nothing written.
		for _, tc := range []struct {
			method, path string
			body         any
			status       int
			says         string
		}{
			{"POST", "/api/v1/jobs", map[string]any{"kind": "x", "colour": "red"}, 422, "colour"},
			{"POST", "/api/v1/jobs", map[string]any{"kind": 7}, 422, "expected string"},
			{"POST", "/api/v1/jobs", map[string]any{}, 422, "kind"},
			{"POST", "/api/v1/jobs", map[string]any{"kind": "x", "delay": "soon"}, 422, "Go duration"},
			{"POST", "/api/v1/jobs", map[string]any{"kind": "x", "delay": "1m", "run_at": "2030-01-01T00:00:00Z"}, 422, "not both"},
			{"POST", "/api/v1/jobs", map[string]any{"kind": "x", "queue": "has space"}, 422, "queue"},
			{"POST", "/api/v1/jobs", map[string]any{"kind": "exec", "args": map[string]any{"command": []string{"/bin/sh"}, "env": map[string]string{"TAR_OPTIONS": "--checkpoint-action=exec=id"}}},
				422, "TAR_OPTIONS can't be set on this server"},
			{"GET", "/api/v1/jobs?after=abc", nil, 422, "cursor"},
			{"GET", "/api/v1/jobs?limit=100000", nil, 422, "limit"},
			{"GET", "/api/v1/jobs?state=lost", nil, 422, "state"},
			{"GET", "/api/v1/jobs/999999", nil, 404, "999999"},
			{"GET", "/api/v1/jobs/abc", nil, 422, "id"},
			{"GET", "/api/v1/nothing", nil, 404, ""},
		} {
			resp, body := a.apiCall(tc.method, tc.path, "", tc.body)
			require.Equal(t, tc.status, resp.StatusCode, "%s %s %v: %v", tc.method, tc.path, tc.body, body)
			require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"), "%s %s", tc.method, tc.path)
			raw, _ := json.Marshal(body)
			require.Contains(t, strings.ToLower(string(raw)), strings.ToLower(tc.says), "%s %s", tc.method, tc.path)
		}
		require.Len(t, modeltestRecent(t, a), 4, "no bad request wrote a job")

		// The OpenAPI document describes what was just used.
		resp, doc := a.apiCall("GET", "/api/openapi.json", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "3.1.0", doc["openapi"])
		paths := doc["paths"].(map[string]any)
		for _, p := range []string{"/v1/jobs", "/v1/jobs/{id}", "/v1/stats", "/v1/kinds"} {
			require.Contains(t, paths, p)
		}
	})
}

// A page of another origin can't use local access to change anything.
func TestAPILocalAccessIsNotCrossOrigin(t *testing.T) {
	forEachDialect(t, web.Config{LocalNoAuth: true}, func(t *testing.T, a *app) {
		req, err := http.NewRequest("POST", a.server.URL+"/api/v1/jobs", strings.NewReader(`{"kind":"mail.send"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "https://evil.example")
		resp, err := a.client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		require.Empty(t, modeltestRecent(t, a))
	})
}

func TestAPIOps(t *testing.T) {
	forEachDialect(t, web.Config{LocalNoAuth: true}, func(t *testing.T, a *app) {
		a.register("mail.send")
		_, body := a.apiCall("POST", "/api/v1/jobs", "", map[string]any{"kind": "mail.send", "delay": "1h"})
		jobID := int64(body["id"].(float64))
		id := itoa(jobID)

		resp, body := a.apiCall("POST", "/api/v1/jobs/"+id+"/run", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Equal(t, "enqueued", body["state"])
		resp, body = a.apiCall("POST", "/api/v1/jobs/"+id+"/cancel", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Equal(t, "cancelled", body["state"])
		resp, body = a.apiCall("POST", "/api/v1/jobs/"+id+"/requeue", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Equal(t, "enqueued", body["state"])
		resp, body = a.apiCall("POST", "/api/v1/jobs/"+id+"/explode", "", nil)
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
		resp, _ = a.apiCall("GET", "/api/v1/jobs/"+id+"/logs", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.NoError(t, modeltest.AppendJobLog(context.Background(), a.store, jobID, 1, time.Now(), "hello"))
		_, body = a.apiCall("GET", "/api/v1/jobs/"+id+"/logs", "", nil)
		require.Equal(t, "hello", body["logs"].([]any)[0].(map[string]any)["message"])
		resp, _ = a.apiCall("DELETE", "/api/v1/jobs/"+id, "", nil)
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		_, body = a.apiCall("GET", "/api/v1/jobs/"+id, "", nil)
		require.Equal(t, "deleted", body["state"])
		reasons := ""
		for _, e := range body["events"].([]any) {
			reasons += e.(map[string]any)["reason"].(string) + ";"
		}
		require.Contains(t, reasons, "cancelled by local")

		a.recurringIn("nightly", "30 2 * * *", "Europe/Berlin")
		resp, body = a.apiCall("GET", "/api/v1/recurring", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		rj := body["recurring"].([]any)[0].(map[string]any)
		require.Equal(t, "at 02:30 every day", rj["description"])
		resp, body = a.apiCall("POST", "/api/v1/recurring/nightly/pause", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Equal(t, true, body["recurring"].(map[string]any)["paused"])
		resp, body = a.apiCall("POST", "/api/v1/recurring/nightly/trigger", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Equal(t, "report.build", body["job"].(map[string]any)["kind"])
		resp, body = a.apiCall("PUT", "/api/v1/recurring/nightly", "", map[string]any{"spec": "0 0 30 2 *", "time_zone": "UTC"})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		raw, _ := json.Marshal(body)
		require.Contains(t, string(raw), "never runs: February has no day 30")
		require.Contains(t, string(raw), "body.spec")
		resp, body = a.apiCall("PUT", "/api/v1/recurring/nightly", "", map[string]any{"spec": "0 3 * * *", "time_zone": "Mars/Base"})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		raw, _ = json.Marshal(body)
		require.Contains(t, string(raw), "body.time_zone")
		resp, body = a.apiCall("PUT", "/api/v1/recurring/nightly", "", map[string]any{"spec": "15 4 * * 1-5", "time_zone": "America/New_York"})
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Equal(t, "at 04:15 on weekdays", body["description"])
		require.Equal(t, true, body["edited"])
		resp, _ = a.apiCall("GET", "/api/v1/recurring/nope", "", nil)
		require.Equal(t, http.StatusNotFound, resp.StatusCode)

		resp, _ = a.apiCall("POST", "/api/v1/queues/default/pause", "", nil)
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		_, body = a.apiCall("GET", "/api/v1/queues", "", nil)
		var paused bool
		for _, q := range body["queues"].([]any) {
			if q.(map[string]any)["name"] == "default" {
				paused = q.(map[string]any)["paused"].(bool)
			}
		}
		require.True(t, paused)
		resp, _ = a.apiCall("POST", "/api/v1/queues/has%20space/pause", "", nil)
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		resp, body = a.apiCall("GET", "/api/v1/servers", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.NotNil(t, body["servers"])
	})
}

// The API's description and reference page are public, drawn from the same types as the
// handlers, and list every operation.
func TestAPIReference(t *testing.T) {
	a := setupWith(t, web.Config{}) // no local access
	resp, doc := a.apiCall("GET", "/api/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var ops []string
	for _, item := range doc["paths"].(map[string]any) {
		for _, op := range item.(map[string]any) {
			ops = append(ops, op.(map[string]any)["operationId"].(string))
		}
	}
	require.GreaterOrEqual(t, len(ops), 14)

	resp, page := a.get("/api/docs")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "text/html")
	for _, id := range ops {
		require.NotEmpty(t, page.Find(`[data-testid="api-op"]#`+id).Nodes, "the reference shows %s", id)
	}
	// Every path it shows is one the server answers at: /api/v1/..., in the contents and in
	// each operation's heading (the contents once showed /v1/jobs, a 404).
	shown := page.Find(`a[href^="#"] code, [data-testid="api-op"] h3 code:not(.method)`).Map(func(_ int, s *goquery.Selection) string { return s.Text() })
	require.Len(t, shown, 2*len(ops))
	for _, text := range shown {
		path := strings.TrimSpace(text[strings.LastIndex(text, " ")+1:])
		require.True(t, strings.HasPrefix(path, "/api/v1/"), "the reference shows %q", text)
		if strings.HasPrefix(text, "GET ") && !strings.Contains(path, "{") {
			resp, _ := a.apiCall("GET", path, "", nil)
			require.NotEqual(t, http.StatusNotFound, resp.StatusCode, "%s is served", path)
		}
	}
	enqueue := page.Find(`#enqueue-job`).Text()
	require.Contains(t, enqueue, "unique_key")
	require.Contains(t, enqueue, "At most one job with this key exists")
	require.NotContains(t, resp.Header.Get("Content-Security-Policy"), "cdn", "no third-party origin")
	require.Empty(t, page.Find(`script[src^="http"]`).Nodes)
}

// A retried POST with the same Idempotency-Key returns the first job; a batch is stored whole
// or not at all.
func TestAPIIdempotencyAndBatch(t *testing.T) {
	forEachDialect(t, web.Config{LocalNoAuth: true}, func(t *testing.T, a *app) {
		a.register("mail.send", "a", "b", "c")
		post := func(key string, body any) (*http.Response, map[string]any) {
			b, _ := json.Marshal(body)
			req, err := http.NewRequest("POST", a.server.URL+"/api/v1/jobs", bytes.NewReader(b))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", key)
			resp, err := a.client.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			var out map[string]any
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
			a.checkSpec("POST", "/api/v1/jobs", resp.StatusCode, strings.SplitN(resp.Header.Get("Content-Type"), ";", 2)[0], out)
			return resp, out
		}
		resp, first := post("order-17", map[string]any{"kind": "mail.send"})
		require.Equal(t, http.StatusCreated, resp.StatusCode)
		resp, again := post("order-17", map[string]any{"kind": "mail.send"})
		require.Equal(t, http.StatusOK, resp.StatusCode, "the retry gets the first job")
		require.Equal(t, first["id"], again["id"])
		resp, problem := post("order-18", map[string]any{"kind": "mail.send", "unique_key": "x"})
		problemAt(t, resp, problem, "body.unique_key", "not both")

		resp, body := a.apiCall("POST", "/api/v1/jobs/batch", "", map[string]any{"jobs": []map[string]any{
			{"kind": "a"}, {"kind": "b", "delay": "1h"}, {"kind": "c", "unique_key": "k"}, {"kind": "c", "unique_key": "k"},
		}})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		got := body["jobs"].([]any)
		require.Len(t, got, 4)
		require.Equal(t, "scheduled", got[1].(map[string]any)["state"])
		require.Equal(t, got[2].(map[string]any)["id"], got[3].(map[string]any)["id"], "one job per unique key")
		before := len(modeltestRecent(t, a))

		resp, body = a.apiCall("POST", "/api/v1/jobs/batch", "", map[string]any{"jobs": []map[string]any{{"kind": "a"}, {"kind": "b", "delay": "never"}}})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		raw, _ := json.Marshal(body)
		require.Contains(t, string(raw), "body.jobs[1].delay")
		resp, _ = a.apiCall("POST", "/api/v1/jobs/batch", "", map[string]any{"jobs": []map[string]any{}})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		resp, _ = a.apiCall("POST", "/api/v1/jobs/batch", "", map[string]any{"jobs": []map[string]any{{"kind": "a"}, {"kind": "b", "queue": "bad queue"}}})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		require.Len(t, modeltestRecent(t, a), before, "a refused batch stores nothing")
	})
}

// /metrics needs a viewer token or local access, never a session cookie, and labels requests
// by route pattern, not by URL.
func TestMetricsEndpoint(t *testing.T) {
	forEachDialect(t, web.Config{}, func(t *testing.T, a *app) {
		viewer := a.token("prometheus", models.RoleViewer)
		get := func(token string) (int, string) {
			req, err := http.NewRequest("GET", a.server.URL+"/metrics", nil)
			require.NoError(t, err)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := a.client.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			return resp.StatusCode, string(b)
		}
		code, _ := get("")
		require.Equal(t, http.StatusUnauthorized, code)
		a.addUser("ada", models.RoleAdmin)
		a.login("ada", password)
		code, _ = get("")
		require.Equal(t, http.StatusUnauthorized, code, "a session cookie is no key to the metrics")
		a.get("/dashboard/jobs/12345")
		code, body := get(viewer)
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, body, `kiln_http_request_duration_seconds_count{route="/dashboard/jobs/:id",status="404"} 1`)
		require.NotContains(t, body, "/dashboard/jobs/12345", "routes are labelled by pattern, not by path") // not the bare number: a byte counter may hold it
		require.Contains(t, body, "kiln_jobs")
	})
}
