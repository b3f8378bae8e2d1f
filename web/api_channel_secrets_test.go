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

// Through the API as on the pages: a Slack URL posted raw is kept as a secret (the answer says
// so) and still sends; a viewer token never reads a token in a channel's URL; a refused save
// leaves no secret behind.
func TestAPIChannelURLSecrets(t *testing.T) {
	forEachDialect(t, web.Config{}, func(t *testing.T, a *app) {
		ctx := context.Background()
		admin, viewer := a.token("ops", models.RoleAdmin), a.token("grafana", models.RoleViewer)
		hook, paths := channelHook(t)
		require.NoError(t, a.store.Channels.CreateChannel(ctx, &models.Channel{Name: "legacy", Type: models.ChannelTeams,
			Settings: models.ChannelSettings{URL: "https://x.webhook.office.com/webhookb2/" + legacyToken}}))

		for _, tc := range []struct {
			method, path string
			spec         map[string]any
			status       int
		}{
			{"POST", "/api/v1/alerts/channels", map[string]any{"name": "bad name!", "type": "slack", "settings": map[string]any{"url": hook.URL + "/" + refusedToken}}, http.StatusUnprocessableEntity},
			{"POST", "/api/v1/alerts/channels", map[string]any{"name": "legacy", "type": "slack", "settings": map[string]any{"url": hook.URL + "/" + refusedToken}}, http.StatusConflict},
			{"PUT", "/api/v1/alerts/channels/nope", map[string]any{"type": "slack", "settings": map[string]any{"url": hook.URL + "/" + refusedToken}}, http.StatusNotFound},
		} {
			resp, body := a.apiCall(tc.method, tc.path, admin, tc.spec)
			require.Equal(t, tc.status, resp.StatusCode, body)
		}
		secrets, err := a.vault.List(ctx)
		require.NoError(t, err)
		require.Empty(t, secrets, "refused saves write no secret")

		resp, body := a.apiCall("POST", "/api/v1/alerts/channels", admin, map[string]any{"name": "ops-slack", "type": "slack",
			"settings": map[string]any{"url": hook.URL + "/services/T0/B0/" + slackToken}})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		require.Equal(t, "${secret:ALERT_CHANNEL_OPS_SLACK_URL}", body["settings"].(map[string]any)["url"])
		require.Equal(t, "The URL is kept as the secret ALERT_CHANNEL_OPS_SLACK_URL; it is not shown again.", body["notice"])
		value, err := a.vault.Reveal(ctx, "ALERT_CHANNEL_OPS_SLACK_URL")
		require.NoError(t, err)
		require.Equal(t, hook.URL+"/services/T0/B0/"+slackToken, value)
		resp, body = a.apiCall("POST", "/api/v1/alerts/channels/ops-slack/test", admin, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Equal(t, "/services/T0/B0/"+slackToken, <-paths)

		hookURL := "http://alerts:" + userToken + "@" + hook.Listener.Addr().String() + "/in?token=" + queryToken
		resp, body = a.apiCall("POST", "/api/v1/alerts/channels", admin, map[string]any{"name": "hook", "type": "webhook", "settings": map[string]any{"url": hookURL}})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		require.Nil(t, body["notice"])
		resp, body = a.apiCall("GET", "/api/v1/alerts/channels/hook", admin, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, hookURL, body["settings"].(map[string]any)["url"], "an admin token reads the URL typed")

		require.NoError(t, a.store.Channels.RecordChannelSend(ctx, "hook", time.Now(), `post to `+hookURL+`: Post "`+hookURL+`": refused`))
		resp, body = a.apiCall("GET", "/api/v1/alerts/channels", viewer, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Len(t, body["channels"].([]any), 3)
		bodies := []map[string]any{body}
		for _, name := range []string{"ops-slack", "hook", "legacy"} {
			resp, body := a.apiCall("GET", "/api/v1/alerts/channels/"+name, viewer, nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, name)
			bodies = append(bodies, body)
		}
		require.Equal(t, "http://…@"+hook.Listener.Addr().String()+"/in?…", bodies[2]["settings"].(map[string]any)["url"])
		require.Contains(t, bodies[2]["last_error"], "/in?…: Post")
		for _, b := range bodies {
			raw, err := json.Marshal(b)
			require.NoError(t, err)
			for _, secret := range []string{slackToken, queryToken, userToken, legacyToken} {
				require.NotContains(t, string(raw), secret)
			}
		}
	})
}
