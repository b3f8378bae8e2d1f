package models_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// A channel is created once by name, read back with its settings, changed without losing its
// history, noted as sent or failed, and deleted; bad names, types and taken names are refused
// with a message for the field.
func TestChannels(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		ch := &models.Channel{Name: "ops-slack", Type: models.ChannelSlack, CreatedBy: "ada",
			Settings: models.ChannelSettings{URL: "${secret:SLACK_URL}"}}
		require.NoError(t, s.Channels.CreateChannel(ctx, ch))
		require.NotZero(t, ch.ID)

		dup := &models.Channel{Name: "ops-slack", Type: models.ChannelWebhook, Settings: models.ChannelSettings{URL: "https://example.com"}}
		err := s.Channels.CreateChannel(ctx, dup)
		require.Equal(t, models.ECONFLICT, models.ErrorCode(err))
		require.Contains(t, models.FieldErrors(err)["name"], "already a channel")

		err = s.Channels.CreateChannel(ctx, &models.Channel{Name: "new", Type: models.ChannelSlack})
		require.Contains(t, models.FieldErrors(err)["name"], "page that makes a channel")
		err = s.Channels.CreateChannel(ctx, &models.Channel{Name: "../x", Type: "pager"})
		require.Equal(t, models.EINVALID, models.ErrorCode(err))
		require.Contains(t, models.FieldErrors(err), "name")
		require.Contains(t, models.FieldErrors(err)["type"], "webhook, slack")

		email := &models.Channel{Name: "oncall-mail", Type: models.ChannelEmail, Settings: models.ChannelSettings{
			SMTPHost: "smtp.example.com", SMTPPort: 587, SMTPSecurity: models.ChannelSecuritySTARTTLS,
			SMTPUser: "kiln", SMTPPassword: "${secret:SMTP_PASSWORD}", From: "kiln@example.com", To: []string{"a@example.com", "b@example.com"}}}
		require.NoError(t, s.Channels.CreateChannel(ctx, email))

		got, err := s.Channels.ChannelByName(ctx, "oncall-mail")
		require.NoError(t, err)
		require.Equal(t, email.Settings, got.Settings)
		require.Equal(t, models.ChannelEmail, got.Type)

		list, err := s.Channels.ListChannels(ctx)
		require.NoError(t, err)
		require.Len(t, list, 2)
		require.Equal(t, "oncall-mail", list[0].Name, "by name")

		// Deliveries are noted; a failure keeps the time of the last success.
		sent := time.Now().Add(-time.Minute)
		require.NoError(t, s.Channels.RecordChannelSend(ctx, "ops-slack", sent, ""))
		require.NoError(t, s.Channels.RecordChannelSend(ctx, "ops-slack", sent.Add(30*time.Second), "503 Service Unavailable: "+strings.Repeat("x", 5000)))
		got, err = s.Channels.ChannelByName(ctx, "ops-slack")
		require.NoError(t, err)
		require.NotNil(t, got.LastSentAt)
		require.WithinDuration(t, sent, *got.LastSentAt, time.Millisecond)
		require.NotNil(t, got.LastErrorAt)
		require.True(t, got.LastErrorAt.After(*got.LastSentAt))
		require.True(t, strings.HasPrefix(got.LastError, "503 Service Unavailable"))
		require.LessOrEqual(t, len(got.LastError), 1000, "the last error is bounded")
		require.NoError(t, s.Channels.RecordChannelSend(ctx, "gone", sent, "x"), "a channel deleted meanwhile: nothing to note")

		// An edit changes the type and settings, and keeps the history and the creator.
		edit := &models.Channel{Name: "ops-slack", Type: models.ChannelMattermost, Settings: models.ChannelSettings{URL: "https://mm.example.com/hooks/abc"}}
		require.NoError(t, s.Channels.UpdateChannel(ctx, edit))
		require.Equal(t, models.ChannelMattermost, edit.Type)
		require.Equal(t, "https://mm.example.com/hooks/abc", edit.Settings.URL)
		require.Equal(t, "ada", edit.CreatedBy)
		require.NotNil(t, edit.LastSentAt)
		require.True(t, strings.HasPrefix(edit.LastError, "503"))
		err = s.Channels.UpdateChannel(ctx, &models.Channel{Name: "nope", Type: models.ChannelWebhook})
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))

		require.NoError(t, s.Channels.DeleteChannel(ctx, "ops-slack"))
		_, err = s.Channels.ChannelByName(ctx, "ops-slack")
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))
		var me *models.Error
		require.True(t, errors.As(s.Channels.DeleteChannel(ctx, "ops-slack"), &me))
		require.Equal(t, models.ENOTFOUND, me.Code)
	})
}

// A sealed secret is written with its channel or not at all, and never replaces the secret
// another channel's URL refers to.
func TestChannelSecrets(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		sealed := func(name, v string) models.SecretRow {
			return models.SecretRow{Name: name, Sealed: v, UpdatedBy: "ada"}
		}
		ops := &models.Channel{Name: "ops", Type: models.ChannelSlack, Settings: models.ChannelSettings{URL: "${secret:ALERT_CHANNEL_OPS_URL}"}}
		require.NoError(t, s.Channels.CreateChannel(ctx, ops, sealed("ALERT_CHANNEL_OPS_URL", "v1:first")))
		row, err := s.Secrets.SecretByName(ctx, "ALERT_CHANNEL_OPS_URL")
		require.NoError(t, err)
		require.Equal(t, "v1:first", row.Sealed)
		require.Equal(t, "ada", row.UpdatedBy)

		// Refused in the transaction: the secret's write is undone with the channel's.
		err = s.Channels.CreateChannel(ctx, &models.Channel{Name: "ops", Type: models.ChannelSlack}, sealed("ALERT_CHANNEL_OTHER_URL", "v1:x"))
		require.Equal(t, models.ECONFLICT, models.ErrorCode(err))
		err = s.Channels.UpdateChannel(ctx, &models.Channel{Name: "nope", Type: models.ChannelSlack}, sealed("ALERT_CHANNEL_OTHER_URL", "v1:x"))
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))
		_, err = s.Secrets.SecretByName(ctx, "ALERT_CHANNEL_OTHER_URL")
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(err), "rolled back")

		// Another channel can't take over ops's secret (two saves racing for one name).
		err = s.Channels.CreateChannel(ctx, &models.Channel{Name: "ops.x", Type: models.ChannelSlack, Settings: models.ChannelSettings{URL: "${secret:ALERT_CHANNEL_OPS_URL}"}},
			sealed("ALERT_CHANNEL_OPS_URL", "v1:second"))
		require.Equal(t, models.ECONFLICT, models.ErrorCode(err))
		require.Contains(t, models.FieldErrors(err)["url"], "The channel ops keeps its URL in the secret ALERT_CHANNEL_OPS_URL")
		row, err = s.Secrets.SecretByName(ctx, "ALERT_CHANNEL_OPS_URL")
		require.NoError(t, err)
		require.Equal(t, "v1:first", row.Sealed)

		// ops itself replaces its own.
		require.NoError(t, s.Channels.UpdateChannel(ctx, ops, sealed("ALERT_CHANNEL_OPS_URL", "v1:third")))
		row, err = s.Secrets.SecretByName(ctx, "ALERT_CHANNEL_OPS_URL")
		require.NoError(t, err)
		require.Equal(t, "v1:third", row.Sealed)
	})
}
