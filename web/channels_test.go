package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/alerts"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// An admin makes a channel from the form of its type, sees bad fields come back next to the
// fields as typed, sends a test (sent, then refused with the service's answer, secrets
// masked), edits and deletes it; the list shows how its last messages went.
func TestChannelPages(t *testing.T) {
	a := setupWith(t, web.Config{LocalNoAuth: true, Alerts: alerts.Config{PublicURL: "https://kiln.example.com"}})
	ctx := context.Background()
	const secretURLPart = "T000/B000/XXXXsecretXXXX"
	_, err := a.vault.Set(ctx, "SLACK_PATH", secretURLPart, "test")
	require.NoError(t, err)
	got := make(chan string, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
		if strings.HasSuffix(r.URL.Path, "/gone") {
			http.Error(w, "no_service for "+r.URL.Path, http.StatusNotFound)
		}
	}))
	t.Cleanup(hook.Close)

	resp, doc := a.get("/dashboard/alerts/channels")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotEmpty(t, doc.Find(`[data-testid="empty"]`).Nodes)
	for _, typ := range models.ChannelTypes {
		require.NotEmpty(t, doc.Find(`[data-testid="new-`+typ+`"]`).Nodes, typ)
	}
	require.NotEmpty(t, doc.Find(`nav.subnav a[href="/dashboard/alerts"][aria-current="page"]`).Nodes, "under Alerts in the dashboard's navigation")
	require.NotEmpty(t, doc.Find(`a[href="/dashboard/alerts"]`).Not(`nav.subnav a`).Nodes, "a way back to the alerts")

	// Each type's form has its fields, and only those.
	_, doc = a.get("/dashboard/alerts/channels/new?type=email")
	for _, f := range []string{"name", "smtp_host", "smtp_port", "smtp_security", "smtp_user", "smtp_password", "from", "to"} {
		require.NotEmpty(t, doc.Find(`[name="`+f+`"]`).Nodes, f)
	}
	require.Empty(t, doc.Find(`[name="url"]`).Nodes)
	_, doc = a.get("/dashboard/alerts/channels/new?type=webhook")
	for _, f := range []string{"name", "url", "signing_secret", "template"} {
		require.NotEmpty(t, doc.Find(`[name="`+f+`"]`).Nodes, f)
	}
	_, doc = a.get("/dashboard/alerts/channels/new?type=slack")
	require.Empty(t, doc.Find(`[name="template"]`).Nodes, "a preset has no template")
	resp, _ = a.get("/dashboard/alerts/channels/new?type=pager")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	token := a.csrf("/dashboard/alerts/channels/new?type=webhook")
	resp, doc = a.post("/dashboard/alerts/channels/new", url.Values{"_csrf": {token}, "type": {"webhook"}, "name": {"ops"},
		"url": {"not a url"}, "template": {`{"t": {{.Title}`}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-url"]`).Text(), "absolute http://")
	require.Contains(t, doc.Find(`[data-testid="error-template"]`).Text(), "doesn't parse")
	typed, _ := doc.Find(`input[name="url"]`).Attr("value")
	require.Equal(t, "not a url", typed)
	require.Equal(t, `{"t": {{.Title}`, doc.Find(`textarea[name="template"]`).Text())

	// A port that is not a number refuses the whole form: nothing is written.
	resp, doc = a.post("/dashboard/alerts/channels/new", url.Values{"_csrf": {token}, "type": {"email"}, "name": {"mail"},
		"smtp_host": {"smtp.example.com"}, "smtp_port": {"five"}, "smtp_security": {"starttls"}, "from": {"kiln@example.com"}, "to": {"ops@example.com"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-smtp_port"]`).Text(), "The port is a number")
	_, err = a.store.Channels.ChannelByName(ctx, "mail")
	require.Equal(t, models.ENOTFOUND, models.ErrorCode(err), "not saved")

	resp, _ = a.post("/dashboard/alerts/channels/new", url.Values{"_csrf": {token}, "type": {"slack"}, "name": {"ops"},
		"url": {hook.URL + "/${secret:SLACK_PATH}"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/dashboard/alerts/channels/ops", resp.Header.Get("Location"))
	ch, err := a.store.Channels.ChannelByName(ctx, "ops")
	require.NoError(t, err)
	require.Equal(t, "local", ch.CreatedBy)

	resp, _ = a.post("/dashboard/alerts/channels/ops/test", url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Contains(t, <-got, "Kiln test message for channel ops")
	_, doc = a.get("/dashboard/alerts/channels/ops")
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), "Test message sent on ops")
	require.NotContains(t, doc.Find(`[data-testid="last-sent"]`).Text(), "never")

	// A refused test shows the service's answer, with the secret in the URL masked.
	resp, _ = a.post("/dashboard/alerts/channels/ops", url.Values{"_csrf": {token}, "type": {"slack"}, "url": {hook.URL + "/${secret:SLACK_PATH}/gone"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, doc = a.post("/dashboard/alerts/channels/ops/test", url.Values{"_csrf": {token}})
	<-got
	require.Equal(t, http.StatusBadGateway, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="test-error"]`).Text(), "slack answered 404 Not Found: no_service for /${secret:SLACK_PATH}/gone")
	html, _ := doc.Html()
	require.NotContains(t, html, secretURLPart)
	_, doc = a.get("/dashboard/alerts/channels")
	row := doc.Find(`[data-testid="channel-row"][data-name="ops"]`)
	require.Contains(t, row.Text(), "Slack")
	require.Contains(t, row.Find(`[data-testid="last-error"]`).Text(), "failing")
	require.Contains(t, row.Find(`[data-testid="last-error"]`).Text(), "404 Not Found")
	html, _ = doc.Html()
	require.NotContains(t, html, secretURLPart)

	// An edit refused keeps the page's history and the fields as typed.
	resp, doc = a.post("/dashboard/alerts/channels/ops", url.Values{"_csrf": {token}, "type": {"slack"}, "url": {"${secret:NOPE}"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-url"]`).Text(), "no secret of that name")
	require.Contains(t, doc.Find(`[data-testid="last-error"]`).Text(), "404")

	resp, _ = a.post("/dashboard/alerts/channels/ops/delete", url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, _ = a.get("/dashboard/alerts/channels/ops")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = a.post("/dashboard/alerts/channels/new", url.Values{"type": {"slack"}, "name": {"x"}, "url": {hook.URL}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "no CSRF token, no channel")
}

// Viewers read the channels, their settings in a form they can't send, and change nothing.
func TestChannelPagesViewersRead(t *testing.T) {
	a := setupWith(t, web.Config{})
	require.NoError(t, a.store.Channels.CreateChannel(context.Background(), &models.Channel{Name: "ops", Type: models.ChannelWebhook,
		Settings: models.ChannelSettings{URL: "https://hooks.example.com/in", SigningSecret: "${secret:K}"}}))
	a.addUser("val", models.RoleViewer)
	a.login("val", password)
	resp, doc := a.get("/dashboard/alerts/channels")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="channel-row"]`).Text(), "https://hooks.example.com/in")
	require.Empty(t, doc.Find(`[data-testid="new-channel"]`).Nodes)
	resp, doc = a.get("/dashboard/alerts/channels/ops")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	_, disabled := doc.Find(`[data-testid="channel-form"] fieldset`).Attr("disabled")
	require.True(t, disabled)
	signing, _ := doc.Find(`input[name="signing_secret"]`).Attr("value")
	require.Equal(t, "${secret:K}", signing)
	require.Empty(t, doc.Find(`[data-testid="send-test"]`).Nodes)
	resp, _ = a.get("/dashboard/alerts/channels/new?type=slack")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	token := a.csrf("/dashboard")
	for _, path := range []string{"/dashboard/alerts/channels/new", "/dashboard/alerts/channels/ops", "/dashboard/alerts/channels/ops/test", "/dashboard/alerts/channels/ops/delete"} {
		resp, _ := a.post(path, url.Values{"_csrf": {token}, "type": {"slack"}, "name": {"x"}, "url": {"https://x"}})
		require.Equal(t, http.StatusForbidden, resp.StatusCode, path)
	}
	ch, err := a.store.Channels.ChannelByName(context.Background(), "ops")
	require.NoError(t, err)
	require.Equal(t, models.ChannelWebhook, ch.Type, "unchanged")
}
