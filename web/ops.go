package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/views/layout"
	"github.com/kilnhq/kiln/views/pages"
)

// handleRecurring lists the recurring jobs.
func (s *Server) handleRecurring(c echo.Context) error {
	ctx := c.Request().Context()
	rows, err := s.store.ListRecurring(ctx)
	if err != nil {
		return err
	}
	v := pages.RecurringView{Layout: s.layoutProps(c, "Recurring jobs", layout.SectionJobs), CanAct: canAct(c), CSRF: csrfToken(c), Zone: viewerZone(c).String()}
	for _, rj := range rows {
		r := pages.RecurringRow{
			ID: rj.ID, Name: rj.Name, Spec: rj.Spec, Zone: rj.TimeZone, Kind: rj.Kind, Queue: rj.Queue,
			Misfire: rj.Misfire, Paused: rj.Paused, Overridden: rj.Overridden,
		}
		if sched, err := jobs.ParseSchedule(rj.Spec, rj.TimeZone); err == nil {
			r.Description = sched.Describe()
			after := s.cfg.Now()
			if rj.NextRunAt != nil && rj.NextRunAt.After(after) {
				r.Next = append(r.Next, s.moment(c, *rj.NextRunAt))
				after = *rj.NextRunAt
			}
			for _, t := range sched.Occurrences(after, after.AddDate(10, 0, 0), 3-len(r.Next)) {
				r.Next = append(r.Next, s.moment(c, t))
			}
		}
		if rj.LastRunAt != nil {
			m := s.moment(c, *rj.LastRunAt)
			r.LastRun = &m
		}
		if rj.LastJobID != nil {
			r.LastJobID, r.LastState = *rj.LastJobID, "deleted"
			if j, err := s.store.GetJob(ctx, *rj.LastJobID); err == nil {
				r.LastState = string(j.State)
			}
		}
		v.Rows = append(v.Rows, r)
	}
	return render(c, http.StatusOK, pages.RecurringPage(v))
}

func recurringID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, models.Errorf(models.ENOTFOUND, "There is no recurring job %q.", c.Param("id"))
	}
	return id, nil
}

// handleRecurringAction triggers, pauses or resumes a recurring job.
func (s *Server) handleRecurringAction(c echo.Context) error {
	id, err := recurringID(c)
	if err != nil {
		return err
	}
	ctx := actorContext(c)
	rj, err := s.store.GetRecurringByID(ctx, id)
	if err != nil {
		return err
	}
	var msg string
	switch c.Param("action") {
	case "trigger":
		job, err := s.engine.TriggerRecurring(ctx, rj.Name)
		if err != nil {
			return err
		}
		msg = fmt.Sprintf("%s triggered as job #%d.", rj.Name, job.ID)
	case "pause":
		if err := s.engine.PauseRecurring(ctx, rj.Name); err != nil {
			return err
		}
		msg = rj.Name + " paused: it enqueues nothing until resumed."
	case "resume":
		if err := s.engine.ResumeRecurring(ctx, rj.Name); err != nil {
			return err
		}
		msg = rj.Name + " resumed from its next occurrence."
	default:
		return echo.ErrNotFound
	}
	s.log.Info("web: recurring job action", "name", rj.Name, "action", c.Param("action"), "user", currentUser(c).Username)
	setFlash(c, "success", msg)
	return redirect(c, "/dashboard/recurring")
}

// handleRecurringEdit shows the schedule form.
func (s *Server) handleRecurringEdit(c echo.Context) error {
	if err := requireAct(c); err != nil {
		return err
	}
	id, err := recurringID(c)
	if err != nil {
		return err
	}
	rj, err := s.store.GetRecurringByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return s.renderRecurringEdit(c, http.StatusOK, rj, rj.Spec, rj.TimeZone, nil)
}

// handleRecurringSave saves an edited schedule, or shows the form again with its errors (422).
func (s *Server) handleRecurringSave(c echo.Context) error {
	id, err := recurringID(c)
	if err != nil {
		return err
	}
	ctx := actorContext(c)
	spec, tz := c.FormValue("spec"), c.FormValue("tz")
	rj, err := s.engine.UpdateRecurringSchedule(ctx, id, spec, tz)
	if fields := models.FieldErrors(err); fields != nil {
		rj, gerr := s.store.GetRecurringByID(ctx, id)
		if gerr != nil {
			return gerr
		}
		return s.renderRecurringEdit(c, http.StatusUnprocessableEntity, rj, spec, tz, fields)
	}
	if err != nil {
		return err
	}
	s.log.Info("web: recurring schedule edited", "name", rj.Name, "spec", rj.Spec, "tz", rj.TimeZone, "user", currentUser(c).Username)
	setFlash(c, "success", fmt.Sprintf("Schedule of %s saved.", rj.Name))
	return redirect(c, "/dashboard/recurring")
}

func (s *Server) renderRecurringEdit(c echo.Context, status int, rj *models.RecurringJob, spec, tz string, errs map[string]string) error {
	return render(c, status, pages.RecurringEditPage(pages.RecurringEditView{
		Layout: s.layoutProps(c, "Edit "+rj.Name, layout.SectionJobs), ID: rj.ID, Name: rj.Name,
		Spec: spec, Zone: tz, Errors: errs, CSRF: csrfToken(c),
	}))
}

// handleServers lists the Kiln processes working jobs.
func (s *Server) handleServers(c echo.Context) error {
	servers, err := s.store.Servers(c.Request().Context())
	if err != nil {
		return err
	}
	silent := 3 * s.engine.ServerHeartbeat()
	v := pages.ServersView{Layout: s.layoutProps(c, "Servers", layout.SectionJobs)}
	for _, srv := range servers {
		v.Rows = append(v.Rows, pages.ServerRow{
			ID: srv.ID, Host: srv.Host, PID: srv.PID, Started: s.moment(c, srv.StartedAt), Heartbeat: s.moment(c, srv.HeartbeatAt),
			Down: s.cfg.Now().Sub(srv.HeartbeatAt) > silent, Queues: srv.Queues, Busy: srv.Busy, Workers: srv.Workers,
		})
	}
	return render(c, http.StatusOK, pages.ServersPage(v))
}

// handleQueues lists the queues.
func (s *Server) handleQueues(c echo.Context) error {
	stats, err := s.store.QueueStats(c.Request().Context())
	if err != nil {
		return err
	}
	v := pages.QueuesView{Layout: s.layoutProps(c, "Queues", layout.SectionJobs), CanAct: canAct(c), CSRF: csrfToken(c)}
	for _, q := range stats {
		row := pages.QueueRow{Name: q.Name, Enqueued: q.Enqueued, Scheduled: q.Scheduled, Processing: q.Processing, Failed: q.Failed, Paused: q.Paused, PausedBy: q.PausedBy}
		if q.OldestEnqueued != nil {
			m := s.moment(c, *q.OldestEnqueued)
			row.Oldest = &m
		}
		v.Rows = append(v.Rows, row)
	}
	return render(c, http.StatusOK, pages.QueuesPage(v))
}

// handleQueueAction pauses or resumes a queue for every server.
func (s *Server) handleQueueAction(c echo.Context) error {
	name, err := url.PathUnescape(c.Param("name"))
	if err != nil {
		return models.Errorf(models.EINVALID, "Bad queue name.")
	}
	ctx := actorContext(c)
	switch c.Param("action") {
	case "pause":
		err = s.engine.PauseQueue(ctx, name)
	case "resume":
		err = s.engine.ResumeQueue(ctx, name)
	default:
		return echo.ErrNotFound
	}
	if err != nil {
		return err
	}
	s.log.Info("web: queue "+c.Param("action")+"d", "queue", name, "user", currentUser(c).Username)
	setFlash(c, "success", fmt.Sprintf("Queue %s %sd.", name, c.Param("action")))
	return redirect(c, "/dashboard/queues")
}
