package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// jobIn makes a job in state st: scheduled, enqueued, processing, cancelled or deleted.
func (a *app) jobIn(st models.JobState) *models.Job {
	a.t.Helper()
	ctx := context.Background()
	if st == models.JobScheduled {
		return a.enqueue("mail.send", nil, jobs.RunAt(time.Now().Add(time.Hour)))
	}
	j := a.enqueue("mail.send", nil, jobs.Queue("q"+strconv.FormatInt(time.Now().UnixNano(), 36)))
	var err error
	switch st {
	case models.JobProcessing:
		var claimed []*models.Job
		claimed, err = a.store.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: j.Queue, ServerID: "srv-1", Limit: 1, Lease: time.Minute, Now: time.Now()})
		require.Len(a.t, claimed, 1)
	case models.JobCancelled:
		_, _, err = a.store.Jobs.CancelJob(ctx, j.ID, "test")
	case models.JobDeleted:
		_, _, err = a.store.Jobs.DeleteJob(ctx, j.ID, "test")
	}
	require.NoError(a.t, err)
	got, err := a.store.JobQueries.GetJob(ctx, j.ID)
	require.NoError(a.t, err)
	require.Equal(a.t, st, got.State)
	return got
}

// pageAction posts a job action as the job page's button does and returns the flash it leaves.
func (a *app) pageAction(id int64, action string) string {
	a.t.Helper()
	path := "/dashboard/jobs/" + itoa(id)
	resp, _ := a.post(path+"/"+action, url.Values{"_csrf": {a.csrf(path)}})
	require.Equal(a.t, http.StatusSeeOther, resp.StatusCode, action)
	_, doc := a.get(resp.Header.Get("Location"))
	return doc.Find(`[data-testid="flash"] span`).Text()
}

// apiAction does a job action through the API, as the CLI does.
func (a *app) apiAction(id int64, action string) (int, map[string]any) {
	a.t.Helper()
	if action == "delete" {
		resp, body := a.apiCall("DELETE", "/api/v1/jobs/"+itoa(id), "", nil)
		return resp.StatusCode, body
	}
	resp, body := a.apiCall("POST", "/api/v1/jobs/"+itoa(id)+"/"+action, "", nil)
	return resp.StatusCode, body
}

// For every action and state, the job page offers the action's button exactly when the API
// does it, and an action the state refuses gives the same message on the page as in the API:
// both go through one table, whose rule is the store's.
func TestJobActionsAgreeOnPageAndAPI(t *testing.T) {
	a := setup(t)
	names, _ := web.JobActionNames()
	require.Equal(t, []string{"run", "requeue", "cancel", "delete"}, names)
	for _, st := range []models.JobState{models.JobScheduled, models.JobEnqueued, models.JobProcessing, models.JobCancelled, models.JobDeleted} {
		for _, action := range names {
			t.Run(string(st)+"/"+action, func(t *testing.T) {
				j := a.jobIn(st)
				_, doc := a.get("/dashboard/jobs/" + itoa(j.ID))
				offered := doc.Find(`[data-testid="action-`+action+`"]`).Length() > 0
				status, body := a.apiAction(j.ID, action)
				require.Equal(t, offered, status < 300, "the page offers %s to a %s job exactly when the API does it: %v", action, st, body)
				if offered {
					return
				}
				require.Equal(t, http.StatusConflict, status, body)
				require.NotEmpty(t, body["detail"])
				require.Equal(t, body["detail"], a.pageAction(j.ID, action), "the page and the API refuse %s for a %s job with the same words", action, st)
			})
		}
	}
}

// Run now is "run" on the page as in the API and the CLI; the page's old path still works.
func TestJobRunNowIsNamedRun(t *testing.T) {
	a := setup(t)
	j := a.jobIn(models.JobScheduled)
	_, doc := a.get("/dashboard/jobs/" + itoa(j.ID))
	require.Equal(t, "/dashboard/jobs/"+itoa(j.ID)+"/run", doc.Find(`[data-testid="action-run"]`).Closest("form").AttrOr("action", ""))
	require.Equal(t, fmt.Sprintf("Job #%d triggered to run now.", j.ID), a.pageAction(j.ID, "run"))
	old := a.jobIn(models.JobScheduled)
	require.Equal(t, fmt.Sprintf("Job #%d triggered to run now.", old.ID), a.pageAction(old.ID, "trigger"))

	// The jobs list offers the table's bulk actions, and refuses the others by the same list.
	_, bulk := web.JobActionNames()
	_, doc = a.get("/dashboard/jobs")
	require.Equal(t, bulk, doc.Find(`[data-testid="bulkbar"] button[name="action"]`).Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("value", "") }))
	resp, doc := a.post("/dashboard/jobs/bulk", url.Values{"_csrf": {a.csrf("/dashboard/jobs")}, "action": {"run"}, "ids": {itoa(j.ID)}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Text(), "Choose requeue, cancel or delete.")
}

// The API's action enum is the table's actions but delete, which is DELETE /v1/jobs/{id}.
func TestAPIJobActionsAreTheTables(t *testing.T) {
	names, _ := web.JobActionNames()
	field, ok := reflect.TypeOf(web.JobActionInput{}).FieldByName("Action")
	require.True(t, ok)
	enum := strings.Split(field.Tag.Get("enum"), ",")
	slices.Sort(enum)
	want := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == "delete" })
	slices.Sort(want)
	require.Equal(t, want, enum)
}
