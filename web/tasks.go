package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/internal/tasks"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/views/components"
	"github.com/kilnhq/kiln/views/layout"
	"github.com/kilnhq/kiln/views/pages"
)

// tasksPerPage is the length of a page of the task list.
const tasksPerPage = 50

// datetimeLocal is the value format of <input type="datetime-local">; browsers add seconds
// when the step allows them.
const (
	datetimeLocal        = "2006-01-02T15:04"
	datetimeLocalSeconds = "2006-01-02T15:04:05"
)

// parseDatetimeLocal reads a datetime-local field's value as a time in loc.
func parseDatetimeLocal(value string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation(datetimeLocal, value, loc)
	if err != nil {
		t, err = time.ParseInLocation(datetimeLocalSeconds, value, loc)
	}
	return t, err
}

var statusLabels = map[models.TaskStatus]string{
	models.TaskAll: "All", models.TaskPending: "Pending", models.TaskOverdue: "Overdue", models.TaskCompleted: "Completed",
}

var emptyTexts = map[models.TaskStatus]string{
	models.TaskAll:       "No tasks yet. Create one and give it a due date.",
	models.TaskPending:   "Nothing pending: no open task is due in the future.",
	models.TaskOverdue:   "Nothing overdue.",
	models.TaskCompleted: "No completed tasks yet.",
}

func tasksURL(status models.TaskStatus, page int) string {
	q := url.Values{}
	if status != models.TaskAll {
		q.Set("status", string(status))
	}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	if len(q) == 0 {
		return "/"
	}
	return "/?" + q.Encode()
}

// handleTaskList shows one page of tasks under a filter tab.
func (s *Server) handleTaskList(c echo.Context) error {
	v, err := s.tasksView(c)
	if err != nil {
		return err
	}
	v.Layout = s.layoutProps(c, "Tasks", layout.SectionTasks)
	return render(c, http.StatusOK, pages.TasksPage(v))
}

// handleTaskListLive renders the live part of the Tasks page, for htmx polling.
func (s *Server) handleTaskListLive(c echo.Context) error {
	v, err := s.tasksView(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, pages.TasksLive(v))
}

// tasksView is the Tasks page but its layout, which the live part leaves out (reading the
// layout would take the pending flash message).
func (s *Server) tasksView(c echo.Context) (pages.TasksView, error) {
	status, err := models.ParseTaskStatus(c.QueryParam("status"))
	if err != nil {
		return pages.TasksView{}, err
	}
	page := 1
	if raw := c.QueryParam("page"); raw != "" {
		if page, err = strconv.Atoi(raw); err != nil || page < 1 || page > 1_000_000 {
			return pages.TasksView{}, models.Errorf(models.EINVALID, "Page must be a whole number of at least 1, not %q.", raw)
		}
	}
	ctx, now := c.Request().Context(), s.cfg.Now()
	counts, err := s.store.Tasks.CountTasks(ctx, now)
	if err != nil {
		return pages.TasksView{}, err
	}
	tasks, err := s.store.Tasks.ListTasks(ctx, models.TaskFilter{Status: status, Now: now, Limit: tasksPerPage, Offset: (page - 1) * tasksPerPage})
	if err != nil {
		return pages.TasksView{}, err
	}
	tabs := make([]components.Tab, 0, len(models.TaskStatuses))
	for _, st := range models.TaskStatuses {
		tabs = append(tabs, components.Tab{Label: statusLabels[st], Href: tasksURL(st, 1), Count: counts.Of(st), Active: st == status})
	}
	rows := make([]pages.TaskRow, 0, len(tasks))
	for i := range tasks {
		rows = append(rows, s.taskRow(c, &tasks[i], now))
	}
	total := counts.Of(status)
	empty := emptyTexts[status]
	if total > 0 {
		empty = "This page is past the end of the list."
	}
	here := tasksURL(status, page)
	return pages.TasksView{
		Tabs:      tabs,
		Status:    string(status),
		EmptyText: empty,
		Rows:      rows,
		Pager: components.PagerProps{
			Page: page, Pages: int((total + tasksPerPage - 1) / tasksPerPage), Total: total,
			Href: func(p int) string { return tasksURL(status, p) },
		},
		Zone:    viewerZone(c).String(),
		CSRF:    csrfToken(c),
		CanEdit: may(c, authz.TasksEdit), CanEnqueue: may(c, authz.JobsEnqueue),
		ReturnTo: here,
		LiveURL:  "/tasks/live" + strings.TrimPrefix(here, "/"), // "/?status=..." -> "/tasks/live?status=..."
	}, nil
}

func (s *Server) taskRow(c echo.Context, t *models.Task, now time.Time) pages.TaskRow {
	st := t.Status(now)
	row := pages.TaskRow{
		ID: t.ID, Title: t.Title, Description: t.Description,
		Status: string(st), StatusLabel: statusLabels[st], Due: s.moment(c, t.DueAt), CompletedBy: t.CompletedBy,
	}
	if t.CompletedAt != nil {
		m := s.moment(c, *t.CompletedAt)
		row.CompletedAt = &m
	}
	return row
}

// taskForm is the task form as submitted: every value exactly as typed, so a rejected form can be
// shown again unchanged.
type taskForm struct {
	Title, Description, DueAt, Zone string
	// ZoneFrom says whose zone Zone is when the form came without one (no JavaScript, curl):
	// "your browser's" (the zone cookie) or "the server's". Empty when the form named it.
	ZoneFrom string
}

func bindTaskForm(c echo.Context) taskForm {
	f := taskForm{
		Title:       c.FormValue("title"),
		Description: c.FormValue("description"),
		DueAt:       strings.TrimSpace(c.FormValue("due_at")),
		Zone:        strings.TrimSpace(c.FormValue("tz")),
	}
	if f.Zone == "" {
		// The browser fills the field; without JavaScript (or from curl) it is empty. Read
		// the due time in the viewer's zone as last seen, else in the server's, and say so.
		if f.Zone = viewerZoneName(c); f.Zone != "" {
			f.ZoneFrom = "your browser's"
		} else {
			f.Zone, f.ZoneFrom = serverZoneName(), "the server's"
		}
	}
	return f
}

// zoneNote tells, after a save, which zone the due time was read in when the form named none.
func (f taskForm) zoneNote() string {
	if f.ZoneFrom == "" {
		return ""
	}
	return fmt.Sprintf(" No time zone came with the form, so its due time was read in %s (%s zone).", f.Zone, f.ZoneFrom)
}

// input converts the form to a model input, with a message per field that can't be converted.
// The model's own validation runs after, and never overrides these messages.
func (f taskForm) input() (models.TaskInput, map[string]string) {
	in := models.TaskInput{Title: f.Title, Description: f.Description}
	errs := map[string]string{}
	loc, err := loadZone(f.Zone)
	switch {
	case f.Zone == "":
		errs["tz"] = "Time zone is required."
	case err != nil:
		errs["tz"] = fmt.Sprintf("Unknown time zone %q. Use an IANA name such as Europe/Berlin or America/New_York.", f.Zone)
	}
	switch {
	case f.DueAt == "":
		errs["due_at"] = "Due date is required."
	case loc != nil:
		due, err := parseDatetimeLocal(f.DueAt, loc)
		if err != nil {
			errs["due_at"] = fmt.Sprintf("%q is not a date and time; use the picker or the form 2026-11-21T09:30.", f.DueAt)
		}
		in.DueAt = due
	}
	return in, errs
}

// validate runs the form's and the model's checks and returns every message, by field.
func (f taskForm) validate() (models.TaskInput, map[string]string) {
	in, errs := f.input()
	in.Normalize()
	for field, msg := range models.FieldErrors(in.Validate()) {
		_, taken := errs[field]
		_, badZone := errs["tz"]
		if !taken && !(field == "due_at" && badZone) { // without a zone the date can't be read yet
			errs[field] = msg
		}
	}
	return in, errs
}

func (s *Server) renderTaskForm(c echo.Context, status int, task *models.Task, f taskForm, errs map[string]string) error {
	v := pages.TaskFormView{
		Title: f.Title, Description: f.Description, Due: f.DueAt, Zone: f.Zone, Errors: errs, CSRF: csrfToken(c),
		TitleMax: models.TaskTitleMax, DescMax: models.TaskDescriptionMax,
	}
	if task == nil {
		v.Layout = s.layoutProps(c, "New task", layout.SectionTasks)
		v.Heading, v.Action, v.Submit, v.Cancel = "New task", "/tasks", "Create task", "/"
	} else {
		v.Layout = s.layoutProps(c, "Edit task", layout.SectionTasks)
		v.Heading, v.Action, v.Submit, v.Cancel = "Edit task", pages.TaskPath(task.ID, ""), "Save changes", "/"
	}
	if len(errs) > 0 && errs["_form"] == "" {
		errs["_form"] = "The task was not saved. Fix the fields marked below and submit again."
	}
	return render(c, status, pages.TaskFormPage(v))
}

// handleTaskNew shows an empty form, due in an hour (on the hour) in the viewer's zone.
func (s *Server) handleTaskNew(c echo.Context) error {
	loc := viewerZone(c)
	due := s.cfg.Now().In(loc).Add(time.Hour).Truncate(time.Hour)
	return s.renderTaskForm(c, http.StatusOK, nil, taskForm{DueAt: due.Format(datetimeLocal), Zone: viewerZoneName(c)}, nil)
}

// handleTaskCreate creates a task from the form, or shows the form again with its errors (422).
func (s *Server) handleTaskCreate(c echo.Context) error {
	f := bindTaskForm(c)
	in, errs := f.validate()
	if len(errs) > 0 {
		return s.renderTaskForm(c, http.StatusUnprocessableEntity, nil, f, errs)
	}
	task, err := s.store.Tasks.CreateTask(c.Request().Context(), in)
	if err != nil {
		return err
	}
	setFlash(c, "success", fmt.Sprintf("Task “%s” created.", task.Title)+f.zoneNote())
	return redirect(c, "/")
}

func (s *Server) loadTask(c echo.Context) (*models.Task, error) {
	id, err := taskID(c)
	if err != nil {
		return nil, err
	}
	return s.store.Tasks.GetTask(c.Request().Context(), id)
}

// handleTaskShow sends /tasks/:id to the task's edit form, where all of it is shown.
func (s *Server) handleTaskShow(c echo.Context) error {
	task, err := s.loadTask(c)
	if err != nil {
		return err
	}
	return redirect(c, pages.TaskPath(task.ID, "edit"))
}

// handleTaskEdit shows the form filled with the task, its due date in the viewer's zone.
func (s *Server) handleTaskEdit(c echo.Context) error {
	task, err := s.loadTask(c)
	if err != nil {
		return err
	}
	loc := viewerZone(c)
	return s.renderTaskForm(c, http.StatusOK, task, taskForm{
		Title: task.Title, Description: task.Description, DueAt: task.DueAt.In(loc).Format(datetimeLocal), Zone: loc.String(),
	}, nil)
}

// handleTaskUpdate saves the edited task, or shows the form again with its errors (422).
func (s *Server) handleTaskUpdate(c echo.Context) error {
	task, err := s.loadTask(c)
	if err != nil {
		return err
	}
	f := bindTaskForm(c)
	in, errs := f.validate()
	if len(errs) > 0 {
		return s.renderTaskForm(c, http.StatusUnprocessableEntity, task, f, errs)
	}
	if task, err = s.store.Tasks.UpdateTask(c.Request().Context(), task.ID, in); err != nil {
		return err
	}
	setFlash(c, "success", fmt.Sprintf("Task “%s” saved.", task.Title)+f.zoneNote())
	return redirect(c, "/")
}

// handleTaskComplete marks the task completed by a user.
func (s *Server) handleTaskComplete(c echo.Context) error {
	id, err := taskID(c)
	if err != nil {
		return err
	}
	task, err := s.store.Tasks.CompleteTask(c.Request().Context(), id, models.CompletedByUser, s.cfg.Now())
	if err != nil {
		return err
	}
	setFlash(c, "success", fmt.Sprintf("Task “%s” marked complete.", task.Title))
	return redirect(c, returnTo(c))
}

// handleTaskReopen makes a completed task open again.
func (s *Server) handleTaskReopen(c echo.Context) error {
	id, err := taskID(c)
	if err != nil {
		return err
	}
	task, err := s.store.Tasks.ReopenTask(c.Request().Context(), id)
	if err != nil {
		return err
	}
	setFlash(c, "success", fmt.Sprintf("Task “%s” reopened.", task.Title))
	return redirect(c, returnTo(c))
}

// handleTaskDeleteConfirm asks before deleting.
func (s *Server) handleTaskDeleteConfirm(c echo.Context) error {
	task, err := s.loadTask(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, pages.TaskDeletePage(pages.TaskDeleteView{
		Layout: s.layoutProps(c, "Delete task", layout.SectionTasks),
		ID:     task.ID, Title: task.Title, Due: s.moment(c, task.DueAt), CSRF: csrfToken(c),
	}))
}

// handleTaskDelete deletes the task for good.
func (s *Server) handleTaskDelete(c echo.Context) error {
	task, err := s.loadTask(c)
	if err != nil {
		return err
	}
	if err := s.store.Tasks.DeleteTask(c.Request().Context(), task.ID); err != nil {
		return err
	}
	setFlash(c, "success", fmt.Sprintf("Task “%s” deleted.", task.Title))
	return redirect(c, "/")
}

// returnTo is the local page a row action came from, so the list stays on its tab and page.
func returnTo(c echo.Context) string { return localPath(c.FormValue("return_to")) }

// handleWorkItemCreate queues one demo countdown: the "queued background work item" of the
// classic hosted-service sample.
func (s *Server) handleWorkItemCreate(c echo.Context) error {
	job, err := tasks.EnqueueCountdown(actorContext(c), s.engine)
	if err != nil {
		return err
	}
	setFlash(c, "success", fmt.Sprintf("Queued background work item as job #%d (%s).", job.ID, job.Kind))
	return redirect(c, returnTo(c))
}
