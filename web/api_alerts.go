package web

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kilnhq/kiln/api"
	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/models"
)

// The API's alerts: those open and their history, acknowledged, silenced or unsilenced by
// admins.

// AlertListInput filters the alerts.
type AlertListInput struct {
	Open  bool `query:"open" doc:"Only the open alerts"`
	Limit int  `query:"limit" minimum:"1" maximum:"500" default:"100" doc:"At most this many, newest first"`
}

// AlertIDInput names an alert.
type AlertIDInput struct {
	ID int64 `path:"id" minimum:"1"`
}

// AlertSilenceInput silences an alert.
type AlertSilenceInput struct {
	ID   int64 `path:"id" minimum:"1"`
	Body api.AlertSilence
}

// AlertOutput is one alert.
type AlertOutput struct {
	Body api.Alert
}

// AlertListOutput lists alerts.
type AlertListOutput struct {
	Body api.AlertList
}

func (s *Server) registerAlertAPI(hapi huma.API) {
	register(hapi, authz.Read, huma.Operation{OperationID: "list-alerts", Method: http.MethodGet, Path: "/v1/alerts", Summary: "List alerts",
		Tags: []string{tagAlerts}, Description: "The alerts, newest first: open ones and their history."}, s.apiListAlerts)
	register(hapi, authz.AlertsAck, huma.Operation{OperationID: "acknowledge-alert", Method: http.MethodPost, Path: "/v1/alerts/{id}/acknowledge",
		Summary: "Acknowledge an alert", Tags: []string{tagAlerts},
		Description: "Records who took it in hand; it repeats no more, and its resolution is still told. A resolved alert is a 409.",
		Errors:      codeStatuses(models.ENOTFOUND, models.ECONFLICT)}, s.apiAcknowledgeAlert)
	register(hapi, authz.AlertsAck, huma.Operation{OperationID: "silence-alert", Method: http.MethodPost, Path: "/v1/alerts/{id}/silence",
		Summary: "Silence an alert", Tags: []string{tagAlerts},
		Description: "Mutes its repeats until the time given, which must be still to come (a time already past is a 422: DELETE the silence to unmute it); its resolution is still told. A resolved alert is a 409.",
		Errors:      codeStatuses(models.ENOTFOUND, models.ECONFLICT, models.EINVALID)}, s.apiSilenceAlert)
	register(hapi, authz.AlertsAck, huma.Operation{OperationID: "unsilence-alert", Method: http.MethodDelete, Path: "/v1/alerts/{id}/silence",
		Summary: "Unsilence an alert", Tags: []string{tagAlerts},
		Description: "Ends its silence, if it has one: it repeats again while it stays open. Answers with the alert. A resolved alert is a 409.",
		Errors:      codeStatuses(models.ENOTFOUND, models.ECONFLICT)}, s.apiUnsilenceAlert)
}

func (s *Server) apiListAlerts(ctx context.Context, in *AlertListInput) (*AlertListOutput, error) {
	all, err := s.store.Rules.ListAlerts(ctx, in.Open, in.Limit)
	if err != nil {
		return nil, s.apiErr(err)
	}
	names, err := s.ruleNames(ctx)
	if err != nil {
		return nil, s.apiErr(err)
	}
	out := &AlertListOutput{Body: api.AlertList{Alerts: make([]api.Alert, 0, len(all))}}
	for i := range all {
		out.Body.Alerts = append(out.Body.Alerts, alertOut(&all[i], names))
	}
	return out, nil
}

func (s *Server) apiAcknowledgeAlert(ctx context.Context, in *AlertIDInput) (*AlertOutput, error) {
	a, err := s.store.Rules.AcknowledgeAlert(ctx, in.ID, apiUser(ctx).Username, s.cfg.Now())
	return s.apiAlert(ctx, a, err)
}

func (s *Server) apiSilenceAlert(ctx context.Context, in *AlertSilenceInput) (*AlertOutput, error) {
	a, err := s.store.Rules.SilenceAlert(ctx, in.ID, in.Body.Until, s.cfg.Now())
	return s.apiAlert(ctx, a, err)
}

func (s *Server) apiUnsilenceAlert(ctx context.Context, in *AlertIDInput) (*AlertOutput, error) {
	a, err := s.store.Rules.UnsilenceAlert(ctx, in.ID)
	return s.apiAlert(ctx, a, err)
}

func (s *Server) apiAlert(ctx context.Context, a *models.Alert, err error) (*AlertOutput, error) {
	if err != nil {
		return nil, s.apiErr(err)
	}
	names, err := s.ruleNames(ctx)
	if err != nil {
		return nil, s.apiErr(err)
	}
	return &AlertOutput{Body: alertOut(a, names)}, nil
}

// ruleNames maps the rules' ids to their names.
func (s *Server) ruleNames(ctx context.Context) (map[int64]string, error) {
	rules, err := s.store.Rules.ListRules(ctx)
	if err != nil {
		return nil, err
	}
	return ruleNamesOf(rules), nil
}

// ruleNamesOf is the rules' names by id.
func ruleNamesOf(rules []models.AlertRule) map[int64]string {
	out := make(map[int64]string, len(rules))
	for _, r := range rules {
		out[r.ID] = r.Name
	}
	return out
}

func alertOut(a *models.Alert, rules map[int64]string) api.Alert {
	ids := a.JobIDs
	if ids == nil {
		ids = []int64{}
	}
	return api.Alert{ID: a.ID, Rule: rules[a.RuleID], Subject: a.Subject, State: string(a.State), OpenedAt: a.OpenedAt.UTC(),
		LastNotifiedAt: a.LastNotifiedAt.UTC(), ResolvedAt: utcPtr(a.ResolvedAt), Count: a.Count, JobIDs: ids, Messages: a.Messages,
		AcknowledgedBy: a.AcknowledgedBy, AcknowledgedAt: utcPtr(a.AcknowledgedAt), SilencedUntil: utcPtr(a.SilencedUntil)}
}

// utcPtr is t in UTC, or nil.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
