package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/internal/alerts"
	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/views/components"
	"github.com/kilnhq/kiln/views/layout"
	"github.com/kilnhq/kiln/views/pages"
)

// The alert channels' pages: everyone reads them (settings hold secret references, never
// values); admins create, change, test and delete channels (authz.ChannelsEdit), as they do
// secrets and tokens.

// channelTypes names each channel type for people, with what it is for.
var channelTypes = map[string]pages.ChannelType{
	models.ChannelWebhook:    {Label: "Webhook", Note: "POST JSON to any URL: the message, or your template; optionally signed."},
	models.ChannelSlack:      {Label: "Slack", Note: "An incoming webhook of a Slack app."},
	models.ChannelMattermost: {Label: "Mattermost", Note: "An incoming webhook."},
	models.ChannelDiscord:    {Label: "Discord", Note: "A channel's webhook."},
	models.ChannelTeams:      {Label: "Microsoft Teams", Note: "A workflow's or incoming webhook's URL; an Adaptive Card."},
	models.ChannelNtfy:       {Label: "ntfy", Note: "A topic on ntfy.sh or your own server: push notifications."},
	models.ChannelEmail:      {Label: "Email", Note: "Through an SMTP server, plain text and HTML."},
}

func channelTypeLabel(typ string) string {
	if t, ok := channelTypes[typ]; ok {
		return t.Label
	}
	return typ
}

// channelSecurities are the email form's choices of security.
var channelSecurities = []components.Option{
	{Value: models.ChannelSecuritySTARTTLS, Label: "STARTTLS (port 587)"},
	{Value: models.ChannelSecurityTLS, Label: "TLS (port 465)"},
	{Value: models.ChannelSecurityNone, Label: "None (a relay on this machine; no login)"},
}

// handleChannels lists the channels.
func (s *Server) handleChannels(c echo.Context) error {
	list, err := s.store.Channels.ListChannels(c.Request().Context())
	if err != nil {
		return err
	}
	v := pages.ChannelsView{Layout: s.layoutProps(c, "Alert channels", layout.SectionJobs)}
	for _, typ := range models.ChannelTypes {
		t := channelTypes[typ]
		t.Value = typ
		v.Types = append(v.Types, t)
	}
	for i := range list {
		ch := &list[i]
		// Redacted for admins too: a list is read over shoulders and on shared screens.
		r := pages.ChannelRow{Name: ch.Name, TypeLabel: channelTypeLabel(ch.Type), Target: alerts.RedactURL(ch.Type, ch.Settings.URL),
			LastError: alerts.RedactURLs(ch.Type, ch.LastError)}
		if ch.Type == models.ChannelEmail {
			r.Target = strings.Join(ch.Settings.To, ", ")
		}
		r.LastSent, r.LastErrorAt = s.momentPtr(c, ch), nil
		if ch.LastErrorAt != nil {
			m := s.moment(c, *ch.LastErrorAt)
			r.LastErrorAt = &m
			r.Failing = ch.LastSentAt == nil || ch.LastErrorAt.After(*ch.LastSentAt)
		}
		v.Rows = append(v.Rows, r)
	}
	return render(c, http.StatusOK, pages.ChannelsPage(v))
}

// momentPtr is when ch last sent, or nil.
func (s *Server) momentPtr(c echo.Context, ch *models.Channel) *components.Moment {
	if ch.LastSentAt == nil {
		return nil
	}
	m := s.moment(c, *ch.LastSentAt)
	return &m
}

// handleChannelNew is the form of a new channel of the type asked for.
func (s *Server) handleChannelNew(c echo.Context) error {
	typ := c.QueryParam("type")
	if !slices.Contains(models.ChannelTypes, typ) {
		return echo.NewHTTPError(http.StatusNotFound, "Choose a type of channel on the channels page.")
	}
	values := map[string]string{}
	if typ == models.ChannelEmail {
		values["smtp_security"] = models.ChannelSecuritySTARTTLS
	}
	return s.renderChannelForm(c, http.StatusOK, &models.Channel{Type: typ}, pages.ChannelFormView{New: true, Values: values})
}

// handleChannelCreate saves a new channel.
func (s *Server) handleChannelCreate(c echo.Context) error {
	return s.saveChannel(c, &models.Channel{Name: c.FormValue("name"), CreatedBy: currentUser(c).Username}, true)
}

// handleChannel is a channel's page: its settings (a form for admins), how its last messages
// went, "Send test" and delete.
func (s *Server) handleChannel(c echo.Context) error {
	ch, err := s.store.Channels.ChannelByName(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	if !may(c, authz.ChannelsEdit) {
		redactChannel(ch)
	}
	return s.renderChannelForm(c, http.StatusOK, ch, pages.ChannelFormView{Values: channelValues(ch)})
}

// redactChannel hides, for viewers, what in ch's URL and last error may be a credential:
// admins see the URL they typed (they own it), viewers never do.
func redactChannel(ch *models.Channel) {
	ch.Settings.URL = alerts.RedactURL(ch.Type, ch.Settings.URL)
	ch.LastError = alerts.RedactURLs(ch.Type, ch.LastError)
}

// handleChannelSave replaces a channel's settings.
func (s *Server) handleChannelSave(c echo.Context) error {
	return s.saveChannel(c, &models.Channel{Name: c.Param("name")}, false)
}

// saveChannel reads the form into ch and saves it; refused fields come back next to the
// fields, as typed.
func (s *Server) saveChannel(c echo.Context, ch *models.Channel, create bool) error {
	ch.Type = c.FormValue("type")
	values := map[string]string{"name": ch.Name}
	for _, f := range []string{"url", "template", "signing_secret", "smtp_host", "smtp_port", "smtp_security", "smtp_user", "smtp_password", "from", "to"} {
		values[f] = c.FormValue(f)
	}
	set := models.ChannelSettings{URL: values["url"], Template: values["template"], SigningSecret: values["signing_secret"],
		SMTPHost: values["smtp_host"], SMTPSecurity: values["smtp_security"], SMTPUser: values["smtp_user"],
		SMTPPassword: values["smtp_password"], From: values["from"], To: splitAddresses(values["to"])}
	var portErr string
	if p := strings.TrimSpace(values["smtp_port"]); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			portErr = "The port is a number from 1 to 65535 (587 for STARTTLS, 465 for TLS, 25 for none)."
		}
		set.SMTPPort = n
	}
	ch.Settings = set
	var urlSecret string
	var err error
	if portErr != "" { // refused whatever else it holds: check the rest, write nothing
		err = s.channels.Check(c.Request().Context(), ch)
	} else {
		urlSecret, err = s.channels.Save(c.Request().Context(), ch, create, currentUser(c).Username)
	}
	fields := models.FieldErrors(err)
	if portErr != "" {
		if fields == nil {
			fields = map[string]string{}
		}
		fields["smtp_port"] = portErr
	}
	if fields != nil {
		v := pages.ChannelFormView{New: create, Values: values, Errors: fields}
		if !create {
			saved, err := s.store.Channels.ChannelByName(c.Request().Context(), ch.Name)
			if err != nil {
				return err
			}
			ch.LastSentAt, ch.LastError, ch.LastErrorAt = saved.LastSentAt, saved.LastError, saved.LastErrorAt
		}
		return s.renderChannelForm(c, http.StatusUnprocessableEntity, ch, v)
	}
	if err != nil {
		return err
	}
	s.log.Info("web: alert channel saved", "name", ch.Name, "type", ch.Type, "created", create, "url_secret", urlSecret, "user", currentUser(c).Username)
	setFlash(c, "success", "Channel "+ch.Name+" saved. "+urlSecretNotice(urlSecret)+"Send a test to see that it works.")
	return redirect(c, "/dashboard/alerts/channels/"+url.PathEscape(ch.Name))
}

// urlSecretNotice says where a chat webhook's URL typed raw went, or nothing when it stayed.
func urlSecretNotice(urlSecret string) string {
	if urlSecret == "" {
		return ""
	}
	return "The URL is kept as the secret " + urlSecret + "; it is not shown again. "
}

// splitAddresses reads the recipients typed one a line (or comma-separated).
func splitAddresses(s string) []string {
	var out []string
	for _, a := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// channelValues are ch's settings as the form shows them.
func channelValues(ch *models.Channel) map[string]string {
	set := ch.Settings
	v := map[string]string{"name": ch.Name, "url": set.URL, "template": set.Template, "signing_secret": set.SigningSecret,
		"smtp_host": set.SMTPHost, "smtp_security": set.SMTPSecurity, "smtp_user": set.SMTPUser, "smtp_password": set.SMTPPassword,
		"from": set.From, "to": strings.Join(set.To, "\n")}
	if set.SMTPPort != 0 {
		v["smtp_port"] = strconv.Itoa(set.SMTPPort)
	}
	return v
}

// handleChannelTest sends a test message now and says how it went: a flash when it went, the
// error on the channel's page when it didn't.
func (s *Server) handleChannelTest(c echo.Context) error {
	name := c.Param("name")
	_, err := s.channels.SendTest(c.Request().Context(), name)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return err
	}
	if err != nil {
		ch, getErr := s.store.Channels.ChannelByName(c.Request().Context(), name)
		if getErr != nil {
			return getErr
		}
		return s.renderChannelForm(c, http.StatusBadGateway, ch, pages.ChannelFormView{Values: channelValues(ch), TestError: err.Error()})
	}
	setFlash(c, "success", "Test message sent on "+name+": check that it arrived.")
	return redirect(c, "/dashboard/alerts/channels/"+url.PathEscape(name))
}

// handleChannelDelete deletes a channel.
func (s *Server) handleChannelDelete(c echo.Context) error {
	name := c.Param("name")
	if err := s.store.Channels.DeleteChannel(c.Request().Context(), name); err != nil {
		return err
	}
	s.log.Info("web: alert channel deleted", "name", name, "user", currentUser(c).Username)
	setFlash(c, "success", "Channel "+name+" deleted: messages still queued for it fail, saying it is gone.")
	return redirect(c, "/dashboard/alerts/channels")
}

func (s *Server) renderChannelForm(c echo.Context, status int, ch *models.Channel, v pages.ChannelFormView) error {
	title := ch.Name
	if v.New {
		title = "New " + channelTypeLabel(ch.Type) + " channel"
	}
	v.Layout, v.CSRF = s.layoutProps(c, title, layout.SectionJobs), csrfToken(c)
	v.Name, v.Type, v.TypeLabel, v.Securities = ch.Name, ch.Type, channelTypeLabel(ch.Type), channelSecurities
	v.LastSent, v.LastError = s.momentPtr(c, ch), ch.LastError
	if ch.LastErrorAt != nil {
		m := s.moment(c, *ch.LastErrorAt)
		v.LastErrorAt = &m
	}
	return render(c, status, pages.ChannelFormPage(v))
}
