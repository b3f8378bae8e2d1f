package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kilnhq/kiln/api"
	"github.com/kilnhq/kiln/internal/alerts"
	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/models"
)

// The API's alert channels: where alerts' messages go. Viewers read them (their settings hold
// secret references, never values); admins create, change, delete and test them.

// ChannelNameInput names a channel.
type ChannelNameInput struct {
	Name string `path:"name" maxLength:"64" doc:"The channel's name"`
}

// ChannelCreateInput is a channel to create.
type ChannelCreateInput struct {
	Body api.ChannelSpec
}

// ChannelPutInput is a channel's new type and settings.
type ChannelPutInput struct {
	Name string `path:"name" maxLength:"64" doc:"The channel's name"`
	Body api.ChannelSpec
}

// ChannelOutput is one channel.
type ChannelOutput struct {
	Body api.Channel
}

// ChannelListOutput lists the channels.
type ChannelListOutput struct {
	Body api.ChannelList
}

// ChannelTestOutput is what a channel's test sent.
type ChannelTestOutput struct {
	Body api.ChannelTest
}

func (s *Server) registerChannelAPI(hapi huma.API) {
	register(hapi, authz.Read, huma.Operation{OperationID: "list-alert-channels", Method: http.MethodGet, Path: "/v1/alerts/channels", Summary: "List alert channels",
		Tags: []string{tagAlerts}, Description: "The channels by name, with how their last deliveries went. Any token may read them: their settings hold ${secret:NAME} references, never values. " +
			"For a viewer token a URL typed raw shows with its user, query and fragment as \"…\" (a chat webhook's, without its path), and so do URLs in last_error."}, s.apiListChannels)
	register(hapi, authz.Read, huma.Operation{OperationID: "get-alert-channel", Method: http.MethodGet, Path: "/v1/alerts/channels/{name}", Summary: "Get an alert channel",
		Tags: []string{tagAlerts}, Description: "The channel, its settings and how its last deliveries went (last_sent_at, last_error). A viewer token sees URLs redacted, as in the list.", Errors: codeStatuses(models.ENOTFOUND)}, s.apiGetChannel)
	register(hapi, authz.ChannelsEdit, huma.Operation{OperationID: "create-alert-channel", Method: http.MethodPost, Path: "/v1/alerts/channels", DefaultStatus: http.StatusCreated,
		Summary: "Create an alert channel", Tags: []string{tagAlerts},
		Description: "Each field is checked for the type (a template must parse and write JSON for a sample message; secrets are ${secret:NAME} references to saved secrets); the fields of other types are dropped. " +
			"A Slack, Discord, Mattermost or Teams URL typed raw is itself a credential: it is saved as the secret ALERT_CHANNEL_<NAME>_URL, the channel keeps ${secret:...} of it, and notice says so.",
		Errors: codeStatuses(models.ECONFLICT)}, s.apiCreateChannel)
	register(hapi, authz.ChannelsEdit, huma.Operation{OperationID: "put-alert-channel", Method: http.MethodPut, Path: "/v1/alerts/channels/{name}", Summary: "Change an alert channel",
		Tags: []string{tagAlerts}, Description: "Replaces the channel's type and settings; its history (last sent, last error) is kept. A chat webhook's URL typed raw is moved into a secret, as on create.",
		Errors: codeStatuses(models.ENOTFOUND)}, s.apiPutChannel)
	register(hapi, authz.ChannelsEdit, huma.Operation{OperationID: "delete-alert-channel", Method: http.MethodDelete, Path: "/v1/alerts/channels/{name}", DefaultStatus: http.StatusNoContent,
		Summary: "Delete an alert channel", Tags: []string{tagAlerts}, Description: "Messages still queued for it fail, saying it is gone.",
		Errors: codeStatuses(models.ENOTFOUND)}, s.apiDeleteChannel)
	register(hapi, authz.ChannelsEdit, huma.Operation{OperationID: "test-alert-channel", Method: http.MethodPost, Path: "/v1/alerts/channels/{name}/test", Summary: "Send a test message",
		Tags: []string{tagAlerts}, Description: "Sends a sample message on the channel at once, not through the queue, and answers with it: " +
			"a webhook without a template posts exactly this shape of message. 502 when the channel's service refuses it or can't be reached, saying why (secrets masked).",
		Errors: append(codeStatuses(models.ENOTFOUND), http.StatusBadGateway)}, s.apiTestChannel)
}

// channelOut is ch as the API shows it to the caller of ctx: for a token that may only read,
// its URL and last error redacted (alerts.RedactURL), as the channel's page shows them to
// viewers.
func channelOut(ctx context.Context, ch *models.Channel) api.Channel {
	if !apiUser(ctx).May(authz.ChannelsEdit) {
		redactChannel(ch)
	}
	set := ch.Settings
	return api.Channel{Name: ch.Name, Type: ch.Type, CreatedBy: ch.CreatedBy, CreatedAt: ch.CreatedAt.UTC(), UpdatedAt: ch.UpdatedAt.UTC(),
		LastSentAt: utcPtr(ch.LastSentAt), LastError: ch.LastError, LastErrorAt: utcPtr(ch.LastErrorAt),
		Settings: api.ChannelSettings{URL: set.URL, Template: set.Template, SigningSecret: set.SigningSecret, SMTPHost: set.SMTPHost,
			SMTPPort: set.SMTPPort, SMTPSecurity: set.SMTPSecurity, SMTPUser: set.SMTPUser, SMTPPassword: set.SMTPPassword, From: set.From, To: set.To}}
}

// channelSaved is the answer to a create or a change: the channel, and the notice of where a
// chat webhook's URL typed raw went.
func channelSaved(ctx context.Context, ch *models.Channel, urlSecret string) *ChannelOutput {
	out := &ChannelOutput{Body: channelOut(ctx, ch)}
	out.Body.Notice = strings.TrimSpace(urlSecretNotice(urlSecret))
	return out
}

func channelIn(name string, spec api.ChannelSpec) *models.Channel {
	set := spec.Settings
	return &models.Channel{Name: name, Type: spec.Type, Settings: models.ChannelSettings{URL: set.URL, Template: set.Template,
		SigningSecret: set.SigningSecret, SMTPHost: set.SMTPHost, SMTPPort: set.SMTPPort, SMTPSecurity: set.SMTPSecurity,
		SMTPUser: set.SMTPUser, SMTPPassword: set.SMTPPassword, From: set.From, To: set.To}}
}

// channelAPIErr is the API's error for saving a channel: a refused field is named where it is
// in the request (path.name, body.name, body.type or body.settings.<field>).
func (s *Server) channelAPIErr(err error, nameInPath bool) error {
	fields := models.FieldErrors(err)
	if models.ErrorCode(err) != models.EINVALID && models.ErrorCode(err) != models.ECONFLICT || fields == nil {
		return s.apiErr(err)
	}
	var details []error
	for field, msg := range fields {
		at := "body.settings." + field
		switch {
		case field == "name" && nameInPath:
			at = "path.name"
		case field == "name" || field == "type":
			at = "body." + field
		}
		details = append(details, &huma.ErrorDetail{Location: at, Message: msg})
	}
	return huma.NewError(models.HTTPStatus(models.ErrorCode(err)), models.ErrorMessage(err), details...)
}

func (s *Server) apiListChannels(ctx context.Context, _ *struct{}) (*ChannelListOutput, error) {
	list, err := s.store.Channels.ListChannels(ctx)
	if err != nil {
		return nil, s.apiErr(err)
	}
	out := &ChannelListOutput{Body: api.ChannelList{Channels: make([]api.Channel, 0, len(list))}}
	for i := range list {
		out.Body.Channels = append(out.Body.Channels, channelOut(ctx, &list[i]))
	}
	return out, nil
}

func (s *Server) apiGetChannel(ctx context.Context, in *ChannelNameInput) (*ChannelOutput, error) {
	ch, err := s.store.Channels.ChannelByName(ctx, in.Name)
	if err != nil {
		return nil, s.apiErr(err)
	}
	return &ChannelOutput{Body: channelOut(ctx, ch)}, nil
}

func (s *Server) apiCreateChannel(ctx context.Context, in *ChannelCreateInput) (*ChannelOutput, error) {
	ch := channelIn(in.Body.Name, in.Body)
	ch.CreatedBy = apiUser(ctx).Username
	urlSecret, err := s.channels.Save(ctx, ch, true, ch.CreatedBy)
	if err != nil {
		return nil, s.channelAPIErr(err, false)
	}
	s.log.Info("api: alert channel created", "name", ch.Name, "type", ch.Type, "url_secret", urlSecret, "user", ch.CreatedBy)
	return channelSaved(ctx, ch, urlSecret), nil
}

func (s *Server) apiPutChannel(ctx context.Context, in *ChannelPutInput) (*ChannelOutput, error) {
	if in.Body.Name != "" && in.Body.Name != in.Name {
		return nil, huma.Error422UnprocessableEntity("A channel can't be renamed: create one of the new name, and delete this one.",
			&huma.ErrorDetail{Location: "body.name", Message: "Leave it out, or give the path's name."})
	}
	ch := channelIn(in.Name, in.Body)
	urlSecret, err := s.channels.Save(ctx, ch, false, apiUser(ctx).Username)
	if err != nil {
		return nil, s.channelAPIErr(err, true)
	}
	s.log.Info("api: alert channel changed", "name", ch.Name, "type", ch.Type, "url_secret", urlSecret, "user", apiUser(ctx).Username)
	return channelSaved(ctx, ch, urlSecret), nil
}

func (s *Server) apiDeleteChannel(ctx context.Context, in *ChannelNameInput) (*struct{}, error) {
	if err := s.store.Channels.DeleteChannel(ctx, in.Name); err != nil {
		return nil, s.apiErr(err)
	}
	s.log.Info("api: alert channel deleted", "name", in.Name, "user", apiUser(ctx).Username)
	return nil, nil
}

func (s *Server) apiTestChannel(ctx context.Context, in *ChannelNameInput) (*ChannelTestOutput, error) {
	m, err := s.channels.SendTest(ctx, in.Name)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return nil, s.apiErr(err)
	}
	if err != nil {
		return nil, huma.NewError(http.StatusBadGateway, "The test message was not sent: "+err.Error())
	}
	return &ChannelTestOutput{Body: api.ChannelTest{Channel: in.Name, SentAt: m.At, Message: alertMessageOut(m)}}, nil
}

// alertMessageOut is m as the API documents it.
func alertMessageOut(m alerts.Message) api.AlertMessage {
	out := api.AlertMessage{Rule: m.Rule, AlertID: m.AlertID, Status: string(m.Status), Title: m.Title, Summary: m.Summary,
		Count: m.Count, Jobs: make([]api.AlertJobRef, 0, len(m.Jobs)), URL: m.URL, At: m.At}
	for _, j := range m.Jobs {
		out.Jobs = append(out.Jobs, api.AlertJobRef{ID: j.ID, Kind: j.Kind, Queue: j.Queue, State: j.State, Error: j.Error, URL: j.URL})
	}
	return out
}
