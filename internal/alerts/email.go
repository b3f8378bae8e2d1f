package alerts

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html/template"

	"github.com/wneessen/go-mail"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
)

// emailHTML is an email's HTML part; html/template escapes every value, so a job's error
// can't inject markup into the mail.
var emailHTML = template.Must(template.New("email").Parse(`<!doctype html>
<html><body style="font-family: system-ui, sans-serif; line-height: 1.4">
<h2 style="color: {{.Color}}; font-size: 1.2em">{{.Title}}</h2>
{{if .Summary}}<p style="white-space: pre-wrap">{{.Summary}}</p>{{end}}
{{if .Jobs}}<ul>{{range .Jobs}}<li>{{if .URL}}<a href="{{.URL}}">job {{.ID}}</a>{{else}}job {{.ID}}{{end}} ({{.Kind}} on {{.Queue}}): {{.State}}{{if .Error}}: <code>{{.Error}}</code>{{end}}</li>{{end}}</ul>{{end}}
{{if gt .More 0}}<p>… and {{.More}} more</p>{{end}}
{{if .URL}}<p><a href="{{.URL}}">Open in Kiln</a></p>{{end}}
<p style="color: #666; font-size: 0.85em">Kiln · rule {{.Rule}} · {{.Status}}</p>
</body></html>
`))

// emailView is what emailHTML shows.
type emailView struct {
	Message
	Color string
	More  int
}

// emailBodies are m's plain text and HTML parts.
func emailBodies(m Message) (text, html string, err error) {
	v := emailView{Message: m, Color: fmt.Sprintf("#%06X", color(m))}
	if len(m.Jobs) > 0 {
		v.More = max(m.Count-len(m.Jobs), 0)
	}
	var b bytes.Buffer
	if err := emailHTML.Execute(&b, v); err != nil {
		return "", "", fmt.Errorf("the email's HTML: %w", err)
	}
	return plainText(m) + "\n\n-- \nKiln · rule " + m.Rule + " · " + string(m.Status) + "\n", b.String(), nil
}

// sendEmail sends m to an email channel's recipients through its SMTP server. The password
// is filled in from the vault for this send only.
func (s *Sender) sendEmail(ctx context.Context, rv *builtin.Revealer, ch *models.Channel, m Message) error {
	set := ch.Settings
	msg := mail.NewMsg()
	if err := msg.From(set.From); err != nil {
		return jobs.Permanent(fmt.Errorf("from %q: %v", set.From, err))
	}
	if err := msg.To(set.To...); err != nil {
		return jobs.Permanent(fmt.Errorf("to: %v", err))
	}
	msg.Subject(m.Title)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetUserAgent("Kiln (alerts)")
	text, html, err := emailBodies(m)
	if err != nil {
		return jobs.Permanent(err)
	}
	msg.SetBodyString(mail.TypeTextPlain, text)
	msg.AddAlternativeString(mail.TypeTextHTML, html)

	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.cfg.TLSConfig != nil {
		tlsConfig = s.cfg.TLSConfig.Clone()
	}
	tlsConfig.ServerName = set.SMTPHost
	opts := []mail.Option{mail.WithPort(set.SMTPPort), mail.WithTimeout(s.cfg.SendTimeout), mail.WithTLSConfig(tlsConfig)}
	switch set.SMTPSecurity {
	case models.ChannelSecurityTLS:
		opts = append(opts, mail.WithSSL())
	case models.ChannelSecuritySTARTTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if set.SMTPUser != "" {
		password, err := rv.Expand(set.SMTPPassword)
		if err != nil {
			return err
		}
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(set.SMTPUser), mail.WithPassword(password))
	}
	client, err := mail.NewClient(set.SMTPHost, opts...)
	if err != nil {
		return jobs.Permanent(fmt.Errorf("smtp %s:%d: %v", set.SMTPHost, set.SMTPPort, err))
	}
	jobs.Logf(ctx, "→ SMTP %s:%d (%s), to %d recipients", set.SMTPHost, set.SMTPPort, set.SMTPSecurity, len(set.To))
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		var se *mail.SendError
		if errors.As(err, &se) && !se.IsTemp() && (se.Reason == mail.ErrSMTPMailFrom || se.Reason == mail.ErrSMTPRcptTo) {
			// The server refuses the sender or a recipient for good (5xx): the same won't pass.
			return jobs.Permanent(fmt.Errorf("smtp %s:%d: %w", set.SMTPHost, set.SMTPPort, err))
		}
		return fmt.Errorf("smtp %s:%d: %w", set.SMTPHost, set.SMTPPort, err)
	}
	jobs.Logf(ctx, "← sent")
	return nil
}
