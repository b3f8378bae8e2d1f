package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/views/components"
	"github.com/kilnhq/kiln/views/layout"
	"github.com/kilnhq/kiln/views/pages"
)

// The new alert rule's form: one per watch, showing only the fields that watch reads, checked
// by models.AlertRule.Validate as the API's rules are.

// watchForms says, for each watch, what it is in words and the fields it reads.
var watchForms = map[string]struct {
	label      string
	uses       []string
	fixedScope string
}{
	models.WatchFailed:         {"A job failed for good.", []string{"scope"}, ""},
	models.WatchFailedInARow:   {"The last N finished jobs all failed.", []string{"scope", "threshold"}, ""},
	models.WatchFailuresWithin: {"More than N jobs failed within a window.", []string{"scope", "threshold", "within"}, ""},
	models.WatchMissedSchedule: {"A recurring job's occurrence did not succeed within a grace period of when it was due: never enqueued, still waiting, still running, or failed.", []string{"grace"}, models.ScopeRecurring},
	models.WatchRunningLonger:  {"A job has been running for too long.", []string{"scope", "longer_than"}, ""},
	models.WatchBacklog:        {"More than N jobs have waited too long past their due time.", []string{"scope", "threshold", "longer_than"}, ""},
	models.WatchNoWorkers:      {"No live server works a queue.", nil, models.ScopeQueue},
}

var ruleScopes = []components.Option{
	{Value: models.ScopeKind, Label: "A kind"}, {Value: models.ScopeQueue, Label: "A queue"}, {Value: models.ScopeRecurring, Label: "A recurring job"},
}

// ruleRow is a rule as the alerts page lists it.
func ruleRow(r *models.AlertRule) pages.RuleRow {
	row := pages.RuleRow{Name: r.Name, Watches: ruleWords(r), Channels: strings.Join(r.Channels, ", "), Enabled: r.Enabled,
		FromCode: r.CreatedBy == "", Repeat: "never", Target: "every " + r.Scope}
	if r.Target != "" {
		row.Target = r.Scope + " " + r.Target
	}
	if r.RepeatEvery > 0 {
		row.Repeat = "every " + r.RepeatEvery.String()
	}
	return row
}

// ruleWords says what a rule watches, e.g. "3 failures in a row".
func ruleWords(r *models.AlertRule) string {
	switch r.Watch {
	case models.WatchFailed:
		return "a failure"
	case models.WatchFailedInARow:
		return fmt.Sprintf("%d failures in a row", r.Threshold)
	case models.WatchFailuresWithin:
		return fmt.Sprintf("more than %d failures within %s", r.Threshold, r.Within)
	case models.WatchMissedSchedule:
		return "a run not done " + r.Grace.String() + " after it was due"
	case models.WatchRunningLonger:
		return "running longer than " + r.LongerThan.String()
	case models.WatchBacklog:
		return fmt.Sprintf("more than %d jobs waiting longer than %s", r.Threshold, r.LongerThan)
	case models.WatchNoWorkers:
		return "no server working it"
	}
	return r.Watch
}

// handleRuleNew is the form of a new rule of the watch asked for (or the choice of watches),
// prefilled from the query: the "Alert me" shortcuts of a recurring job's and a kind's pages
// link here with the target, scope and grace set.
func (s *Server) handleRuleNew(c echo.Context) error {
	values := map[string]string{}
	for _, f := range []string{"name", "scope", "target", "threshold", "within", "grace", "longer_than", "repeat_every"} {
		values[f] = c.QueryParam(f)
	}
	if values["repeat_every"] == "" {
		values["repeat_every"] = "1h"
	}
	return s.renderRuleForm(c, http.StatusOK, c.QueryParam("watch"), ruleForm{values: values, enabled: true}, "")
}

// handleRuleCreate saves a new rule; refused fields come back next to the fields, as typed.
func (s *Server) handleRuleCreate(c echo.Context) error {
	watch := c.FormValue("watch")
	if _, ok := watchForms[watch]; !ok {
		return echo.NewHTTPError(http.StatusNotFound, "Choose what the rule watches on the new rule page.")
	}
	r, f := ruleFromForm(c, watch, "")
	r.CreatedBy = currentUser(c).Username
	if len(f.errors) == 0 {
		_, err := s.store.Rules.CreateRule(c.Request().Context(), r, s.cfg.Now())
		if f.errors = models.FieldErrors(err); err != nil && f.errors == nil {
			return err
		}
	}
	if len(f.errors) > 0 {
		return s.renderRuleForm(c, http.StatusUnprocessableEntity, watch, f, "")
	}
	s.log.Info("web: alert rule created", "name", r.Name, "watch", r.Watch, "user", r.CreatedBy)
	setFlash(c, "success", "Rule "+r.Name+" created: it watches what happens from now on.")
	return redirect(c, "/dashboard/alerts#rules")
}

// handleRuleEdit is a person's rule in its watch's form, to change all but its name and watch.
func (s *Server) handleRuleEdit(c echo.Context) error {
	r, err := s.personsRule(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	dur := func(d time.Duration) string {
		if d == 0 {
			return ""
		}
		return d.String()
	}
	f := ruleForm{values: map[string]string{"name": r.Name, "scope": r.Scope, "target": r.Target, "threshold": strconv.Itoa(r.Threshold),
		"within": dur(r.Within), "grace": dur(r.Grace), "longer_than": dur(r.LongerThan), "repeat_every": dur(r.RepeatEvery)},
		chosen: r.Channels, enabled: r.Enabled}
	return s.renderRuleForm(c, http.StatusOK, r.Watch, f, r.Name)
}

// handleRuleSave changes a person's rule; its name and watch stay.
func (s *Server) handleRuleSave(c echo.Context) error {
	old, err := s.personsRule(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	r, f := ruleFromForm(c, old.Watch, old.Name)
	r.Enabled = c.FormValue("enabled") != ""
	f.enabled = r.Enabled
	if len(f.errors) == 0 {
		_, err := s.store.Rules.UpdateRule(c.Request().Context(), r, s.cfg.Now())
		if f.errors = models.FieldErrors(err); err != nil && f.errors == nil {
			return err
		}
	}
	if len(f.errors) > 0 {
		return s.renderRuleForm(c, http.StatusUnprocessableEntity, old.Watch, f, old.Name)
	}
	s.log.Info("web: alert rule changed", "name", r.Name, "user", currentUser(c).Username)
	setFlash(c, "success", "Rule "+r.Name+" saved.")
	return redirect(c, "/dashboard/alerts#rules")
}

// ruleForm is a rule's form as typed, with what is wrong with it.
type ruleForm struct {
	values  map[string]string
	chosen  []string
	enabled bool
	errors  map[string]string
}

// ruleFromForm reads the form of a rule of the watch: the fields that watch reads, each error
// with its field, every field checked at once (a bad duration and a missing name together).
// An edited rule's name is given (its form has none).
func ruleFromForm(c echo.Context, watch, name string) (*models.AlertRule, ruleForm) {
	form := watchForms[watch]
	f := ruleForm{values: map[string]string{}, chosen: c.Request().Form["channels"], enabled: true, errors: map[string]string{}}
	for _, field := range []string{"name", "scope", "target", "threshold", "within", "grace", "longer_than", "repeat_every"} {
		f.values[field] = strings.TrimSpace(c.FormValue(field))
	}
	if name != "" {
		f.values["name"] = name
	}
	r := &models.AlertRule{Name: f.values["name"], Watch: watch, Scope: f.values["scope"], Target: f.values["target"], Channels: f.chosen, Enabled: true}
	if form.fixedScope != "" {
		r.Scope = form.fixedScope
	}
	if slices.Contains(form.uses, "threshold") && f.values["threshold"] != "" {
		n, err := strconv.Atoi(f.values["threshold"])
		if err != nil {
			f.errors["threshold"] = "A whole number, such as 3."
		}
		r.Threshold = n
	}
	for _, d := range []struct {
		field string
		into  *time.Duration
	}{{"within", &r.Within}, {"grace", &r.Grace}, {"longer_than", &r.LongerThan}, {"repeat_every", &r.RepeatEvery}} {
		if f.values[d.field] == "" || (d.field != "repeat_every" && !slices.Contains(form.uses, d.field)) {
			continue
		}
		v, err := time.ParseDuration(f.values[d.field])
		if err != nil || v < 0 {
			f.errors[d.field] = "A duration of 0 or more, such as 30s, 10m or 1h."
			continue
		}
		*d.into = v
	}
	check := *r
	for field, msg := range models.FieldErrors(check.Validate()) {
		if _, ok := f.errors[field]; !ok {
			f.errors[field] = msg
		}
	}
	return r, f
}

// renderRuleForm shows the form of a rule of the watch (the choice of watches when there is
// none); editing names the rule being changed.
func (s *Server) renderRuleForm(c echo.Context, status int, watch string, f ruleForm, editing string) error {
	title := "New alert rule"
	if editing != "" {
		title = "Edit " + editing
	}
	v := pages.RuleFormView{Layout: s.layoutProps(c, title, layout.SectionJobs), CSRF: csrfToken(c), Values: f.values,
		Errors: f.errors, Scopes: ruleScopes, Chosen: map[string]bool{}, Editing: editing, Enabled: f.enabled}
	form, ok := watchForms[watch]
	if !ok {
		for _, w := range models.Watches {
			v.Watches = append(v.Watches, components.Option{Value: w, Label: w, Note: watchForms[w].label})
		}
		return render(c, status, pages.RuleFormPage(v))
	}
	v.Watch, v.WatchLabel, v.FixedScope, v.Uses = watch, form.label, form.fixedScope, map[string]bool{}
	for _, u := range form.uses {
		v.Uses[u] = true
	}
	if v.Values["scope"] == "" {
		v.Values["scope"] = models.ScopeKind
	}
	list, err := s.store.Channels.ListChannels(c.Request().Context())
	if err != nil {
		return err
	}
	for _, ch := range list {
		v.Channels = append(v.Channels, ch.Name)
	}
	for _, ch := range f.chosen {
		v.Chosen[ch] = true
	}
	if f.chosen == nil && status == http.StatusOK && editing == "" && len(v.Channels) == 1 {
		v.Chosen[v.Channels[0]] = true // the one channel there is: what a shortcut means
	}
	return render(c, status, pages.RuleFormPage(v))
}
