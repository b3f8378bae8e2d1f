package alerts

import (
	"context"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
)

// maxRecipients bounds an email channel's recipients: a list belongs in a mailing list.
const maxRecipients = 20

// secretOnlyRE is a setting that must be a secret reference and nothing else.
var secretOnlyRE = regexp.MustCompile(`^\$\{secret:[A-Za-z0-9_.-]+\}$`)

// Save checks ch's settings for its type and stores it: created new, or replacing the
// settings of the channel of its name. Settings that don't apply to the type are dropped. Bad
// input is an EINVALID error with a message per field (the form's and the API's names), and
// nothing is written. A chat webhook's URL typed raw is itself a credential: it is moved
// into the vault, as the secret urlSecret names (by set it), and ch keeps the reference; the
// secret and the channel are written in one transaction.
func (s *Sender) Save(ctx context.Context, ch *models.Channel, create bool, by string) (urlSecret string, err error) {
	if err := s.Check(ctx, ch); err != nil {
		return "", err
	}
	var secrets []models.SecretRow
	if movesURL(ch) {
		row, err := s.sealURL(ctx, ch, by)
		if err != nil {
			return "", err
		}
		secrets, urlSecret = append(secrets, row), row.Name
	}
	if create {
		err = s.store.CreateChannel(ctx, ch, secrets...)
	} else {
		err = s.store.UpdateChannel(ctx, ch, secrets...)
	}
	if err != nil {
		return "", err
	}
	return urlSecret, nil
}

// Check normalises ch's settings for its type (defaults filled, what doesn't apply dropped)
// and reports every field that can't work, as an EINVALID error.
func (s *Sender) Check(ctx context.Context, ch *models.Channel) error {
	fields := models.FieldErrors(models.CheckChannel(ch))
	if fields == nil {
		fields = map[string]string{}
	}
	set := &ch.Settings
	if ch.Type == models.ChannelEmail {
		*set = models.ChannelSettings{SMTPHost: strings.TrimSpace(set.SMTPHost), SMTPPort: set.SMTPPort, SMTPSecurity: set.SMTPSecurity,
			SMTPUser: strings.TrimSpace(set.SMTPUser), SMTPPassword: strings.TrimSpace(set.SMTPPassword), From: strings.TrimSpace(set.From), To: set.To}
		s.checkEmail(ctx, set, fields)
	} else if slices.Contains(models.ChannelTypes, ch.Type) {
		keep := models.ChannelSettings{URL: strings.TrimSpace(set.URL)}
		if ch.Type == models.ChannelWebhook {
			keep.Template, keep.SigningSecret = set.Template, strings.TrimSpace(set.SigningSecret)
		}
		*set = keep
		s.checkWebhook(ctx, ch.Type, set, fields)
	}
	if len(fields) > 0 {
		return &models.Error{Code: models.EINVALID, Message: "The channel was not saved.", Fields: fields}
	}
	return nil
}

// checkRefs notes in fields[field] a reference in v to a secret the vault doesn't have.
func (s *Sender) checkRefs(ctx context.Context, fields map[string]string, field, v string) {
	if _, bad := fields[field]; bad {
		return
	}
	if err := builtin.CheckSecretRefs(ctx, s.cfg.Secrets, field, v); err != nil {
		fields[field] = upperFirst(err.Error()) + "."
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// checkWebhook checks the URL of a webhook-type channel, and a webhook's template and
// signing secret.
func (s *Sender) checkWebhook(ctx context.Context, typ string, set *models.ChannelSettings, fields map[string]string) {
	switch {
	case set.URL == "":
		fields["url"] = "The URL is required: the " + typ + " webhook's address."
	case strings.HasPrefix(set.URL, "${secret:"):
		// The whole URL is a secret (Slack's and Discord's are): checked when it is sent.
	default:
		u, err := url.Parse(set.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fields["url"] = "The URL must be an absolute http:// or https:// URL, or a ${secret:NAME} holding one."
		}
	}
	s.checkRefs(ctx, fields, "url", set.URL)
	if set.SigningSecret != "" {
		if !secretOnlyRE.MatchString(set.SigningSecret) {
			fields["signing_secret"] = "The signing secret is a reference to a saved secret, ${secret:NAME}, never the key itself."
		}
		s.checkRefs(ctx, fields, "signing_secret", set.SigningSecret)
	}
	if set.Template != "" {
		if _, err := parseTemplate(set.Template); err != nil {
			fields["template"] = "The template doesn't parse: " + strings.TrimPrefix(err.Error(), "template: ")
			return
		}
		for _, m := range s.cfg.templateSamples(s.now()) {
			if _, err := renderWebhook(set.Template, m); err != nil {
				fields["template"] = fmt.Sprintf("On a sample %s message, %s.", m.Status, strings.TrimPrefix(err.Error(), "the body template: "))
				return
			}
		}
	}
}

// checkEmail checks an email channel's server, login and addresses, filling in the default
// security (STARTTLS) and the port of the security.
func (s *Sender) checkEmail(ctx context.Context, set *models.ChannelSettings, fields map[string]string) {
	if set.SMTPSecurity == "" {
		set.SMTPSecurity = models.ChannelSecuritySTARTTLS
	}
	if !slices.Contains(models.ChannelSecurities, set.SMTPSecurity) {
		fields["smtp_security"] = "The security is one of " + strings.Join(models.ChannelSecurities, ", ") + "."
	}
	if set.SMTPPort == 0 {
		set.SMTPPort = map[string]int{models.ChannelSecurityNone: 25, models.ChannelSecuritySTARTTLS: 587, models.ChannelSecurityTLS: 465}[set.SMTPSecurity]
	}
	if set.SMTPPort < 1 || set.SMTPPort > 65535 {
		fields["smtp_port"] = "The port is a number from 1 to 65535 (587 for STARTTLS, 465 for TLS, 25 for none)."
	}
	if set.SMTPHost == "" || strings.ContainsAny(set.SMTPHost, " /:@") && net.ParseIP(set.SMTPHost) == nil {
		fields["smtp_host"] = "The SMTP server's host name (smtp.example.com), without a scheme or port."
	}
	switch {
	case set.SMTPUser == "" && set.SMTPPassword != "":
		fields["smtp_user"] = "A password needs the user it logs in as."
	case set.SMTPUser != "" && !secretOnlyRE.MatchString(set.SMTPPassword):
		fields["smtp_password"] = "The password is a reference to a saved secret, ${secret:NAME}, never the password itself."
	case set.SMTPUser != "" && set.SMTPSecurity == models.ChannelSecurityNone:
		fields["smtp_security"] = "A login is sent only over STARTTLS or TLS, never in plain text."
	}
	if set.SMTPPassword != "" {
		s.checkRefs(ctx, fields, "smtp_password", set.SMTPPassword)
	}
	if _, err := mail.ParseAddress(set.From); err != nil {
		fields["from"] = "The sender is one email address (kiln@example.com or Kiln <kiln@example.com>)."
	}
	var to []string
	for _, a := range set.To {
		if a = strings.TrimSpace(a); a != "" {
			to = append(to, a)
		}
	}
	set.To = to
	switch {
	case len(to) == 0:
		fields["to"] = "At least one recipient."
	case len(to) > maxRecipients:
		fields["to"] = fmt.Sprintf("At most %d recipients; use a mailing list for more.", maxRecipients)
	}
	for _, a := range to {
		if _, err := mail.ParseAddress(a); err != nil {
			fields["to"] = fmt.Sprintf("%q is not an email address.", a)
			break
		}
	}
}
