package alerts_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/alerts"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// A channel is saved only when each of its fields can work; each bad field gets its message,
// and nothing is stored.
func TestSaveRefusesBadChannels(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		sender, err := alerts.NewSender(s.Channels, alerts.Config{Secrets: vault{"KEY": "k", "PW": "p"}})
		require.NoError(t, err)
		for _, tc := range []struct {
			name   string
			ch     models.Channel
			fields map[string]string // field -> part of its message
		}{
			{"no url", models.Channel{Name: "a", Type: models.ChannelSlack}, map[string]string{"url": "required"}},
			{"not http", models.Channel{Name: "a", Type: models.ChannelDiscord, Settings: models.ChannelSettings{URL: "ftp://x/y"}}, map[string]string{"url": "http://"}},
			{"unknown secret in url", models.Channel{Name: "a", Type: models.ChannelSlack, Settings: models.ChannelSettings{URL: "${secret:NOPE}"}}, map[string]string{"url": "no secret of that name"}},
			{"template does not parse", models.Channel{Name: "a", Type: models.ChannelWebhook, Settings: models.ChannelSettings{URL: "https://x", Template: `{"t": {{.Title}`}}, map[string]string{"template": "doesn't parse"}},
			{"template fails on a sample", models.Channel{Name: "a", Type: models.ChannelWebhook, Settings: models.ChannelSettings{URL: "https://x", Template: `{"first": {{(index .Jobs 0).ID}}}`}}, map[string]string{"template": "resolved"}},
			{"template writes no JSON", models.Channel{Name: "a", Type: models.ChannelWebhook, Settings: models.ChannelSettings{URL: "https://x", Template: `{"t": "{{.Summary}}`}}, map[string]string{"template": "not JSON"}},
			{"template names no field", models.Channel{Name: "a", Type: models.ChannelWebhook, Settings: models.ChannelSettings{URL: "https://x", Template: `{{.Nope}}`}}, map[string]string{"template": "Nope"}},
			{"signing key in clear", models.Channel{Name: "a", Type: models.ChannelWebhook, Settings: models.ChannelSettings{URL: "https://x", SigningSecret: "hunter2"}}, map[string]string{"signing_secret": "reference"}},
			{"email", models.Channel{Name: "bad name!", Type: models.ChannelEmail, Settings: models.ChannelSettings{SMTPHost: "smtp://x", SMTPPort: 70000,
				SMTPUser: "u", SMTPPassword: "plain", From: "nobody", To: []string{"x"}}},
				map[string]string{"name": "letters", "smtp_host": "host name", "smtp_port": "1 to 65535", "smtp_password": "reference", "from": "one email address", "to": "not an email address"}},
			{"login in plain text", models.Channel{Name: "a", Type: models.ChannelEmail, Settings: models.ChannelSettings{SMTPHost: "localhost", SMTPSecurity: "none",
				SMTPUser: "u", SMTPPassword: "${secret:PW}", From: "k@example.com", To: []string{"o@example.com"}}}, map[string]string{"smtp_security": "never in plain text"}},
			{"no recipient", models.Channel{Name: "a", Type: models.ChannelEmail, Settings: models.ChannelSettings{SMTPHost: "localhost", From: "k@example.com"}}, map[string]string{"to": "At least one"}},
			{"unknown type", models.Channel{Name: "a", Type: "pager"}, map[string]string{"type": "webhook, slack"}},
		} {
			ch := tc.ch
			_, err := sender.Save(ctx, &ch, true, "test")
			require.Equal(t, models.EINVALID, models.ErrorCode(err), tc.name)
			fields := models.FieldErrors(err)
			require.Len(t, fields, len(tc.fields), "%s: %v", tc.name, fields)
			for f, want := range tc.fields {
				require.Contains(t, fields[f], want, tc.name)
			}
		}
		list, err := s.Channels.ListChannels(ctx)
		require.NoError(t, err)
		require.Empty(t, list)

		// Good channels are saved, with defaults filled and what doesn't apply dropped.
		mail := models.Channel{Name: "mail", Type: models.ChannelEmail, Settings: models.ChannelSettings{URL: "https://dropped", SMTPHost: "smtp.example.com",
			SMTPUser: "u", SMTPPassword: "${secret:PW}", From: "k@example.com", To: []string{" o@example.com ", ""}}}
		_, err = sender.Save(ctx, &mail, true, "test")
		require.NoError(t, err)
		got, err := s.Channels.ChannelByName(ctx, "mail")
		require.NoError(t, err)
		require.Equal(t, models.ChannelSettings{SMTPHost: "smtp.example.com", SMTPPort: 587, SMTPSecurity: "starttls", SMTPUser: "u",
			SMTPPassword: "${secret:PW}", From: "k@example.com", To: []string{"o@example.com"}}, got.Settings)
		hook := models.Channel{Name: "hook", Type: models.ChannelWebhook, Settings: models.ChannelSettings{URL: "https://x/${secret:KEY}",
			SigningSecret: "${secret:KEY}", Template: `{"t": {{json .Title}}, "n": {{len .Jobs}}}`}}
		_, err = sender.Save(ctx, &hook, true, "test")
		require.NoError(t, err)
		slack := models.Channel{Name: "hook", Type: models.ChannelSlack, Settings: models.ChannelSettings{URL: "${secret:KEY}", Template: "dropped"}}
		_, err = sender.Save(ctx, &slack, false, "test")
		require.NoError(t, err)
		require.Equal(t, models.ChannelSettings{URL: "${secret:KEY}"}, slack.Settings)
	})
}

// "Send test" sends a sample message at once, linking to the channel's page under the public
// URL, and notes the outcome on the channel; its error is the service's answer.
func TestSendTest(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		rc := newReceiver(t, http.StatusOK, http.StatusNotFound)
		rc.answer = func(*http.Request) string { return "no_such_hook" }
		sender, err := alerts.NewSender(s.Channels, alerts.Config{PublicURL: "https://kiln.example.com/"})
		require.NoError(t, err)
		require.NoError(t, s.Channels.CreateChannel(ctx, &models.Channel{Name: "ops", Type: models.ChannelMattermost, Settings: models.ChannelSettings{URL: rc.URL}}))

		m, err := sender.SendTest(ctx, "ops")
		require.NoError(t, err)
		require.Equal(t, "https://kiln.example.com/dashboard/alerts/channels/ops", m.URL)
		body := string(rc.next(t).body)
		require.Contains(t, body, "Kiln test message for channel ops")
		require.Contains(t, body, `"title_link":"https://kiln.example.com/dashboard/alerts/channels/ops"`)
		ch, err := s.Channels.ChannelByName(ctx, "ops")
		require.NoError(t, err)
		require.WithinDuration(t, time.Now(), *ch.LastSentAt, time.Minute)

		_, err = sender.SendTest(ctx, "ops")
		require.ErrorContains(t, err, "mattermost answered 404 Not Found: no_such_hook")
		ch, err = s.Channels.ChannelByName(ctx, "ops")
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(ch.LastError, "mattermost answered 404"))

		_, err = sender.SendTest(ctx, "nope")
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))
	})
}

// --public-url must be an absolute http(s) URL that links can be made under.
func TestPublicURLIsChecked(t *testing.T) {
	for _, bad := range []string{"kiln.example.com", "ftp://kiln.example.com", "https://", "https://kiln.example.com/?x=1", "https://u:p@kiln.example.com"} {
		require.Error(t, alerts.Config{PublicURL: bad}.Validate(), bad)
	}
	for _, good := range []string{"https://kiln.example.com", "http://10.0.0.5:8080/kiln/"} {
		require.NoError(t, alerts.Config{PublicURL: good}.Validate(), good)
	}
	require.Equal(t, "http://10.0.0.5:8080/kiln/dashboard/jobs/1", alerts.Config{PublicURL: "http://10.0.0.5:8080/kiln/"}.Link("/dashboard/jobs/1"))
}
