package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/api"
	"github.com/kilnhq/kiln/internal/alerts"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// Alert channels through the API: admins create, change, test and delete them; viewers read
// them; bad fields are 422s naming where they are in the request.
func TestAPIChannels(t *testing.T) {
	forEachDialect(t, web.Config{Alerts: alerts.Config{PublicURL: "https://kiln.example.com"}}, func(t *testing.T, a *app) {
		admin, viewer := a.token("ops", models.RoleAdmin), a.token("grafana", models.RoleViewer)
		got := make(chan []byte, 10)
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			got <- b
			if strings.Contains(r.URL.Path, "broken") {
				http.Error(w, "no_service", http.StatusNotFound)
			}
		}))
		t.Cleanup(hook.Close)
		_, err := a.vault.Set(context.Background(), "HOOK_KEY", "k3y", "test")
		require.NoError(t, err)

		spec := map[string]any{"name": "ops-hook", "type": "webhook", "settings": map[string]any{"url": hook.URL + "/in", "signing_secret": "${secret:HOOK_KEY}"}}
		resp, body := a.apiCall("POST", "/api/v1/alerts/channels", admin, spec)
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		require.Equal(t, "ops-hook", body["name"])
		require.Equal(t, "token ops", body["created_by"])
		require.Equal(t, "${secret:HOOK_KEY}", body["settings"].(map[string]any)["signing_secret"])
		resp, body = a.apiCall("POST", "/api/v1/alerts/channels", admin, spec)
		require.Equal(t, http.StatusConflict, resp.StatusCode, body)

		resp, body = a.apiCall("POST", "/api/v1/alerts/channels", admin, map[string]any{"name": "bad", "type": "webhook",
			"settings": map[string]any{"url": "ftp://x", "template": "{{.Nope}}"}})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
		locations := map[string]bool{}
		for _, e := range body["errors"].([]any) {
			locations[e.(map[string]any)["location"].(string)] = true
		}
		require.Equal(t, map[string]bool{"body.settings.url": true, "body.settings.template": true}, locations)

		// Viewers read; the list and the channel show no secret's value.
		resp, body = a.apiCall("GET", "/api/v1/alerts/channels", viewer, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Len(t, body["channels"].([]any), 1)
		raw, _ := json.Marshal(body)
		require.NotContains(t, string(raw), "k3y")
		resp, _ = a.apiCall("GET", "/api/v1/alerts/channels/ops-hook", viewer, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		for _, call := range [][2]string{{"POST", "/api/v1/alerts/channels"}, {"PUT", "/api/v1/alerts/channels/ops-hook"},
			{"DELETE", "/api/v1/alerts/channels/ops-hook"}, {"POST", "/api/v1/alerts/channels/ops-hook/test"}} {
			resp, _ := a.apiCall(call[0], call[1], viewer, spec)
			require.Equal(t, http.StatusForbidden, resp.StatusCode, call)
		}

		// The test sends the sample message at once, and answers with it.
		resp, body = a.apiCall("POST", "/api/v1/alerts/channels/ops-hook/test", admin, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		msg := body["message"].(map[string]any)
		require.Equal(t, "https://kiln.example.com/dashboard/alerts/channels/ops-hook", msg["url"])
		var sent alerts.Message
		require.NoError(t, json.Unmarshal(<-got, &sent))
		require.Equal(t, msg["title"], sent.Title)

		// A change keeps the name; a refused test is a 502 saying why.
		resp, body = a.apiCall("PUT", "/api/v1/alerts/channels/ops-hook", admin, map[string]any{"type": "slack", "settings": map[string]any{"url": hook.URL + "/broken"}})
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Equal(t, "slack", body["type"])
		resp, body = a.apiCall("POST", "/api/v1/alerts/channels/ops-hook/test", admin, nil)
		require.Equal(t, http.StatusBadGateway, resp.StatusCode, body)
		require.Contains(t, body["detail"], "slack answered 404 Not Found: no_service")
		<-got
		resp, body = a.apiCall("GET", "/api/v1/alerts/channels/ops-hook", viewer, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, body["last_error"], "404")
		resp, body = a.apiCall("PUT", "/api/v1/alerts/channels/ops-hook", admin, map[string]any{"name": "other", "type": "slack", "settings": map[string]any{"url": hook.URL}})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
		resp, _ = a.apiCall("PUT", "/api/v1/alerts/channels/nope", admin, map[string]any{"type": "slack", "settings": map[string]any{"url": hook.URL}})
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
		resp, _ = a.apiCall("POST", "/api/v1/alerts/channels/nope/test", admin, nil)
		require.Equal(t, http.StatusNotFound, resp.StatusCode)

		resp, _ = a.apiCall("DELETE", "/api/v1/alerts/channels/ops-hook", admin, nil)
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		resp, _ = a.apiCall("DELETE", "/api/v1/alerts/channels/ops-hook", admin, nil)
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
}

// The API documents the message a webhook posts as api.AlertMessage: it has exactly the
// fields, JSON names and types of alerts.Message, so the document can't drift from the body.
func TestAlertMessageIsTheWebhookBody(t *testing.T) {
	jsonFields := func(typ reflect.Type) map[string]string {
		out := map[string]string{}
		for i := range typ.NumField() {
			f := typ.Field(i)
			kind := f.Type.Kind().String()
			if f.Type.Kind() == reflect.Slice {
				kind = "[]" + f.Type.Elem().Kind().String()
			}
			if f.Type.Kind() == reflect.Struct {
				kind = f.Type.String()
			}
			out[f.Tag.Get("json")] = kind
		}
		return out
	}
	require.Equal(t, jsonFields(reflect.TypeFor[alerts.Message]()), jsonFields(reflect.TypeFor[api.AlertMessage]()))
	require.Equal(t, jsonFields(reflect.TypeFor[alerts.JobRef]()), jsonFields(reflect.TypeFor[api.AlertJobRef]()))
}
