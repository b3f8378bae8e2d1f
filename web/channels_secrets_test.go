package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// The tokens the channels' URLs carry in these tests: none may reach a viewer.
const (
	slackToken   = "sl4ckT0KEN"
	queryToken   = "qu3ryT0KEN"
	userToken    = "us3rT0KEN"
	legacyToken  = "l3gacyT0KEN"
	refusedToken = "r3fusedT0KEN"
)

// channelHook is a local webhook receiver: the paths it was posted to.
func channelHook(t *testing.T) (*httptest.Server, chan string) {
	t.Helper()
	paths := make(chan string, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { paths <- r.URL.Path }))
	t.Cleanup(hook.Close)
	return hook, paths
}

// A Slack URL pasted in the form is kept as a secret, never shown again, and still sends; a
// webhook URL's user and query are hidden from viewers, and from everyone on the list; a
// refused save leaves no secret behind.
func TestChannelURLSecretsOnPages(t *testing.T) {
	a := setupWith(t, web.Config{})
	ctx := context.Background()
	a.addUser("ada", models.RoleAdmin)
	a.addUser("val", models.RoleViewer)
	hook, paths := channelHook(t)
	require.Equal(t, http.StatusSeeOther, a.login("ada", password).StatusCode)
	// A row saved raw before URLs were moved into the vault.
	require.NoError(t, a.store.Channels.CreateChannel(ctx, &models.Channel{Name: "legacy", Type: models.ChannelDiscord,
		Settings: models.ChannelSettings{URL: "https://discord.com/api/webhooks/1/" + legacyToken}}))

	token := a.csrf("/dashboard/alerts/channels/new?type=slack")
	resp, doc := a.post("/dashboard/alerts/channels/new", url.Values{"_csrf": {token}, "type": {"slack"}, "name": {"bad name!"},
		"url": {hook.URL + "/services/" + refusedToken}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.NotEmpty(t, doc.Find(`[data-testid="error-name"]`).Nodes)
	secrets, err := a.vault.List(ctx)
	require.NoError(t, err)
	require.Empty(t, secrets, "a refused save writes no secret")

	resp, _ = a.post("/dashboard/alerts/channels/new", url.Values{"_csrf": {token}, "type": {"slack"}, "name": {"ops-slack"},
		"url": {hook.URL + "/services/T0/B0/" + slackToken}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	ch, err := a.store.Channels.ChannelByName(ctx, "ops-slack")
	require.NoError(t, err)
	require.Equal(t, "${secret:ALERT_CHANNEL_OPS_SLACK_URL}", ch.Settings.URL)
	value, err := a.vault.Reveal(ctx, "ALERT_CHANNEL_OPS_SLACK_URL")
	require.NoError(t, err)
	require.Equal(t, hook.URL+"/services/T0/B0/"+slackToken, value)
	_, doc = a.get("/dashboard/alerts/channels/ops-slack")
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), "The URL is kept as the secret ALERT_CHANNEL_OPS_SLACK_URL; it is not shown again.")
	typed, _ := doc.Find(`input[name="url"]`).Attr("value")
	require.Equal(t, "${secret:ALERT_CHANNEL_OPS_SLACK_URL}", typed, "the admin's form holds the reference")

	// Saved again as the form shows it, the reference is kept; the test goes through it.
	resp, _ = a.post("/dashboard/alerts/channels/ops-slack", url.Values{"_csrf": {token}, "type": {"slack"}, "url": {typed}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, doc = a.get("/dashboard/alerts/channels/ops-slack")
	require.NotContains(t, doc.Find(`[data-testid="flash"]`).Text(), "kept as the secret")
	resp, _ = a.post("/dashboard/alerts/channels/ops-slack/test", url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/services/T0/B0/"+slackToken, <-paths)

	hookURL := "http://alerts:" + userToken + "@" + hook.Listener.Addr().String() + "/in?token=" + queryToken
	resp, _ = a.post("/dashboard/alerts/channels/new", url.Values{"_csrf": {token}, "type": {"webhook"}, "name": {"hook"}, "url": {hookURL}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, doc = a.get("/dashboard/alerts/channels/hook")
	typed, _ = doc.Find(`input[name="url"]`).Attr("value")
	require.Equal(t, hookURL, typed, "the admin sees the URL typed on the form")
	_, doc = a.get("/dashboard/alerts/channels")
	html, _ := doc.Html()
	for _, secret := range []string{slackToken, queryToken, userToken, legacyToken} {
		require.NotContains(t, html, secret, "the list redacts for everyone")
	}
	require.Contains(t, doc.Find(`[data-testid="channel-row"][data-name="hook"]`).Text(), "/in?…")

	// Viewers see no token on the list nor on any channel's page, its last error's included.
	require.NoError(t, a.store.Channels.RecordChannelSend(ctx, "hook", time.Now(), `post to `+hookURL+`: Post "`+hookURL+`": refused`))
	a.client = newClient(t)
	require.Equal(t, http.StatusSeeOther, a.login("val", password).StatusCode)
	for _, path := range []string{"/dashboard/alerts/channels", "/dashboard/alerts/channels/ops-slack", "/dashboard/alerts/channels/hook", "/dashboard/alerts/channels/legacy"} {
		resp, doc := a.get(path)
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		html, _ := doc.Html()
		for _, secret := range []string{slackToken, queryToken, userToken, legacyToken} {
			require.NotContains(t, html, secret, path)
		}
	}
	_, doc = a.get("/dashboard/alerts/channels/hook")
	shown, _ := doc.Find(`input[name="url"]`).Attr("value")
	require.Equal(t, "http://…@"+hook.Listener.Addr().String()+"/in?…", shown)
}
