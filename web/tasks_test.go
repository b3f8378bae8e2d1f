package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
	"github.com/stretchr/testify/require"
)

func TestCreateTaskThroughForm(t *testing.T) {
	a := setup(t)
	token := a.csrf("/tasks/new")
	resp, _ := a.post("/tasks", url.Values{
		"_csrf": {token}, "title": {"  File the taxes  "}, "description": {"Before the deadline."},
		// 14 March 2027 is the day New York moves to daylight time: 09:30 EDT is 13:30 UTC.
		"due_at": {"2027-03-14T09:30"}, "tz": {"America/New_York"},
	})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/", resp.Header.Get("Location"))

	_, doc := a.get("/")
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), "File the taxes")
	require.Equal(t, []string{"File the taxes"}, rowTitles(doc))
	require.Contains(t, doc.Find(`[data-testid="task-due"] time`).Text(), "Sun 14 Mar 2027, 13:30", "shown in UTC without a zone cookie")
	_, doc = a.get("/")
	require.Empty(t, doc.Find(`[data-testid="flash"]`).Nodes, "a flash shows once")

	a.setZone("America/New_York")
	_, doc = a.get("/")
	require.Contains(t, doc.Find(`[data-testid="task-due"] time`).Text(), "Sun 14 Mar 2027, 09:30", "shown in the viewer's zone")
	require.Contains(t, doc.Text(), "Times are shown in America/New_York")

	tasks, err := a.store.Tasks.ListTasks(context.Background(), models.TaskFilter{Status: models.TaskAll})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	require.Equal(t, time.Date(2027, 3, 14, 13, 30, 0, 0, time.UTC), tasks[0].DueAt.UTC(), "stored in UTC")
	require.Equal(t, "Before the deadline.", tasks[0].Description)
}

// A task form posted without its time zone (no JavaScript, curl) is read in the viewer's zone
// as last seen, else in the server's, and the flash says which.
func TestCreateTaskWithoutZone(t *testing.T) {
	a := setup(t)
	form := url.Values{"_csrf": {a.csrf("/tasks/new")}, "title": {"No zone"}, "due_at": {"2027-05-01T10:00"}, "tz": {""}}
	resp, _ := a.post("/tasks", form)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, doc := a.get("/")
	server := web.ServerZoneName()
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), "read in "+server+" (the server's zone)")

	a.setZone("Asia/Tokyo")
	form = url.Values{"_csrf": {a.csrf("/tasks/new")}, "title": {"Tokyo"}, "due_at": {"2027-05-01T10:00"}} // no tz field at all
	resp, _ = a.post("/tasks", form)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, doc = a.get("/")
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), "read in Asia/Tokyo (your browser's zone)")

	tasks, err := a.store.Tasks.ListTasks(context.Background(), models.TaskFilter{Status: models.TaskAll})
	require.NoError(t, err)
	due := map[string]time.Time{}
	for _, task := range tasks {
		due[task.Title] = task.DueAt.UTC()
	}
	loc, err := time.LoadLocation(server)
	require.NoError(t, err)
	require.Equal(t, time.Date(2027, 5, 1, 10, 0, 0, 0, loc).UTC(), due["No zone"])
	require.Equal(t, time.Date(2027, 5, 1, 1, 0, 0, 0, time.UTC), due["Tokyo"], "10:00 in Tokyo")
}

func TestCreateTaskBadInput(t *testing.T) {
	valid := url.Values{"title": {"Plan the offsite"}, "description": {"Venue & <agenda>"}, "due_at": {"2027-05-01T10:00"}, "tz": {"Europe/Berlin"}}
	tests := []struct {
		name, field, value, message string
	}{
		{"empty title", "title", "   ", "Title is required."},
		{"title too long", "title", strings.Repeat("t", 201), "at most 200 characters"},
		{"description too long", "description", strings.Repeat("d", 5001), "at most 5000 characters"},
		{"missing due date", "due_at", "", "Due date is required."},
		{"unparseable due date", "due_at", "next tuesday", "is not a date and time"},
		{"impossible due date", "due_at", "2027-02-30T10:00", "is not a date and time"},
		{"unknown time zone", "tz", "Mars/Olympus_Mons", "Unknown time zone"},
		{"path as time zone", "tz", "../../etc/passwd", "Unknown time zone"},
		{"server-local zone", "tz", "Local", "Unknown time zone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := setup(t)
			form := url.Values{"_csrf": {a.csrf("/tasks/new")}}
			for k, v := range valid {
				form[k] = v
			}
			form.Set(tt.field, tt.value)
			before := a.countTasks()
			resp, doc := a.post("/tasks", form)
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
			require.Equal(t, before, a.countTasks(), "nothing is written")
			require.Contains(t, doc.Find(`[data-testid="error-`+tt.field+`"]`).Text(), tt.message)
			require.Len(t, doc.Find(`.field-error`).Nodes, 1, "only the bad field is marked")
			require.NotEmpty(t, doc.Find(`[data-testid="form-error"]`).Text())
			// Everything typed comes back as typed.
			for _, f := range []string{"title", "due_at", "tz"} {
				got, _ := doc.Find(`input[name="` + f + `"]`).Attr("value")
				require.Equal(t, form.Get(f), got, "field %s keeps its value", f)
			}
			require.Equal(t, form.Get("description"), doc.Find(`textarea[name="description"]`).Text())
			aria, _ := doc.Find(`#` + tt.field).Attr("aria-invalid")
			require.Equal(t, "true", aria)
		})
	}
}

func TestUnknownTask(t *testing.T) {
	a := setup(t)
	token := a.csrf("/tasks/new")
	for _, path := range []string{"/tasks/999/edit", "/tasks/999/delete", "/tasks/abc/edit", "/tasks/-1", "/tasks/99999999999999999999/edit", "/no/such/page"} {
		resp, doc := a.get(path)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, path)
		require.NotEmpty(t, doc.Find(`[data-testid="error-page"]`).Nodes, path)
	}
	valid := url.Values{"_csrf": {token}, "title": {"x"}, "due_at": {"2027-01-01T10:00"}, "tz": {"UTC"}}
	for _, path := range []string{"/tasks/999", "/tasks/999/complete", "/tasks/999/reopen", "/tasks/999/delete"} {
		resp, doc := a.post(path, valid)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, path)
		require.Contains(t, doc.Find(`[data-testid="error-message"]`).Text(), "Task 999 does not exist")
	}
	require.EqualValues(t, 0, a.countTasks())

	req, _ := http.NewRequest(http.MethodGet, a.server.URL+"/tasks/999/edit", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := a.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "application/json")
	var body struct {
		Error struct{ Code, Message string }
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Equal(t, "not_found", body.Error.Code)
	require.Contains(t, body.Error.Message, "Task 999 does not exist")
}

func TestEditTask(t *testing.T) {
	a := setup(t)
	a.setZone("Asia/Tokyo")
	task := a.createTask("Renew passport", time.Date(2027, 6, 1, 0, 30, 0, 0, time.UTC))
	_, doc := a.get("/tasks/1/edit")
	val := func(name string) string { v, _ := doc.Find(`input[name="` + name + `"]`).Attr("value"); return v }
	require.Equal(t, "Renew passport", val("title"))
	require.Equal(t, "2027-06-01T09:30", val("due_at"), "due date shown in the viewer's zone")
	require.Equal(t, "Asia/Tokyo", val("tz"))
	token := val("_csrf")

	resp, doc := a.post("/tasks/1", url.Values{"_csrf": {token}, "title": {""}, "due_at": {"2027-06-02T09:30"}, "tz": {"Asia/Tokyo"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-title"]`).Text(), "Title is required.")
	got, err := a.store.Tasks.GetTask(context.Background(), task.ID)
	require.NoError(t, err)
	require.Equal(t, "Renew passport", got.Title, "a rejected edit changes nothing")

	resp, _ = a.post("/tasks/1", url.Values{"_csrf": {token}, "title": {"Renew passport and ID"}, "description": {"Photos first"}, "due_at": {"2027-06-02T09:30"}, "tz": {"Asia/Tokyo"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	got, err = a.store.Tasks.GetTask(context.Background(), task.ID)
	require.NoError(t, err)
	require.Equal(t, "Renew passport and ID", got.Title)
	require.Equal(t, "Photos first", got.Description)
	require.Equal(t, time.Date(2027, 6, 2, 0, 30, 0, 0, time.UTC), got.DueAt.UTC())
}

func TestCompleteReopenDelete(t *testing.T) {
	a := setup(t)
	a.createTask("Call the plumber", time.Now().Add(-time.Hour))
	token := a.csrf("/")

	resp, _ := a.post("/tasks/1/complete", url.Values{"_csrf": {token}, "return_to": {"/?status=overdue"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/?status=overdue", resp.Header.Get("Location"), "back to the tab the action came from")
	_, doc := a.get("/?status=completed")
	require.Equal(t, []string{"Call the plumber"}, rowTitles(doc))
	require.Contains(t, doc.Find(`[data-testid="task-completed"]`).Text(), "by a user")
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), "marked complete")
	require.Equal(t, "Completed", strings.TrimSpace(doc.Find(`[data-testid="badge"]`).Text()))

	resp, _ = a.post("/tasks/1/reopen", url.Values{"_csrf": {token}, "return_to": {"//evil.example/"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/", resp.Header.Get("Location"), "no open redirect")
	_, doc = a.get("/?status=overdue")
	require.Equal(t, []string{"Call the plumber"}, rowTitles(doc))

	_, doc = a.get("/tasks/1/delete")
	require.Contains(t, doc.Find(`[data-testid="confirm-delete"]`).Text(), "Call the plumber")
	require.EqualValues(t, 1, a.countTasks(), "the confirmation page deletes nothing")
	resp, _ = a.post("/tasks/1/delete", url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.EqualValues(t, 0, a.countTasks())
	_, doc = a.get("/")
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), "deleted")
	require.NotEmpty(t, doc.Find(`[data-testid="empty"]`).Nodes)
}

func TestTaskListFilters(t *testing.T) {
	a := setup(t)
	now := time.Now()
	a.createTask("future", now.Add(3*time.Hour))
	a.createTask("past", now.Add(-50*time.Hour))
	done := a.createTask("done", now.Add(-time.Hour))
	_, err := a.store.Tasks.CompleteTask(context.Background(), done.ID, models.CompletedBySweeper, now)
	require.NoError(t, err)

	_, doc := a.get("/")
	counts := map[string]string{}
	doc.Find(`[data-testid="tab"]`).Each(func(_ int, s *goquery.Selection) {
		counts[strings.TrimSpace(strings.TrimSuffix(s.Text(), s.Find(".tab-count").Text()))] = s.Find(".tab-count").Text()
	})
	require.Equal(t, map[string]string{"All": "3", "Pending": "1", "Overdue": "1", "Completed": "1"}, counts)
	require.Equal(t, []string{"past", "done", "future"}, rowTitles(doc))

	_, doc = a.get("/?status=pending")
	require.Equal(t, []string{"future"}, rowTitles(doc))
	require.Contains(t, doc.Find(`[data-testid="task-due"] .rel`).Text(), "in 2 h") // just under 3 h by now
	_, doc = a.get("/?status=overdue")
	require.Equal(t, []string{"past"}, rowTitles(doc))
	require.Contains(t, doc.Find(`[data-testid="task-due"] .rel`).Text(), "2 days ago")
	require.Equal(t, "Overdue", strings.TrimSpace(doc.Find(`[data-testid="badge"]`).Text()))
	_, doc = a.get("/?status=completed")
	require.Equal(t, []string{"done"}, rowTitles(doc))
	require.Contains(t, doc.Find(`[data-testid="task-completed"]`).Text(), "by the overdue sweeper")

	for _, q := range []string{"?status=done", "?page=0", "?page=abc", "?page=-3"} {
		resp, doc := a.get("/" + q)
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, q)
		require.NotEmpty(t, doc.Find(`[data-testid="error-message"]`).Text(), q)
	}
}

func TestTaskListPages(t *testing.T) {
	a := setup(t)
	tasks := make([]models.Task, 120)
	for i := range tasks {
		tasks[i] = models.Task{Title: "t", DueAt: time.Now().Add(time.Duration(i+1) * time.Hour).UTC()}
	}
	require.NoError(t, modeltest.DB(a.store).Create(&tasks).Error)
	_, doc := a.get("/")
	require.Len(t, doc.Find(`[data-testid="task-row"]`).Nodes, 50)
	require.Contains(t, doc.Find(".pager").Text(), "Page 1 of 3")
	_, doc = a.get("/?page=3")
	require.Len(t, doc.Find(`[data-testid="task-row"]`).Nodes, 20)
	_, doc = a.get("/?page=4")
	require.Contains(t, doc.Find(`[data-testid="empty"]`).Text(), "past the end")
}

// The Tasks page's live part is polled for the page's own tab and page, comes without the
// layout (so it never takes the flash meant for the next page), and shows what changed since
// the page was drawn.
func TestTaskListLive(t *testing.T) {
	a := setup(t)
	task := a.createTask("Water the plants", time.Now().Add(time.Hour))
	for path, live := range map[string]string{"/": "/tasks/live", "/?status=pending&page=2": "/tasks/live?page=2&status=pending"} {
		_, doc := a.get(path)
		poll, _ := doc.Find(`#tasks-live`).Attr("hx-get")
		require.Equal(t, live, poll, path)
		trigger, _ := doc.Find(`#tasks-live`).Attr("hx-trigger")
		require.Equal(t, "every 2s", trigger, "as the job pages")
	}

	token := a.csrf("/")
	resp, _ := a.post(fmt.Sprintf("/tasks/%d/complete", task.ID), url.Values{"_csrf": {token}, "return_to": {"/?status=pending"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, doc := a.get("/tasks/live?status=pending")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Empty(t, doc.Find("header.topbar").Nodes, "the live part comes without the layout")
	require.Empty(t, doc.Find(`[data-testid="flash"]`).Nodes)
	require.Contains(t, doc.Find(`[data-testid="empty"]`).Text(), "Nothing pending", "the completed task left the tab")
	poll, _ := doc.Find(`#tasks-live`).Attr("hx-get")
	require.Equal(t, "/tasks/live?status=pending", poll, "and it goes on polling its own tab")
	_, doc = a.get("/?status=pending")
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), "marked complete", "the flash waited for the page")

	resp, doc = a.get("/tasks/live?status=done")
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.NotEmpty(t, doc.Find(`[data-testid="error-message"]`).Text())
}

func rowTitles(doc *goquery.Document) []string {
	var titles []string
	doc.Find(`[data-testid="task-title"]`).Each(func(_ int, s *goquery.Selection) {
		titles = append(titles, strings.TrimSpace(s.Text()))
	})
	return titles
}
