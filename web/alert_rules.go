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
	if err := requireAct(c); err != nil {
		return err
	}
	values := map[string]string{}
	for _, f := range []string{"name", "scope", "target", "threshold", "within", "grace", "longer_than", "repeat_every"} {
		values[f] = c.QueryParam(f)
	}
	if values["repeat_every"] == "" {
		values["repeat_every"] = "1h"
	}
	return s.renderRuleForm(c, http.StatusOK, c.QueryParam("watch"), values, nil, nil)
}

// handleRuleCreate saves a new rule; refused fields come back next to the fields, as typed.
func (s *Server) handleRuleCreate(c echo.Context) error {
	if err := requireAct(c); err != nil {
		return err
	}
	watch := c.FormValue("watch")
	form, ok := watchForms[watch]
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, "Choose what the rule watches on the new rule page.")
	}
	values := map[string]string{}
	for _, f := range []string{"name", "scope", "target", "threshold", "within", "grace", "longer_than", "repeat_every"} {
		values[f] = strings.TrimSpace(c.FormValue(f))
	}
	chosen := c.Request().Form["channels"]
	r := models.AlertRule{Name: values["name"], Watch: watch, Scope: values["scope"], Target: values["target"], Channels: chosen,
		Enabled: true, CreatedBy: currentUser(c).Username}
	if form.fixedScope != "" {
		r.Scope = form.fixedScope
	}
	fields := map[string]string{}
	if slices.Contains(form.uses, "threshold") && values["threshold"] != "" {
		n, err := strconv.Atoi(values["threshold"])
		if err != nil {
			fields["threshold"] = "A whole number, such as 3."
		}
		r.Threshold = n
	}
	for _, d := range []struct {
		field string
		into  *time.Duration
	}{{"within", &r.Within}, {"grace", &r.Grace}, {"longer_than", &r.LongerThan}, {"repeat_every", &r.RepeatEvery}} {
		if values[d.field] == "" || (d.field != "repeat_every" && !slices.Contains(form.uses, d.field)) {
			continue
		}
		v, err := time.ParseDuration(values[d.field])
		if err != nil || v < 0 {
			fields[d.field] = "A duration of 0 or more, such as 30s, 10m or 1h."
			continue
		}
		*d.into = v
	}
	// Validate every field at once, so that a bad duration and a missing name show together.
	for f, msg := range models.FieldErrors(r.Validate()) {
		if _, ok := fields[f]; !ok {
			fields[f] = msg
		}
	}
	if len(fields) == 0 {
		_, err := s.store.Rules.CreateRule(c.Request().Context(), &r, s.cfg.Now())
		fields = models.FieldErrors(err)
		if err != nil && fields == nil {
			return err
		}
	}
	if len(fields) > 0 {
		return s.renderRuleForm(c, http.StatusUnprocessableEntity, watch, values, chosen, fields)
	}
	s.log.Info("web: alert rule created", "name", r.Name, "watch", r.Watch, "user", currentUser(c).Username)
	setFlash(c, "success", "Rule "+r.Name+" created: it watches what happens from now on.")
	return redirect(c, "/dashboard/alerts#rules")
}

func (s *Server) renderRuleForm(c echo.Context, status int, watch string, values map[string]string, chosen []string, fields map[string]string) error {
	v := pages.RuleFormView{Layout: s.layoutProps(c, "New alert rule", layout.SectionJobs), CSRF: csrfToken(c), Values: values,
		Errors: fields, Scopes: ruleScopes, Chosen: map[string]bool{}}
	form, ok := watchForms[watch]
	if !ok {
		for _, w := range models.Watches {
			v.Watches = append(v.Watches, components.Option{Value: w, Label: w, Note: watchForms[w].label})
		}
		return render(c, status, pages.RuleFormPage(v))
	}
	v.Watch, v.WatchLabel, v.FixedScope, v.Uses = watch, form.label, form.fixedScope, map[string]bool{}
	for _, f := range form.uses {
		v.Uses[f] = true
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
	for _, ch := range chosen {
		v.Chosen[ch] = true
	}
	if chosen == nil && status == http.StatusOK && len(v.Channels) == 1 {
		v.Chosen[v.Channels[0]] = true // the one channel there is: what a shortcut means
	}
	return render(c, status, pages.RuleFormPage(v))
}
