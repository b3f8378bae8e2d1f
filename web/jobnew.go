package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/views/layout"
	"github.com/kilnhq/kiln/views/pages"
)

// The New job page: any kind, now, later or at a time; and Duplicate, the same form filled
// from a job.

// handleJobNew shows the form: blank for ?kind= (http.request by default), or a copy of job
// ?from=ID.
func (s *Server) handleJobNew(c echo.Context) error {
	v := pages.JobNewView{Form: newJobForm(s.defaultFormKind(c))}
	if k := c.QueryParam("kind"); k != "" {
		v.Form = newJobForm(k)
	}
	if from := c.QueryParam("from"); from != "" {
		id, err := strconv.ParseInt(from, 10, 64)
		if err != nil || id < 1 {
			return echo.NewHTTPError(http.StatusBadRequest, "from must be a job's number.")
		}
		j, err := s.store.JobQueries.GetJob(c.Request().Context(), id)
		if err != nil {
			return err
		}
		if err := s.require(c, authz.EnqueueAction(j.Kind, []byte(j.Args))); err != nil {
			return err // Duplicate of an exec or http.request job: its copy would be refused
		}
		v.Form = jobFormFrom(j.Kind, j.Args, jobFileURL(j.ID, "args.json"), j.Queue, j.Priority, j.MaxAttempts, j.Timeout, j.TagList())
		v.FromID = id
	}
	return s.renderJobNew(c, http.StatusOK, v)
}

// handleJobNewFields renders the kind's own fields, blank: the form asks for them when the
// kind changes.
func (s *Server) handleJobNewFields(c echo.Context) error {
	v := newJobForm(c.QueryParam("kind"))
	s.fillJobForm(c, &v)
	return render(c, http.StatusOK, pages.KindFields(v))
}

// handleJobNewRow renders one more blank row of a list: a header, an argument, a variable.
func (s *Server) handleJobNewRow(c echo.Context) error {
	switch c.QueryParam("list") {
	case "header":
		return render(c, http.StatusOK, pages.KVRow("http_header", pages.KV{}, "Authorization", "Bearer ${secret:api.key}"))
	case "env":
		return render(c, http.StatusOK, pages.KVRow("exec_env", pages.KV{}, "BACKUP_DIR", "/var/backups"))
	case "arg":
		return render(c, http.StatusOK, pages.ArgRow(""))
	}
	return echo.NewHTTPError(http.StatusBadRequest, "list must be header, env or arg.")
}

// handleJobCreate enqueues the job the form describes, or shows the form again with what is
// wrong next to each field (422) and everything typed kept.
func (s *Server) handleJobCreate(c echo.Context) error {
	form := readJobForm(c)
	if err := s.require(c, authz.EnqueueAction(form.Kind, nil)); err != nil {
		return err
	}
	v := pages.JobNewView{Form: form, When: pages.WhenView{When: c.FormValue("when"), Delay: strings.TrimSpace(c.FormValue("delay")),
		RunAt: strings.TrimSpace(c.FormValue("run_at"))}}
	raw := s.jobArgs(&v.Form)
	if err := s.require(c, authz.EnqueueAction(form.Kind, raw)); err != nil {
		return err // a workflow's steps: what they run decides
	}
	opts := jobFormOptions(&v.Form)
	if tags := jobFormTags(&v.Form); len(tags) > 0 {
		opts = append(opts, jobs.Tags(tags...))
	}
	loc := viewerZone(c)
	switch v.When.When {
	case "", "now":
	case "delay":
		d, err := time.ParseDuration(v.When.Delay)
		if err != nil || d <= 0 {
			v.Form.Errors["delay"] = "A duration such as 10m or 2h."
		} else {
			opts = append(opts, jobs.RunAt(time.Now().Add(d)))
		}
	case "at":
		at, err := parseDatetimeLocal(v.When.RunAt, loc)
		if err != nil {
			v.Form.Errors["run_at"] = "A date and time; use the picker or the form 2026-11-21T09:30."
		} else {
			opts = append(opts, jobs.RunAt(at))
		}
	default:
		v.Form.Errors["delay"] = "Choose now, after a delay, or at a time."
	}
	if err := s.checkFormKind(c, &v.Form); err != nil {
		return err
	}
	if len(v.Form.Errors) > 0 {
		return s.renderJobNew(c, http.StatusUnprocessableEntity, v)
	}
	job, err := s.engine.Enqueue(actorContext(c), v.Form.Kind, raw, opts...)
	if argsFieldErrors(&v.Form, err) {
		return s.renderJobNew(c, http.StatusUnprocessableEntity, v)
	}
	if models.ErrorCode(err) == models.EINVALID {
		v.FormError = models.ErrorMessage(err)
		return s.renderJobNew(c, http.StatusUnprocessableEntity, v)
	}
	if err != nil {
		return err
	}
	s.log.Info("web: job enqueued", "id", job.ID, "kind", job.Kind, "user", currentUser(c).Username)
	msg := fmt.Sprintf("Job #%d (%s) enqueued.", job.ID, job.Kind)
	if job.State == models.JobScheduled {
		msg = fmt.Sprintf("Job #%d (%s) scheduled for %s.", job.ID, job.Kind, job.RunAt.In(loc).Format("Mon 2 Jan 2006 15:04 MST"))
	}
	setFlash(c, "success", msg)
	return redirect(c, fmt.Sprintf("/dashboard/jobs/%d", job.ID))
}

// handleJobNewWhen renders the moment the form's date-and-time field holds, as the dashboard
// writes dates; the field asks for it as it changes.
func (s *Server) handleJobNewWhen(c echo.Context) error {
	return render(c, http.StatusOK, pages.RunAtShown(s.runAtPreview(c, c.QueryParam("run_at"))))
}

// runAtPreview reads a date-and-time field's value in the viewer's zone, as the form's post
// does; nothing when it is empty or not a date and time.
func (s *Server) runAtPreview(c echo.Context, value string) pages.RunAtPreview {
	at, err := parseDatetimeLocal(strings.TrimSpace(value), viewerZone(c))
	if err != nil {
		return pages.RunAtPreview{}
	}
	m := s.moment(c, at)
	return pages.RunAtPreview{At: &m}
}

func (s *Server) renderJobNew(c echo.Context, status int, v pages.JobNewView) error {
	s.fillJobForm(c, &v.Form)
	v.When.Zone, v.When.RunAtShown = viewerZone(c).String(), s.runAtPreview(c, v.When.RunAt)
	title := "New job"
	if v.FromID != 0 {
		title = fmt.Sprintf("Duplicate job #%d", v.FromID)
	}
	v.Layout, v.CSRF = s.layoutProps(c, title, layout.SectionJobs), csrfToken(c)
	return render(c, status, pages.JobNewPage(v))
}
