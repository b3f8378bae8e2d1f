package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/views/layout"
	"github.com/kilnhq/kiln/views/pages"
)

// Recurring jobs made on the dashboard: the form that makes one (any kind, with the schedule's
// live preview), and the one that edits or deletes one made at run time. Entries a server's
// code defines keep the schedule-only form (ops.go).

// handleRecurringNew shows a blank form: an HTTP request, in the viewer's zone.
func (s *Server) handleRecurringNew(c echo.Context) error {
	zone := viewerZoneName(c)
	if zone == "" {
		zone = models.DefaultTimeZone
	}
	v := pages.RecurringFormView{Zone: zone, Misfire: models.MisfireRelaxed, Overlap: models.OverlapAllow, Form: newJobForm(pages.KindHTTP)}
	if k := c.QueryParam("kind"); k != "" {
		v.Form = newJobForm(k)
	}
	return s.renderRecurringForm(c, http.StatusOK, v)
}

// readRecurringForm reads the form and turns it into the engine's terms; what is wrong goes to
// v.Form.Errors.
func (s *Server) readRecurringForm(c echo.Context, id int64, name string) (pages.RecurringFormView, json.RawMessage, []jobs.Option) {
	v := pages.RecurringFormView{ID: id, Name: name, Spec: strings.TrimSpace(c.FormValue("spec")), Zone: strings.TrimSpace(c.FormValue("tz")),
		Misfire: c.FormValue("misfire"), Overlap: c.FormValue("overlap"), Form: readJobForm(c)}
	if v.Overlap == "" {
		v.Overlap = models.OverlapAllow // a form from before the field, or curl
	}
	if !slices.Contains(models.OverlapPolicies, v.Overlap) {
		v.Form.Errors["overlap"] = "Choose one of the policies offered."
	}
	if id == 0 {
		v.Name = strings.TrimSpace(c.FormValue("name"))
		if v.Name == "" {
			v.Form.Errors["name"] = "A name is required."
		} else if err := models.RecurringName.Check(v.Name); err != nil {
			v.Form.Errors["name"] = models.ErrorMessage(err)
		}
	}
	if !slices.Contains([]string{models.MisfireRelaxed, models.MisfireStrict, models.MisfireIgnore}, v.Misfire) {
		v.Form.Errors["misfire"] = "Choose one of the policies offered."
	}
	if v.Spec == "" {
		v.Form.Errors["spec"] = "A schedule is required."
	}
	if v.Zone == "" {
		v.Form.Errors["tz"] = "A time zone is required."
	}
	raw := s.jobArgs(&v.Form)
	opts := append(jobFormOptions(&v.Form), jobs.TimeZone(v.Zone), jobs.Misfire(v.Misfire), jobs.Overlap(v.Overlap))
	return v, raw, opts
}

// handleRecurringCreate makes the recurring job the form describes, or shows the form again
// with what is wrong beside each field (422).
func (s *Server) handleRecurringCreate(c echo.Context) error {
	v, raw, opts := s.readRecurringForm(c, 0, "")
	if err := s.require(c, authz.EnqueueAction(v.Form.Kind, raw)); err != nil {
		return err // its jobs run what their kind and arguments say, as one enqueued by hand would
	}
	if err := s.checkFormKind(c, &v.Form); err != nil {
		return err
	}
	if len(v.Form.Errors) > 0 {
		return s.renderRecurringForm(c, http.StatusUnprocessableEntity, v)
	}
	rj, err := s.engine.CreateRecurring(actorContext(c), v.Name, v.Spec, v.Form.Kind, raw, opts...)
	if err != nil {
		return s.recurringFormFailed(c, v, err)
	}
	s.log.Info("web: recurring job created", "name", rj.Name, "kind", rj.Kind, "spec", rj.Spec, "tz", rj.TimeZone, "user", currentUser(c).Username)
	setFlash(c, "success", fmt.Sprintf("Recurring job %s created: it runs %s.", rj.Name, describeSpec(rj.Spec, rj.TimeZone)))
	return redirect(c, "/dashboard/recurring")
}

// saveRecurringDefinition replaces a recurring job made at run time with what the form says.
func (s *Server) saveRecurringDefinition(c echo.Context, rj *models.RecurringJob) error {
	v, raw, opts := s.readRecurringForm(c, rj.ID, rj.Name)
	if err := s.require(c, authz.EnqueueAction(v.Form.Kind, raw)); err != nil {
		return err // its jobs run what their kind and arguments say, as one enqueued by hand would
	}
	if err := s.checkFormKind(c, &v.Form); err != nil {
		return err
	}
	if len(v.Form.Errors) > 0 {
		return s.renderRecurringForm(c, http.StatusUnprocessableEntity, v)
	}
	saved, err := s.engine.ReplaceRecurring(actorContext(c), rj.Name, v.Spec, v.Form.Kind, raw, opts...)
	if err != nil {
		return s.recurringFormFailed(c, v, err)
	}
	s.log.Info("web: recurring job edited", "name", saved.Name, "kind", saved.Kind, "spec", saved.Spec, "tz", saved.TimeZone, "user", currentUser(c).Username)
	setFlash(c, "success", fmt.Sprintf("%s saved: it runs %s.", saved.Name, describeSpec(saved.Spec, saved.TimeZone)))
	return redirect(c, "/dashboard/recurring")
}

// recurringFormFailed shows the engine's refusal next to the field it is about.
func (s *Server) recurringFormFailed(c echo.Context, v pages.RecurringFormView, err error) error {
	switch fields := scheduleFieldErrors(err, v.Zone); {
	case fields != nil:
		for k, msg := range fields {
			v.Form.Errors[k] = msg
		}
	case argsFieldErrors(&v.Form, err):
	case models.ErrorCode(err) == models.ECONFLICT || models.ErrorCode(err) == models.EINVALID:
		v.FormError = models.ErrorMessage(err)
	default:
		return err
	}
	return s.renderRecurringForm(c, http.StatusUnprocessableEntity, v)
}

// renderRecurringFormFor shows the whole form for a recurring job made at run time.
func (s *Server) renderRecurringFormFor(c echo.Context, rj *models.RecurringJob) error {
	v := pages.RecurringFormView{ID: rj.ID, Name: rj.Name, Spec: rj.Spec, Zone: rj.TimeZone, Misfire: rj.Misfire, Overlap: rj.Overlap,
		Form: jobFormFrom(rj.Kind, rj.Args, fmt.Sprintf("/dashboard/recurring/%d/args.json", rj.ID), rj.Queue, rj.Priority, rj.MaxAttempts, rj.Timeout, nil)}
	return s.renderRecurringForm(c, http.StatusOK, v)
}

func (s *Server) renderRecurringForm(c echo.Context, status int, v pages.RecurringFormView) error {
	v.Form.NoTags = true
	s.fillJobForm(c, &v.Form)
	v.Preview, v.Examples = s.schedulePreview(v.Spec, v.Zone), scheduleExamples()
	title := "New recurring job"
	if v.ID != 0 {
		title = "Edit " + v.Name
	}
	v.Layout, v.CSRF = s.layoutProps(c, title, layout.SectionJobs), csrfToken(c)
	if v.ID != 0 {
		var err error
		if v.Audit, err = s.recurringAudit(c, v.Name); err != nil {
			return err
		}
	}
	return render(c, status, pages.RecurringFormPage(v))
}

// scheduleExamples are schedules the recurring form offers to copy, with what they mean in the
// words of the preview.
var scheduleExamples = sync.OnceValue(func() []pages.KV {
	var out []pages.KV
	for _, spec := range []string{"*/15 * * * *", "0 2 * * *", "0 9 * * 1-5", "0 6 1 * *", "@every 30s"} {
		if sched, err := jobs.ParseSchedule(spec, "UTC"); err == nil {
			out = append(out, pages.KV{Name: spec, Value: sched.Describe()})
		}
	}
	return out
})

// describeSpec is a schedule in words, for a flash message.
func describeSpec(spec, tz string) string {
	sched, err := jobs.ParseSchedule(spec, tz)
	if err != nil {
		return spec
	}
	return sched.Describe() + " (" + tz + ")"
}
