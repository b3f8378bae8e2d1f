package web

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/views/components"
	"github.com/kilnhq/kiln/views/layout"
	"github.com/kilnhq/kiln/views/pages"
)

// handleRecurring lists the recurring jobs.
func (s *Server) handleRecurring(c echo.Context) error {
	ctx := c.Request().Context()
	rows, err := s.store.Recurring.ListRecurring(ctx)
	if err != nil {
		return err
	}
	v := pages.RecurringView{Layout: s.layoutProps(c, "Recurring jobs", layout.SectionJobs), CSRF: csrfToken(c), Zone: viewerZone(c).String()}
	for _, rj := range rows {
		r := pages.RecurringRow{
			ID: rj.ID, Name: rj.Name, Spec: rj.Spec, Zone: rj.TimeZone, Kind: rj.Kind, Queue: rj.Queue,
			Misfire: rj.Misfire, Paused: rj.Paused, Overridden: rj.Overridden, CreatedBy: rj.CreatedBy,
			Overlap: rj.Overlap, Skipped: rj.Skipped,
		}
		if rj.LastSkippedAt != nil {
			m := s.moment(c, *rj.LastSkippedAt)
			r.LastSkipped = &m
		}
		if sched, err := jobs.ParseSchedule(rj.Spec, rj.TimeZone); err == nil {
			r.Description = sched.Describe()
			after := s.cfg.Now()
			if rj.NextRunAt != nil && rj.NextRunAt.After(after) {
				// The row's next occurrence is the truth; the schedule says whether a clock
				// change bears on it.
				run := pages.NextRun{Moment: s.moment(c, *rj.NextRunAt)}
				if up := sched.Upcoming(rj.NextRunAt.Add(-time.Nanosecond), 1); len(up) == 1 && up[0].At.Equal(*rj.NextRunAt) {
					run.Note = up[0].Note
				}
				r.Next = append(r.Next, run)
				after = *rj.NextRunAt
			}
			r.Next = append(r.Next, s.nextRuns(c, sched.Upcoming(after, 3-len(r.Next)))...)
			if o, ok := sched.NextClockNote(after, clockNoteHorizon); ok && !o.At.Before(r.Next[len(r.Next)-1].At) && !hasNote(r.Next, o.At) {
				r.ClockNote = &pages.NextRun{Moment: s.moment(c, o.At), Note: o.Note}
			}
		}
		if rj.LastRunAt != nil {
			m := s.moment(c, *rj.LastRunAt)
			r.LastRun = &m
		}
		if rj.LastJobID != nil {
			r.LastJobID, r.LastState = *rj.LastJobID, "deleted"
			if j, err := s.store.JobQueries.GetJob(ctx, *rj.LastJobID); err == nil {
				r.LastState = string(j.State)
			}
		}
		if rj.LastRunAt == nil {
			// Not run by its schedule yet; a job of its kind may have run otherwise (the sweep
			// runs at start-up too). One row from the (kind, id) index.
			page, err := s.store.JobQueries.ListJobs(ctx, models.JobFilter{Kind: rj.Kind}, 0, 0, 1)
			if err != nil {
				return err
			}
			if len(page.Jobs) == 1 {
				j := page.Jobs[0]
				at := j.CreatedAt
				if j.FinishedAt != nil {
					at = *j.FinishedAt
				} else if j.StartedAt != nil {
					at = *j.StartedAt
				}
				m := s.moment(c, at)
				r.KindLast, r.KindLastID, r.KindLastState = &m, j.ID, string(j.State)
			}
		}
		v.Rows = append(v.Rows, r)
	}
	return render(c, http.StatusOK, pages.RecurringPage(v))
}

// clockNoteHorizon is how far ahead the recurring page looks for a clock change that moves,
// repeats or merges a run: a year covers both changes of any zone.
const clockNoteHorizon = 366 * 24 * time.Hour

func (s *Server) nextRuns(c echo.Context, occ []jobs.Occurrence) []pages.NextRun {
	out := make([]pages.NextRun, len(occ))
	for i, o := range occ {
		out[i] = pages.NextRun{Moment: s.moment(c, o.At), Note: o.Note}
	}
	return out
}

func hasNote(runs []pages.NextRun, at time.Time) bool {
	for _, r := range runs {
		if r.At.Equal(at) && r.Note != "" {
			return true
		}
	}
	return false
}

// schedulePreview describes spec in tz for the schedule form: in words, the next runs in the
// schedule's own zone with what clock changes do to them, or why the schedule is refused.
func (s *Server) schedulePreview(spec, tz string) pages.SchedulePreview {
	p := pages.SchedulePreview{Zone: tz}
	if strings.TrimSpace(spec) == "" {
		return p
	}
	if tz == "" {
		p.Error = "Choose a time zone."
		return p
	}
	sched, err := jobs.ParseSchedule(spec, tz)
	if err != nil {
		p.Error = scheduleError(err)
		return p
	}
	p.Description = sched.Describe()
	now := s.cfg.Now()
	for _, o := range sched.Upcoming(now, 5) {
		p.Runs = append(p.Runs, pages.NextRun{Moment: components.Moment{At: o.At, Now: now.In(o.At.Location())}, Note: o.Note})
	}
	if o, ok := sched.NextClockNote(now, clockNoteHorizon); ok && len(p.Runs) > 0 && o.At.After(p.Runs[len(p.Runs)-1].At) {
		p.ClockNote = &pages.NextRun{Moment: components.Moment{At: o.At, Now: now.In(o.At.Location())}, Note: o.Note}
	}
	return p
}

// scheduleFieldErrors turns the engine's refusal of a schedule into the form's messages, by
// field; nil for any other error.
func scheduleFieldErrors(err error, tz string) map[string]string {
	switch {
	case errors.Is(err, jobs.ErrUnknownTimeZone):
		return map[string]string{"tz": fmt.Sprintf("Unknown time zone %q. Use an IANA name such as Europe/Berlin or UTC.", tz)}
	case errors.Is(err, jobs.ErrInvalidSchedule):
		return map[string]string{"spec": scheduleError(err)}
	}
	return nil
}

// scheduleError is a schedule error as the form shows it, without the package's prefix.
func scheduleError(err error) string {
	return strings.TrimPrefix(err.Error(), jobs.ErrInvalidSchedule.Error()+": ")
}

// handleSchedulePreview renders the schedule form's preview for the spec and tz in the query:
// the form asks for it as the user types. ?schedule= is the old name of ?spec=, still read
// because links and scripts were written with it; spec wins when both come.
func (s *Server) handleSchedulePreview(c echo.Context) error {
	spec, tz := c.QueryParam("spec"), c.QueryParam("tz")
	if spec == "" {
		spec = c.QueryParam("schedule")
	}
	if len(spec) > 200 || len(tz) > 100 {
		// Still a 200: htmx swaps in only successful answers, and the panel must not go on
		// showing the previous schedule's runs.
		return render(c, http.StatusOK, pages.SchedulePreviewPanel(pages.SchedulePreview{Zone: tz,
			Error: "The schedule (at most 200 characters) or the time zone (at most 100) is too long."}))
	}
	return render(c, http.StatusOK, pages.SchedulePreviewPanel(s.schedulePreview(spec, tz)))
}

// handleRecurringAction triggers, pauses or resumes a recurring job.
func (s *Server) handleRecurringAction(c echo.Context) error {
	id, err := recurringID(c)
	if err != nil {
		return err
	}
	ctx := actorContext(c)
	rj, err := s.store.Recurring.GetRecurringByID(ctx, id)
	if err != nil {
		return err
	}
	noteAudit(ctx, "recurring "+rj.Name, nil) // the trail names it, as the API's path does
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
	case "delete":
		if err := s.deleteRecurring(ctx, rj); err != nil {
			return err
		}
		msg = rj.Name + " deleted. The jobs it made stay."
	default:
		return echo.ErrNotFound
	}
	s.log.Info("web: recurring job action", "name", rj.Name, "action", c.Param("action"), "user", currentUser(c).Username)
	setFlash(c, "success", msg)
	return redirect(c, "/dashboard/recurring")
}

// handleRecurringEdit shows the schedule form.
func (s *Server) handleRecurringEdit(c echo.Context) error {
	id, err := recurringID(c)
	if err != nil {
		return err
	}
	rj, err := s.store.Recurring.GetRecurringByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if rj.CreatedBy != "" {
		return s.renderRecurringFormFor(c, rj)
	}
	return s.renderRecurringEdit(c, http.StatusOK, rj, rj.Spec, rj.TimeZone, rj.Overlap, nil)
}

// handleRecurringSave saves an edited schedule, or shows the form again with its errors (422).
func (s *Server) handleRecurringSave(c echo.Context) error {
	id, err := recurringID(c)
	if err != nil {
		return err
	}
	ctx := actorContext(c)
	if rj, err := s.store.Recurring.GetRecurringByID(ctx, id); err != nil {
		return err
	} else if rj.CreatedBy != "" {
		return s.saveRecurringDefinition(c, rj)
	}
	spec, tz, overlap := c.FormValue("spec"), c.FormValue("tz"), c.FormValue("overlap")
	if overlap != "" && !slices.Contains(models.OverlapPolicies, overlap) {
		rj, err := s.store.Recurring.GetRecurringByID(ctx, id)
		if err != nil {
			return err
		}
		return s.renderRecurringEdit(c, http.StatusUnprocessableEntity, rj, spec, tz, overlap, map[string]string{"overlap": "Choose one of the policies offered."})
	}
	var opts []jobs.Option
	if overlap != "" {
		opts = append(opts, jobs.Overlap(overlap))
	}
	rj, err := s.engine.UpdateRecurringSchedule(ctx, id, spec, tz, opts...) // one change: one audit entry
	if fields := scheduleFieldErrors(err, tz); fields != nil {
		rj, gerr := s.store.Recurring.GetRecurringByID(ctx, id)
		if gerr != nil {
			return gerr
		}
		return s.renderRecurringEdit(c, http.StatusUnprocessableEntity, rj, spec, tz, overlap, fields)
	}
	if err != nil {
		return err
	}
	s.log.Info("web: recurring schedule edited", "name", rj.Name, "spec", rj.Spec, "tz", rj.TimeZone, "user", currentUser(c).Username)
	setFlash(c, "success", fmt.Sprintf("Schedule of %s saved.", rj.Name))
	return redirect(c, "/dashboard/recurring")
}

func (s *Server) renderRecurringEdit(c echo.Context, status int, rj *models.RecurringJob, spec, tz, overlap string, errs map[string]string) error {
	if overlap == "" {
		overlap = rj.Overlap
	}
	audit, err := s.recurringAudit(c, rj.Name)
	if err != nil {
		return err
	}
	return render(c, status, pages.RecurringEditPage(pages.RecurringEditView{
		Layout: s.layoutProps(c, "Edit "+rj.Name, layout.SectionJobs), ID: rj.ID, Name: rj.Name,
		Spec: spec, Zone: tz, Overlap: overlap, Errors: errs, CSRF: csrfToken(c), Preview: s.schedulePreview(spec, tz), Audit: audit,
	}))
}

// handleServers lists the Kiln processes working jobs.
func (s *Server) handleServers(c echo.Context) error {
	servers, err := s.store.Servers.Servers(c.Request().Context())
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
	ctx := c.Request().Context()
	stats, err := s.store.Queues.QueueStats(ctx)
	if err != nil {
		return err
	}
	servers, err := s.store.Servers.Servers(ctx)
	if err != nil {
		return err
	}
	v := pages.QueuesView{Layout: s.layoutProps(c, "Queues", layout.SectionJobs), CSRF: csrfToken(c)}
	rows := map[string]*pages.QueueRow{}
	row := func(name string) *pages.QueueRow {
		if r, ok := rows[name]; ok {
			return r
		}
		r := &pages.QueueRow{Name: name}
		rows[name] = r
		return r
	}
	for _, q := range stats {
		r := row(q.Name)
		r.Enqueued, r.Scheduled, r.Processing, r.Failed, r.Paused, r.PausedBy = q.Enqueued, q.Scheduled, q.Processing, q.Failed, q.Paused, q.PausedBy
		if q.OldestEnqueued != nil {
			m := s.moment(c, *q.OldestEnqueued)
			r.Oldest = &m
		}
	}
	// Every queue a live server works is listed, jobs or not, with its workers there and how
	// many of them are busy (jobs a dead server held count as processing, not as busy).
	silent := 3 * s.engine.ServerHeartbeat()
	var live []string
	for _, srv := range servers {
		if s.cfg.Now().Sub(srv.HeartbeatAt) > silent {
			continue
		}
		live = append(live, srv.ID)
		queues, err := jobs.ParseQueues(srv.Queues)
		if err != nil {
			continue // a server of another version; its row on the servers page says what it works
		}
		for _, q := range queues {
			r := row(q.Name)
			r.Workers += q.Workers
			r.Servers++
		}
	}
	busy, err := s.store.JobQueries.RunningByQueue(ctx, live)
	if err != nil {
		return err
	}
	for name, n := range busy {
		if r, ok := rows[name]; ok && r.Servers > 0 {
			r.Busy = n
		}
	}
	names := slices.Sorted(maps.Keys(rows))
	for _, name := range names {
		v.Rows = append(v.Rows, *rows[name])
	}
	return render(c, http.StatusOK, pages.QueuesPage(v))
}

// handleQueueAction pauses or resumes a queue for every server.
func (s *Server) handleQueueAction(c echo.Context) error {
	name, err := pathParam(c, "name")
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

// deleteRecurring deletes a recurring job made by a person (a form, the API or the CLI), for the
// dashboard and the API alike. One a server's code defines is refused (ECONFLICT): it would come
// back when that server next starts, so deleting it would only seem to work.
func (s *Server) deleteRecurring(ctx context.Context, rj *models.RecurringJob) error {
	if rj.CreatedBy == "" {
		return models.Errorf(models.ECONFLICT, "%s is defined in a server's code: it would come back when that server starts. Pause it instead, or remove it from the code.", rj.Name)
	}
	return s.engine.DeleteRecurring(ctx, rj.Name)
}
