package models

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Channel is where alerts' messages go: a webhook, a chat service's incoming webhook, or email.
// Its name is the one name rules, pages, the API and the CLI use. Secrets in its settings are
// ${secret:NAME} references, filled in when a message is sent; the row never holds a value.
type Channel struct {
	ID       int64 `gorm:"primaryKey"`
	Name     string
	Type     string          // one of ChannelTypes
	Settings ChannelSettings `gorm:"serializer:json"`
	// CreatedBy is who created it.
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
	// LastSentAt is when a message last went through; LastError, at LastErrorAt, why the last
	// one that failed did (secrets masked).
	LastSentAt  *time.Time
	LastError   string
	LastErrorAt *time.Time
}

// TableName names Channel's table.
func (Channel) TableName() string { return "alert_channels" }

// ChannelSettings are a channel's fields; which apply depends on its type (package alerts
// checks them). Field names are the form's and the API's.
type ChannelSettings struct {
	// URL is where a webhook or a preset posts (for ntfy, the topic's URL). It may hold
	// ${secret:NAME} references: a Slack or Discord webhook URL is itself a secret.
	URL string `json:"url,omitempty"`
	// Template, for a webhook, is a Go text/template of the body; empty: the message as JSON.
	Template string `json:"template,omitempty"`
	// SigningSecret, for a webhook, is a ${secret:NAME} reference to the HMAC-SHA256 key that
	// signs each body; empty: unsigned.
	SigningSecret string `json:"signing_secret,omitempty"`
	// The SMTP server of an email channel: host, port, security (ChannelSecurity*), and the
	// user and password (a ${secret:NAME} reference) to log in with, if any.
	SMTPHost     string `json:"smtp_host,omitempty"`
	SMTPPort     int    `json:"smtp_port,omitempty"`
	SMTPSecurity string `json:"smtp_security,omitempty"`
	SMTPUser     string `json:"smtp_user,omitempty"`
	SMTPPassword string `json:"smtp_password,omitempty"`
	// From and To are an email channel's sender and recipients.
	From string   `json:"from,omitempty"`
	To   []string `json:"to,omitempty"`
}

// The channel types.
const (
	ChannelWebhook    = "webhook"
	ChannelSlack      = "slack"
	ChannelMattermost = "mattermost"
	ChannelDiscord    = "discord"
	ChannelTeams      = "teams"
	ChannelNtfy       = "ntfy"
	ChannelEmail      = "email"
)

// ChannelTypes are the channel types, in the order forms list them.
var ChannelTypes = []string{ChannelWebhook, ChannelSlack, ChannelMattermost, ChannelDiscord, ChannelTeams, ChannelNtfy, ChannelEmail}

// The security of an email channel's connection to its SMTP server.
const (
	ChannelSecurityNone     = "none"     // plain text (a relay on this machine)
	ChannelSecuritySTARTTLS = "starttls" // upgraded with STARTTLS, refused without it (port 587)
	ChannelSecurityTLS      = "tls"      // TLS from the first byte (port 465)
)

// ChannelSecurities are the securities an email channel may have.
var ChannelSecurities = []string{ChannelSecurityNone, ChannelSecuritySTARTTLS, ChannelSecurityTLS}

// channelNameRE is what a channel's name may be: it stands in URLs and on command lines.
var channelNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// maxChannelError bounds the last error kept on a channel.
const maxChannelError = 1000

// CheckChannel checks what the store itself requires of a channel, its name and type, as it
// does before writing one. Package alerts checks each type's settings, and calls this too to
// report every field at once.
func CheckChannel(ch *Channel) error {
	fields := map[string]string{}
	switch {
	case !channelNameRE.MatchString(ch.Name):
		fields["name"] = "A channel's name is 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit."
	case ch.Name == "new":
		fields["name"] = `"new" names the page that makes a channel; choose another name.`
	}
	if !slices.Contains(ChannelTypes, ch.Type) {
		fields["type"] = "The type is one of " + strings.Join(ChannelTypes, ", ") + "."
	}
	if len(fields) > 0 {
		return &Error{Code: EINVALID, Message: "The channel was not saved.", Fields: fields}
	}
	return nil
}

// CreateChannel stores a new channel (its ID and times are set); a name taken already is an
// ECONFLICT error. The secrets given, sealed (a chat webhook's URL moved into the vault), are
// stored in the same transaction: both are written, or neither.
func (s channelStore) CreateChannel(ctx context.Context, ch *Channel, secrets ...SecretRow) error {
	if err := CheckChannel(ch); err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	ch.ID, ch.CreatedAt, ch.UpdatedAt, ch.CreatedBy = 0, now, now, headerText(ch.CreatedBy, 64)
	ch.LastSentAt, ch.LastError, ch.LastErrorAt = nil, "", nil
	return s.change(ctx, func(tx *gorm.DB) error {
		if err := putChannelSecrets(tx, ch.Name, secrets); err != nil {
			return err
		}
		noteChange(ctx, "channel "+ch.Name, channelChanges(nil, ch))
		err := insertNew(tx, ch, fmt.Sprintf("channel %q", ch.Name), &Error{Code: ECONFLICT, Message: "The channel was not created.",
			Fields: map[string]string{"name": fmt.Sprintf("There is already a channel named %q; edit it, or choose another name.", ch.Name)}})
		if err != nil {
			ch.ID = 0
		}
		return err
	})
}

// UpdateChannel replaces the type and settings of the channel named ch.Name, and reads it back
// into ch; a name with no channel is an ENOTFOUND error. Its history (last sent, last error)
// is kept. The secrets given are stored in the same transaction, as CreateChannel's.
func (s channelStore) UpdateChannel(ctx context.Context, ch *Channel, secrets ...SecretRow) error {
	if err := CheckChannel(ch); err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	return s.change(ctx, func(tx *gorm.DB) error {
		if old, err := s.channelByName(ctx, tx, ch.Name); err == nil {
			noteChange(ctx, "channel "+ch.Name, channelChanges(old, ch))
		}
		if err := putChannelSecrets(tx, ch.Name, secrets); err != nil {
			return err
		}
		// A struct, not a map, so that GORM writes Settings through its JSON serializer.
		res := tx.Model(&Channel{}).Where("name = ?", ch.Name).Select("type", "settings", "updated_at").
			Updates(&Channel{Type: ch.Type, Settings: ch.Settings, UpdatedAt: now})
		if res.Error != nil {
			return fmt.Errorf("models: update channel %q: %w", ch.Name, res.Error)
		}
		if res.RowsAffected == 0 {
			return Errorf(ENOTFOUND, "There is no channel named %q.", ch.Name)
		}
		got, err := s.channelByName(ctx, tx, ch.Name)
		if err != nil {
			return err
		}
		*ch = *got
		return nil
	})
}

// putChannelSecrets writes each sealed secret in tx, for the channel named channel alone: a
// secret another channel's URL is already that reference to is refused (ECONFLICT), not
// replaced under it. Read after the secret's write, whose row lock makes a concurrent save of
// the same name wait for this one, the check sees a channel that save committed meanwhile.
func putChannelSecrets(tx *gorm.DB, channel string, secrets []SecretRow) error {
	if len(secrets) == 0 {
		return nil
	}
	for _, sec := range secrets {
		if _, err := putSecret(tx, sec); err != nil {
			return err
		}
	}
	var others []Channel
	if err := tx.Select("name", "settings").Where("name <> ?", channel).Find(&others).Error; err != nil {
		return fmt.Errorf("models: channels' secrets: %w", err)
	}
	for _, sec := range secrets {
		for _, o := range others {
			if o.Settings.URL == "${secret:"+sec.Name+"}" {
				return &Error{Code: ECONFLICT, Message: "The channel was not saved.", Fields: map[string]string{
					"url": fmt.Sprintf("The channel %s keeps its URL in the secret %s; save again to keep this one's in its own.", o.Name, sec.Name)}}
			}
		}
	}
	return nil
}

// ChannelByName returns the named channel, or an ENOTFOUND error.
func (s channelStore) ChannelByName(ctx context.Context, name string) (*Channel, error) {
	return s.channelByName(ctx, s.rdb, name)
}

func (s channelStore) channelByName(ctx context.Context, db *gorm.DB, name string) (*Channel, error) {
	var ch Channel
	err := db.WithContext(ctx).Where("name = ?", name).Take(&ch).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENOTFOUND, "There is no channel named %q.", name)
	}
	if err != nil {
		return nil, fmt.Errorf("models: read channel %q: %w", name, err)
	}
	return &ch, nil
}

// ListChannels returns every channel by name.
func (s channelStore) ListChannels(ctx context.Context) ([]Channel, error) {
	var out []Channel
	if err := s.rdb.WithContext(ctx).Order("name").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: list channels: %w", err)
	}
	return out, nil
}

// DeleteChannel deletes the named channel; messages queued for it fail, saying it is gone.
func (s channelStore) DeleteChannel(ctx context.Context, name string) error {
	return s.changeRows(ctx, fmt.Sprintf("delete channel %q", name), Errorf(ENOTFOUND, "There is no channel named %q.", name),
		func(tx *gorm.DB) *gorm.DB { return tx.Where("name = ?", name).Delete(&Channel{}) })
}

// channelChanges are an audit entry's details of a channel made (old nil) or changed: its type
// before and after, and whether its settings changed, never what they are (a URL, a header may
// hold a secret).
func channelChanges(old, ch *Channel) map[string]any {
	out := auditDiff(old, ch, "Type")
	if old != nil && !reflect.DeepEqual(old.Settings, ch.Settings) {
		out["settings"] = "changed"
	}
	return out
}

// RecordChannelSend notes how sending a message on the named channel went at at: sent
// (sendErr empty) or failed with sendErr, which must have its secrets masked already. A
// channel deleted meanwhile is not an error: there is nothing left to note it on.
func (s channelStore) RecordChannelSend(ctx context.Context, name string, at time.Time, sendErr string) error {
	at = at.UTC().Truncate(time.Microsecond)
	set := map[string]any{"last_sent_at": at}
	if sendErr != "" {
		set = map[string]any{"last_error": truncate(strings.ToValidUTF8(sendErr, "\uFFFD"), maxChannelError), "last_error_at": at}
	}
	if err := s.db.WithContext(ctx).Model(&Channel{}).Where("name = ?", name).Updates(set).Error; err != nil {
		return fmt.Errorf("models: note channel %q's delivery: %w", name, err)
	}
	return nil
}
