package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/views/components"
	"github.com/kilnhq/kiln/views/layout"
	"github.com/kilnhq/kiln/views/pages"
)

// The alerts page: everyone reads the open alerts, their history and the rules; operators
// acknowledge, silence and unsilence alerts (authz.AlertsAck), admins make and
// delete rules.

// alertHistoryPage is the length of a page of resolved alerts; openAlertsShown caps the open
// ones (a flood groups into one alert per rule and subject, so they are few).
const (
	alertHistoryPage = 50
	openAlertsShown  = 500
	// alertJobsShown is how many of an alert's first jobs its row links: two keep it one
	// line at 1280 px; its messages link five.
	alertJobsShown = 2
)

// silences are the silence durations the page offers, by their form value.
var silences = map[string]time.Duration{"1h": time.Hour, "4h": 4 * time.Hour, "24h": 24 * time.Hour}

// handleAlerts is /dashboard/alerts.
func (s *Server) handleAlerts(c echo.Context) error {
	rules, err := s.store.Rules.ListRules(c.Request().Context())
	if err != nil {
		return err
	}
	names := ruleNamesOf(rules)
	v, err := s.alertsView(c, names)
	if err != nil {
		return err
	}
	before, _ := strconv.ParseInt(c.QueryParam("before"), 10, 64)
	history, err := s.store.Rules.ListAlertHistory(c.Request().Context(), before, alertHistoryPage+1)
	if err != nil {
		return err
	}
	if len(history) > alertHistoryPage {
		history = history[:alertHistoryPage]
		v.OlderURL = "/dashboard/alerts?before=" + strconv.FormatInt(history[len(history)-1].ID, 10) + "#history"
	}
	if before > 0 {
		v.NewestURL = "/dashboard/alerts#history"
	}
	for i := range history {
		v.History = append(v.History, s.alertRow(c, &history[i], names))
	}
	for i := range rules {
		v.Rules = append(v.Rules, ruleRow(&rules[i]))
	}
	return render(c, http.StatusOK, pages.AlertsPage(v))
}

// handleAlertsLive renders the open alerts, for htmx polling.
func (s *Server) handleAlertsLive(c echo.Context) error {
	names, err := s.ruleNames(c.Request().Context())
	if err != nil {
		return err
	}
	v, err := s.alertsView(c, names)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, pages.AlertsLive(v))
}

// alertsView is the page's frame and its open alerts; names are the rules' names by id.
func (s *Server) alertsView(c echo.Context, names map[int64]string) (pages.AlertsView, error) {
	loc := viewerZone(c)
	v := pages.AlertsView{Layout: s.layoutProps(c, "Alerts", layout.SectionJobs), CSRF: csrfToken(c),
		SilenceMin: s.cfg.Now().In(loc).Format(datetimeLocal), Zone: loc.String()}
	open, err := s.store.Rules.ListAlerts(c.Request().Context(), true, openAlertsShown)
	if err != nil {
		return v, err
	}
	for i := range open {
		v.Open = append(v.Open, s.alertRow(c, &open[i], names))
	}
	return v, nil
}

func (s *Server) alertRow(c echo.Context, a *models.Alert, names map[int64]string) pages.AlertRow {
	r := pages.AlertRow{ID: a.ID, Rule: names[a.RuleID], Subject: a.Subject, Opened: s.moment(c, a.OpenedAt), Count: a.Count,
		JobIDs: a.JobIDs[:min(len(a.JobIDs), alertJobsShown)], LastNotified: s.moment(c, a.LastNotifiedAt), AcknowledgedBy: a.AcknowledgedBy}
	at := func(t *time.Time) *components.Moment {
		if t == nil {
			return nil
		}
		m := s.moment(c, *t)
		return &m
	}
	r.AcknowledgedAt, r.Resolved = at(a.AcknowledgedAt), at(a.ResolvedAt)
	if a.SilencedUntil != nil && a.SilencedUntil.After(s.cfg.Now()) {
		r.SilencedUntil = at(a.SilencedUntil)
	}
	return r
}

// handleAlertAcknowledge records that the current user took the alert in hand.
func (s *Server) handleAlertAcknowledge(c echo.Context) error {
	id, err := alertID(c)
	if err != nil {
		return err
	}
	if _, err := s.store.Rules.AcknowledgeAlert(c.Request().Context(), id, currentUser(c).Username, s.cfg.Now()); err != nil {
		return err
	}
	s.log.Info("web: alert acknowledged", "id", id, "user", currentUser(c).Username)
	setFlash(c, "success", "Alert acknowledged: it repeats no more; its resolution is still told.")
	return redirect(c, "/dashboard/alerts")
}

// handleAlertSilence mutes the alert's repeats for 1 h, 4 h or a day ("for"), or until a time
// typed in the viewer's zone ("until").
func (s *Server) handleAlertSilence(c echo.Context) error {
	id, err := alertID(c)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	until, err := silenceUntil(c, now)
	if err != nil {
		return err
	}
	if _, err := s.store.Rules.SilenceAlert(c.Request().Context(), id, until, now); err != nil {
		return err
	}
	s.log.Info("web: alert silenced", "id", id, "until", until, "user", currentUser(c).Username)
	setFlash(c, "success", "Alert silenced until "+until.In(viewerZone(c)).Format("Jan 2 15:04 MST")+".")
	return redirect(c, "/dashboard/alerts")
}

// handleAlertUnsilence ends the alert's silence: its repeats resume.
func (s *Server) handleAlertUnsilence(c echo.Context) error {
	id, err := alertID(c)
	if err != nil {
		return err
	}
	if _, err := s.store.Rules.UnsilenceAlert(c.Request().Context(), id); err != nil {
		return err
	}
	s.log.Info("web: alert unsilenced", "id", id, "user", currentUser(c).Username)
	setFlash(c, "success", "Alert unsilenced: it repeats again while it stays open.")
	return redirect(c, "/dashboard/alerts")
}

// silenceUntil reads the silence asked for (models.SilenceAlert refuses one already over).
func silenceUntil(c echo.Context, now time.Time) (time.Time, error) {
	if d, ok := silences[c.FormValue("for")]; ok {
		return now.Add(d), nil
	}
	value := strings.TrimSpace(c.FormValue("until"))
	if value == "" {
		return time.Time{}, models.Errorf(models.EINVALID, "Choose how long to silence the alert: 1 h, 4 h, 1 day, or until a time.")
	}
	t, err := parseDatetimeLocal(value, viewerZone(c))
	if err != nil {
		return time.Time{}, models.Errorf(models.EINVALID, "Silence until a date and time such as 2026-12-24T18:00, not %q.", value)
	}
	return t, nil
}

func alertID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, models.Errorf(models.ENOTFOUND, "There is no alert %q.", c.Param("id"))
	}
	return id, nil
}

// personsRule is the named rule when a person made it, to change or delete, for the dashboard
// and the API alike. One a server's code defines (no CreatedBy, as deleteRecurring's) is
// refused (ECONFLICT): that server would put it back when it next starts, so the change would
// only seem to work.
func (s *Server) personsRule(ctx context.Context, name string) (*models.AlertRule, error) {
	r, err := s.store.Rules.GetRule(ctx, name)
	if err != nil {
		return nil, err
	}
	if r.CreatedBy == "" {
		return nil, models.Errorf(models.ECONFLICT, "%s is defined in a server's code: it would come back as the code says when that server starts. Change or remove it in the code instead.", name)
	}
	return r, nil
}

// deleteRule deletes a rule a person made, with its alerts.
func (s *Server) deleteRule(ctx context.Context, name string) error {
	if _, err := s.personsRule(ctx, name); err != nil {
		return err
	}
	return s.store.Rules.DeleteRule(ctx, name)
}

// handleRuleDelete deletes a rule and its alerts.
func (s *Server) handleRuleDelete(c echo.Context) error {
	name := c.Param("name")
	if err := s.deleteRule(c.Request().Context(), name); err != nil {
		return err
	}
	s.log.Info("web: alert rule deleted", "name", name, "user", currentUser(c).Username)
	setFlash(c, "success", "Rule "+name+" deleted, with its alerts.")
	return redirect(c, "/dashboard/alerts#rules")
}
