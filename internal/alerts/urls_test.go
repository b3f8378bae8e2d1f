package alerts_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/alerts"
	"github.com/kilnhq/kiln/internal/secrets"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// A URL shown to people who may not hold its credentials keeps where it goes and loses what
// may be a token: user info, query and fragment; a chat webhook's whole path.
func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ typ, url, want string }{
		{"webhook", "https://hooks.example.com/in", "https://hooks.example.com/in"},
		{"webhook", "https://user:pa55@hooks.example.com/in?token=t0k&x=1#frag", "https://…@hooks.example.com/in?…#…"},
		{"webhook", "https://hooks.example.com?token=t0k", "https://hooks.example.com?…"},
		{"webhook", "https://hooks.example.com/in#t0k", "https://hooks.example.com/in#…"},
		{"webhook", "https://a@b@hooks.example.com/", "https://…@hooks.example.com/"},
		{"webhook", "https://hooks.example.com/${secret:PATH}?k=${secret:KEY}", "https://hooks.example.com/${secret:PATH}?…"},
		{"ntfy", "https://ntfy.sh/ops?auth=t0k", "https://ntfy.sh/ops?…"},
		{"slack", "${secret:ALERT_CHANNEL_OPS_URL}", "${secret:ALERT_CHANNEL_OPS_URL}"},
		{"slack", "https://hooks.slack.com/services/T0/B0/t0k", "https://hooks.slack.com/…"},
		{"discord", "https://discord.com/api/webhooks/1/t0k?wait=true", "https://discord.com/…"},
		{"teams", "https://x.example.com", "https://x.example.com"},
		{"webhook", "not a url t0k", "…"},
		{"webhook", "", ""},
	} {
		require.Equal(t, tc.want, alerts.RedactURL(tc.typ, tc.url), tc.url)
	}
	require.Equal(t, `post to https://x.example.com/in?…: Post "https://x.example.com/in?…": dial tcp: refused`,
		alerts.RedactURLs("webhook", `post to https://x.example.com/in?token=t0k: Post "https://x.example.com/in?token=t0k": dial tcp: refused`))
}

// A Slack URL typed raw is moved into the vault under a name derived from the channel's, the
// channel keeps the reference and sends through it; a refused save writes neither the secret
// nor the channel.
func TestSaveMovesChatURLIntoVault(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		vault, err := secrets.Open(ctx, s, "")
		require.NoError(t, err)
		sender, err := alerts.NewSender(s.Channels, alerts.Config{Secrets: vault})
		require.NoError(t, err)
		rc := newReceiver(t)
		raw := rc.URL + "/services/T0/B0/sl4cktok3n"

		ch := models.Channel{Name: "ops.team", Type: models.ChannelSlack, Settings: models.ChannelSettings{URL: " " + raw + " "}, CreatedBy: "ada"}
		name, err := sender.Save(ctx, &ch, true, "ada")
		require.NoError(t, err)
		require.Equal(t, "ALERT_CHANNEL_OPS_TEAM_URL", name)
		got, err := s.Channels.ChannelByName(ctx, "ops.team")
		require.NoError(t, err)
		require.Equal(t, "${secret:ALERT_CHANNEL_OPS_TEAM_URL}", got.Settings.URL)
		value, err := vault.Reveal(ctx, name)
		require.NoError(t, err)
		require.Equal(t, raw, value)
		row, err := s.Secrets.SecretByName(ctx, name)
		require.NoError(t, err)
		require.NotContains(t, row.Sealed, "sl4cktok3n", "sealed at rest")
		require.Equal(t, "ada", row.UpdatedBy)

		_, err = sender.SendTest(ctx, "ops.team")
		require.NoError(t, err)
		require.Equal(t, "/services/T0/B0/sl4cktok3n", rc.next(t).path, "sent through the reference")

		// Another channel whose name maps to the same secret's gets its own.
		other := models.Channel{Name: "ops-team", Type: models.ChannelDiscord, Settings: models.ChannelSettings{URL: rc.URL + "/other"}}
		name, err = sender.Save(ctx, &other, true, "ada")
		require.NoError(t, err)
		require.Equal(t, "ALERT_CHANNEL_OPS_TEAM_2_URL", name)

		// An edit that keeps the reference keeps the secret; a new URL typed raw replaces its value.
		ch = models.Channel{Name: "ops.team", Type: models.ChannelSlack, Settings: models.ChannelSettings{URL: "${secret:ALERT_CHANNEL_OPS_TEAM_URL}"}}
		name, err = sender.Save(ctx, &ch, false, "bob")
		require.NoError(t, err)
		require.Empty(t, name)
		value, err = vault.Reveal(ctx, "ALERT_CHANNEL_OPS_TEAM_URL")
		require.NoError(t, err)
		require.Equal(t, raw, value)
		ch = models.Channel{Name: "ops.team", Type: models.ChannelSlack, Settings: models.ChannelSettings{URL: rc.URL + "/services/new"}}
		name, err = sender.Save(ctx, &ch, false, "bob")
		require.NoError(t, err)
		require.Equal(t, "ALERT_CHANNEL_OPS_TEAM_URL", name)
		value, err = vault.Reveal(ctx, name)
		require.NoError(t, err)
		require.Equal(t, rc.URL+"/services/new", value)

		// A URL that refers to a secret already, and a generic webhook's, stay as typed.
		hook := models.Channel{Name: "hook", Type: models.ChannelWebhook, Settings: models.ChannelSettings{URL: rc.URL + "/in?token=t0k"}}
		name, err = sender.Save(ctx, &hook, true, "ada")
		require.NoError(t, err)
		require.Empty(t, name)
		require.Equal(t, rc.URL+"/in?token=t0k", hook.Settings.URL)

		// Refused saves leave no secret behind: a bad name (checked first), a name taken and a
		// channel that isn't there (refused in the transaction that would have written it).
		before, err := vault.List(ctx)
		require.NoError(t, err)
		for _, tc := range []struct {
			ch     models.Channel
			create bool
			code   string
		}{
			{models.Channel{Name: "bad name!", Type: models.ChannelSlack, Settings: models.ChannelSettings{URL: rc.URL + "/refused"}}, true, models.EINVALID},
			{models.Channel{Name: "hook", Type: models.ChannelSlack, Settings: models.ChannelSettings{URL: rc.URL + "/refused"}}, true, models.ECONFLICT},
			{models.Channel{Name: "nope", Type: models.ChannelTeams, Settings: models.ChannelSettings{URL: rc.URL + "/refused"}}, false, models.ENOTFOUND},
		} {
			name, err := sender.Save(ctx, &tc.ch, tc.create, "ada")
			require.Equal(t, tc.code, models.ErrorCode(err), tc.ch.Name)
			require.Empty(t, name)
		}
		after, err := vault.List(ctx)
		require.NoError(t, err)
		require.Equal(t, before, after)
		_, err = vault.Reveal(ctx, "ALERT_CHANNEL_HOOK_URL")
		require.Error(t, err, "the conflict's secret was rolled back")

		// The longest channel name still makes a secret's name.
		long := models.Channel{Name: strings.Repeat("x", 64), Type: models.ChannelMattermost, Settings: models.ChannelSettings{URL: rc.URL + "/long"}}
		name, err = sender.Save(ctx, &long, true, "ada")
		require.NoError(t, err)
		require.True(t, models.ValidSecretName(name), name)
		require.True(t, strings.HasPrefix(name, "ALERT_CHANNEL_XXX") && strings.HasSuffix(name, "_URL"), name)

		// Without a vault to keep it, a raw chat webhook URL is refused, not stored.
		bare, err := alerts.NewSender(s.Channels, alerts.Config{})
		require.NoError(t, err)
		_, err = bare.Save(ctx, &models.Channel{Name: "bare", Type: models.ChannelSlack, Settings: models.ChannelSettings{URL: rc.URL + "/bare"}}, true, "ada")
		require.Contains(t, models.FieldErrors(err)["url"], "itself a secret")
	})
}

// A secret set by hand under the name a channel's URL would take is never replaced: the URL
// takes the next name. And a send's log and error never quote a URL's credentials.
func TestChatURLSecretLeavesOthersAlone(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		vault, err := secrets.Open(ctx, s, "")
		require.NoError(t, err)
		_, err = vault.Set(ctx, "ALERT_CHANNEL_OPS_URL", "used-by-a-job-header", "ada")
		require.NoError(t, err)
		sender, err := alerts.NewSender(s.Channels, alerts.Config{Secrets: vault})
		require.NoError(t, err)
		ch := models.Channel{Name: "ops", Type: models.ChannelSlack, Settings: models.ChannelSettings{URL: "https://hooks.slack.com/services/T0/B0/sl4cktok3n"}}
		name, err := sender.Save(ctx, &ch, true, "ada")
		require.NoError(t, err)
		require.Equal(t, "ALERT_CHANNEL_OPS_2_URL", name)
		kept, err := vault.Reveal(ctx, "ALERT_CHANNEL_OPS_URL")
		require.NoError(t, err)
		require.Equal(t, "used-by-a-job-header", kept)

		hook := models.Channel{Name: "hook", Type: models.ChannelWebhook, Settings: models.ChannelSettings{URL: "http://127.0.0.1:1/in?token=t0k3n"}}
		_, err = sender.Save(ctx, &hook, true, "ada")
		require.NoError(t, err)
		_, err = sender.SendTest(ctx, "hook")
		require.Error(t, err)
		require.NotContains(t, err.Error(), "t0k3n")
		require.Contains(t, err.Error(), "post to http://127.0.0.1:1/in?…")
	})
}
