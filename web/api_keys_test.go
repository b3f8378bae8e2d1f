package web_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// An Idempotency-Key is its caller's own: a second token sending the first's key makes its own
// job and never sees the first's; each still gets its own job back on a retry. And the engine's
// own unique keys (recurring occurrences, kinds' uniqueness, Idempotency-Keys) can't be planted
// through unique_key, alone or in a batch.
func TestAPIKeysBelongToTheirCaller(t *testing.T) {
	forEachDialect(t, web.Config{}, func(t *testing.T, a *app) {
		alice, bob := a.token("alice", models.RoleAdmin), a.token("bob", models.RoleAdmin)
		a.register("mail.send", "a", "b")
		post := func(token, key string, body any) (int, map[string]any) {
			b, _ := json.Marshal(body)
			req, err := http.NewRequest("POST", a.server.URL+"/api/v1/jobs", bytes.NewReader(b))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			if key != "" {
				req.Header.Set("Idempotency-Key", key)
			}
			resp, err := a.client.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			var out map[string]any
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
			return resp.StatusCode, out
		}
		code, first := post(alice, "order-17", map[string]any{"kind": "mail.send", "args": map[string]string{"to": "alice"}})
		require.Equal(t, http.StatusCreated, code)
		code, other := post(bob, "order-17", map[string]any{"kind": "mail.send", "args": map[string]string{"to": "bob"}})
		require.Equal(t, http.StatusCreated, code, "bob's key is bob's: a job of his own")
		require.NotEqual(t, first["id"], other["id"], "bob never gets alice's job through her key")
		require.NotContains(t, other, "duplicate")
		code, again := post(alice, "order-17", map[string]any{"kind": "mail.send", "args": map[string]string{"to": "alice"}})
		require.Equal(t, http.StatusOK, code, "alice's retry gets her first job")
		require.Equal(t, first["id"], again["id"])
		code, bobAgain := post(bob, "order-17", map[string]any{"kind": "mail.send"})
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, other["id"], bobAgain["id"])

		for _, key := range []string{"recurring:nightly:1767225600", "unique:mail.send", "idempotency:token:1:order-17"} {
			code, problem := post(alice, "", map[string]any{"kind": "mail.send", "unique_key": key})
			require.Equal(t, http.StatusUnprocessableEntity, code, key)
			raw, _ := json.Marshal(problem)
			require.Contains(t, string(raw), "body.unique_key", key)
			require.Contains(t, string(raw), "the engine's own", key)

			resp, body := a.apiCall("POST", "/api/v1/jobs/batch", alice, map[string]any{"jobs": []map[string]any{
				{"kind": "a"}, {"kind": "b", "unique_key": key},
			}})
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, key)
			raw, _ = json.Marshal(body)
			require.Contains(t, string(raw), "body.jobs[1].unique_key", key)
		}
		jobs, err := a.store.JobQueries.ListJobs(t.Context(), models.JobFilter{}, 0, 0, 100)
		require.NoError(t, err)
		for _, j := range jobs.Jobs {
			if j.UniqueKey != nil {
				require.False(t, strings.HasPrefix(*j.UniqueKey, "recurring:") || strings.HasPrefix(*j.UniqueKey, "unique:"), "planted: %s", *j.UniqueKey)
			}
		}
	})
}
