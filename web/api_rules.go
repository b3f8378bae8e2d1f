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

// The API's alert rules: admins make, change and delete them, viewers read them.

// AlertRuleNameInput names a rule.
type AlertRuleNameInput struct {
	Name string `path:"name" maxLength:"200"`
}

// AlertRuleCreateInput is a new rule.
type AlertRuleCreateInput struct {
	Body api.AlertRuleSpec
}

// AlertRuleUpdateInput is a rule's new definition, under its name.
type AlertRuleUpdateInput struct {
	Name string `path:"name" maxLength:"200"`
	Body api.AlertRuleSpec
}

// AlertRuleOutput is one rule.
type AlertRuleOutput struct {
	Body api.AlertRule
}

// AlertRuleListOutput lists the rules.
type AlertRuleListOutput struct {
	Body api.AlertRuleList
}

func (s *Server) registerRuleAPI(hapi huma.API) {
	register(hapi, authz.Read, huma.Operation{OperationID: "list-alert-rules", Method: http.MethodGet, Path: "/v1/alerts/rules", Summary: "List alert rules",
		Tags: []string{tagAlerts}, Description: "Every alert rule, by name."}, s.apiListRules)
	register(hapi, authz.Read, huma.Operation{OperationID: "get-alert-rule", Method: http.MethodGet, Path: "/v1/alerts/rules/{name}", Summary: "Get an alert rule",
		Tags: []string{tagAlerts}, Description: "One alert rule by its name, as the list shows it.", Errors: codeStatuses(models.ENOTFOUND)}, s.apiGetRule)
	register(hapi, authz.AlertRulesEdit, huma.Operation{OperationID: "create-alert-rule", Method: http.MethodPost, Path: "/v1/alerts/rules", DefaultStatus: http.StatusCreated,
		Summary: "Create an alert rule", Tags: []string{tagAlerts},
		Description: "It looks at what happens from now on. A name that is taken is a 409.",
		Errors:      codeStatuses(models.ECONFLICT)}, s.apiCreateRule)
	register(hapi, authz.AlertRulesEdit, huma.Operation{OperationID: "update-alert-rule", Method: http.MethodPut, Path: "/v1/alerts/rules/{name}",
		Summary: "Change an alert rule", Tags: []string{tagAlerts},
		Description: "Replaces the rule's definition with the body, a rule as create takes it, checked the same way; its name (the body's must be the path's), its alerts, its creation and whether it is enabled stay. A rule a server's code defines (created_by empty) is a 409, as on delete.",
		Errors:      codeStatuses(models.ENOTFOUND, models.ECONFLICT, models.EINVALID)}, s.apiUpdateRule)
	register(hapi, authz.AlertRulesEdit, huma.Operation{OperationID: "delete-alert-rule", Method: http.MethodDelete, Path: "/v1/alerts/rules/{name}", DefaultStatus: http.StatusNoContent,
		Summary: "Delete an alert rule", Tags: []string{tagAlerts},
		Description: "Its alerts go with it; messages already on their way are still delivered. A rule a server's code defines (created_by empty) is a 409: it would come back when that server starts.",
		Errors:      codeStatuses(models.ENOTFOUND, models.ECONFLICT)}, s.apiDeleteRule)
}

func (s *Server) apiListRules(ctx context.Context, _ *struct{}) (*AlertRuleListOutput, error) {
	rules, err := s.store.Rules.ListRules(ctx)
	if err != nil {
		return nil, s.apiErr(err)
	}
	out := &AlertRuleListOutput{Body: api.AlertRuleList{Rules: make([]api.AlertRule, 0, len(rules))}}
	for i := range rules {
		out.Body.Rules = append(out.Body.Rules, ruleOut(&rules[i]))
	}
	return out, nil
}

func (s *Server) apiGetRule(ctx context.Context, in *AlertRuleNameInput) (*AlertRuleOutput, error) {
	r, err := s.store.Rules.GetRule(ctx, in.Name)
	if err != nil {
		return nil, s.apiErr(err)
	}
	return &AlertRuleOutput{Body: ruleOut(r)}, nil
}

func (s *Server) apiCreateRule(ctx context.Context, in *AlertRuleCreateInput) (*AlertRuleOutput, error) {
	r, details := ruleFromSpec(in.Body)
	if len(details) > 0 {
		return nil, huma.Error422UnprocessableEntity("The rule is not valid.", details...)
	}
	r.Enabled, r.CreatedBy = in.Body.Enabled == nil || *in.Body.Enabled, apiUser(ctx).Username
	created, err := s.store.Rules.CreateRule(ctx, &r, s.cfg.Now())
	if err != nil {
		return nil, s.apiErr(err)
	}
	return &AlertRuleOutput{Body: ruleOut(created)}, nil
}

// apiUpdateRule changes a person's rule (personsRule, as the dashboard's edit): the same checks
// as a rule made, through ruleFromSpec and UpdateRule.
func (s *Server) apiUpdateRule(ctx context.Context, in *AlertRuleUpdateInput) (*AlertRuleOutput, error) {
	old, err := s.personsRule(ctx, in.Name)
	if err != nil {
		return nil, s.apiErr(err)
	}
	r, details := ruleFromSpec(in.Body)
	if in.Body.Name != in.Name {
		details = append(details, &huma.ErrorDetail{Location: "body.name", Value: in.Body.Name,
			Message: "A rule keeps its name: give the path's, " + in.Name + ". To rename it, make a rule of the new name and delete this one."})
	}
	if len(details) > 0 {
		return nil, huma.Error422UnprocessableEntity("The rule is not valid.", details...)
	}
	r.Enabled = old.Enabled
	if in.Body.Enabled != nil {
		r.Enabled = *in.Body.Enabled
	}
	updated, err := s.store.Rules.UpdateRule(ctx, &r, s.cfg.Now())
	if err != nil {
		return nil, s.apiErr(err)
	}
	return &AlertRuleOutput{Body: ruleOut(updated)}, nil
}

// ruleFromSpec is a rule as the API's body gives it, for a rule made or changed, with what is
// wrong with its durations (models.AlertRule.Validate checks the rest when it is stored).
func ruleFromSpec(b api.AlertRuleSpec) (models.AlertRule, []error) {
	r := models.AlertRule{Name: b.Name, Watch: b.Watch, Scope: b.Scope, Target: b.Target, Threshold: b.Threshold, Channels: b.Channels}
	var details []error
	for _, d := range []struct {
		field, value string
		into         *time.Duration
	}{{"within", b.Within, &r.Within}, {"grace", b.Grace, &r.Grace}, {"longer_than", b.LongerThan, &r.LongerThan}, {"repeat_every", b.RepeatEvery, &r.RepeatEvery}} {
		if d.value == "" {
			continue
		}
		v, err := time.ParseDuration(d.value)
		if err != nil || v < 0 {
			details = append(details, &huma.ErrorDetail{Location: "body." + d.field, Message: "A Go duration of 0 or more, such as 30s, 10m or 1h.", Value: d.value})
			continue
		}
		*d.into = v
	}
	return r, details
}

func (s *Server) apiDeleteRule(ctx context.Context, in *AlertRuleNameInput) (*struct{}, error) {
	if err := s.deleteRule(ctx, in.Name); err != nil {
		return nil, s.apiErr(err)
	}
	return nil, nil
}

// ruleOut is a rule as the API shows it: its durations as Go writes them, none when zero.
func ruleOut(r *models.AlertRule) api.AlertRule {
	dur := func(d time.Duration) string {
		if d == 0 {
			return ""
		}
		return d.String()
	}
	channels := r.Channels
	if channels == nil {
		channels = []string{}
	}
	return api.AlertRule{AlertRuleSpec: api.AlertRuleSpec{Name: r.Name, Watch: r.Watch, Scope: r.Scope, Target: r.Target, Threshold: r.Threshold,
		Within: dur(r.Within), Grace: dur(r.Grace), LongerThan: dur(r.LongerThan), Channels: channels, RepeatEvery: dur(r.RepeatEvery),
		Enabled: &r.Enabled}, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC()}
}
