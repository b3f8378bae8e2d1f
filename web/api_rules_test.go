package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

func TestAPIRules(t *testing.T) {
	forEachDialect(t, web.Config{}, func(t *testing.T, a *app) {
		admin, viewer := a.token("ops", models.RoleAdmin), a.token("grafana", models.RoleViewer)
		rule := map[string]any{"name": "backup late", "watch": "missed-schedule", "scope": "recurring", "target": "nightly-backup",
			"grace": "30m", "channels": []string{"ops-slack"}, "repeat_every": "1h"}
		resp, _ := a.apiCall("POST", "/api/v1/alerts/rules", viewer, rule)
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		resp, body := a.apiCall("POST", "/api/v1/alerts/rules", admin, rule)
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		require.Equal(t, "30m0s", body["grace"])
		require.Equal(t, "1h0m0s", body["repeat_every"])
		require.Equal(t, "token ops", body["created_by"])
		require.Equal(t, true, body["enabled"])

		for _, tc := range []struct {
			body   map[string]any
			status int
			says   string
		}{
			{rule, 409, "already a rule"},
			{map[string]any{"name": "x", "watch": "missed-schedule", "scope": "kind"}, 422, "body.scope"},
			{map[string]any{"name": "x", "watch": "failures-within", "scope": "kind", "threshold": 3}, 422, "body.within"},
			{map[string]any{"name": "x", "watch": "backlog", "scope": "queue", "longer_than": "soon"}, 422, "body.longer_than"},
			{map[string]any{"name": "x", "watch": "sometimes", "scope": "kind"}, 422, "body.watch"},
			{map[string]any{"name": "", "watch": "failed", "scope": "kind"}, 422, "body.name"},
		} {
			resp, body := a.apiCall("POST", "/api/v1/alerts/rules", admin, tc.body)
			require.Equal(t, tc.status, resp.StatusCode, "%v: %v", tc.body, body)
			raw, _ := json.Marshal(body)
			require.Contains(t, string(raw), tc.says, "%v", tc.body)
		}

		resp, body = a.apiCall("GET", "/api/v1/alerts/rules", viewer, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Len(t, body["rules"], 1, "nothing half-made")
		resp, body = a.apiCall("GET", "/api/v1/alerts/rules/backup%20late", viewer, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Equal(t, []any{"ops-slack"}, body["channels"])
		resp, _ = a.apiCall("DELETE", "/api/v1/alerts/rules/backup%20late", viewer, nil)
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		resp, _ = a.apiCall("DELETE", "/api/v1/alerts/rules/backup%20late", admin, nil)
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		resp, _ = a.apiCall("GET", "/api/v1/alerts/rules/backup%20late", viewer, nil)
		require.Equal(t, http.StatusNotFound, resp.StatusCode)

		// A rule a server's code defines (no created_by) would come back: refused, as the dashboard refuses it.
		_, err := a.store.Rules.UpsertRule(context.Background(), &models.AlertRule{Name: "coded", Watch: models.WatchFailed, Scope: models.ScopeKind, Enabled: true}, time.Now())
		require.NoError(t, err)
		resp, body = a.apiCall("DELETE", "/api/v1/alerts/rules/coded", admin, nil)
		require.Equal(t, http.StatusConflict, resp.StatusCode, body)
		require.Contains(t, body["detail"], "defined in a server's code")
	})
}

// PUT replaces a person's rule's definition, checked as a rule made is: its name, alerts,
// creation and whether it is enabled stay. An unknown rule is a 404, one a server's code
// defines a 409 (as on delete and on the dashboard), a bad field a 422 naming it; a refused
// change leaves the rule as it was.
func TestAPIRuleUpdate(t *testing.T) {
	forEachDialect(t, web.Config{}, func(t *testing.T, a *app) {
		admin, viewer := a.token("ops", models.RoleAdmin), a.token("grafana", models.RoleViewer)
		rule := map[string]any{"name": "emails", "watch": "failed-in-a-row", "scope": "kind", "target": "email.send",
			"threshold": 3, "channels": []string{"ops-slack"}, "repeat_every": "1h"}
		resp, body := a.apiCall("POST", "/api/v1/alerts/rules", admin, rule)
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		created := body["created_at"]

		changed := map[string]any{"name": "emails", "watch": "failures-within", "scope": "queue", "target": "mail",
			"threshold": 10, "within": "15m", "channels": []string{"ops-mail"}}
		resp, _ = a.apiCall("PUT", "/api/v1/alerts/rules/emails", viewer, changed)
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "a viewer reads only")
		resp, body = a.apiCall("PUT", "/api/v1/alerts/rules/emails", admin, changed)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Equal(t, "failures-within", body["watch"])
		require.Equal(t, "queue", body["scope"])
		require.Equal(t, "mail", body["target"])
		require.EqualValues(t, 10, body["threshold"])
		require.Equal(t, "15m0s", body["within"])
		require.Equal(t, []any{"ops-mail"}, body["channels"])
		require.Nil(t, body["repeat_every"], "replaced, not merged: no repeat given, none kept")
		require.Equal(t, "token ops", body["created_by"])
		require.Equal(t, created, body["created_at"])
		require.Equal(t, true, body["enabled"], "as it was: the body doesn't say")
		changed["enabled"] = false
		resp, body = a.apiCall("PUT", "/api/v1/alerts/rules/emails", admin, changed)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Equal(t, false, body["enabled"], "disabled")
		stored, err := a.store.Rules.GetRule(context.Background(), "emails")
		require.NoError(t, err)
		require.False(t, stored.Enabled)
		changed["enabled"] = true
		resp, body = a.apiCall("PUT", "/api/v1/alerts/rules/emails", admin, changed)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Equal(t, true, body["enabled"], "enabled again")
		resp, body = a.apiCall("POST", "/api/v1/alerts/rules", admin, map[string]any{"name": "quiet", "watch": "failed", "scope": "kind", "enabled": false})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		require.Equal(t, false, body["enabled"], "made disabled")

		for _, tc := range []struct {
			path   string
			body   map[string]any
			status int
			says   string
		}{
			{"nope", map[string]any{"name": "nope", "watch": "failed", "scope": "kind"}, 404, "no alert rule"},
			{"emails", map[string]any{"name": "emails", "watch": "failed-in-a-row", "scope": "kind", "threshold": 0}, 422, "body.threshold"},
			{"emails", map[string]any{"name": "emails", "watch": "failed-in-a-row", "scope": "kind", "threshold": -2}, 422, "body.threshold"},
			{"emails", map[string]any{"name": "emails", "watch": "failures-within", "scope": "kind", "threshold": 3, "within": "soon"}, 422, "body.within"},
			{"emails", map[string]any{"name": "emails", "watch": "missed-schedule", "scope": "kind"}, 422, "body.scope"},
			{"emails", map[string]any{"name": "mails", "watch": "failed", "scope": "kind"}, 422, "body.name"},
		} {
			resp, body := a.apiCall("PUT", "/api/v1/alerts/rules/"+tc.path, admin, tc.body)
			require.Equal(t, tc.status, resp.StatusCode, "%v: %v", tc.body, body)
			raw, _ := json.Marshal(body)
			require.Contains(t, string(raw), tc.says, "%v", tc.body)
		}
		resp, body = a.apiCall("GET", "/api/v1/alerts/rules/emails", viewer, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.EqualValues(t, 10, body["threshold"], "refused changes left it as it was")
		require.Equal(t, "15m0s", body["within"])

		_, err = a.store.Rules.UpsertRule(context.Background(), &models.AlertRule{Name: "coded", Watch: models.WatchFailed, Scope: models.ScopeKind, Enabled: true}, time.Now())
		require.NoError(t, err)
		resp, body = a.apiCall("PUT", "/api/v1/alerts/rules/coded", admin, map[string]any{"name": "coded", "watch": "failed", "scope": "queue"})
		require.Equal(t, http.StatusConflict, resp.StatusCode, body)
		require.Contains(t, body["detail"], "defined in a server's code")
		r, err := a.store.Rules.GetRule(context.Background(), "coded")
		require.NoError(t, err)
		require.Equal(t, models.ScopeKind, r.Scope, "unchanged")
	})
}
