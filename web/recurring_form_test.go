package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
)

// A recurring HTTP job made on the dashboard: stored with who made it, listed with Edit and
// Delete, edited whole (kind, arguments, schedule), and deleted. Mistakes come back beside
// their field.
func TestNewRecurringForm(t *testing.T) {
	a := setup(t)
	ctx := context.Background()
	a.setZone("Europe/Berlin")
	resp, doc := a.get("/dashboard/recurring/new")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "Europe/Berlin", doc.Find(`input[name="tz"]`).AttrOr("value", ""), "the viewer's zone by default")
	require.NotEmpty(t, doc.Find(`[data-testid="schedule-preview"]`).Nodes)
	require.Empty(t, doc.Find(`input[name="tags"]`).Nodes, "recurring jobs carry no tags")

	token := a.csrf("/dashboard/recurring/new")
	form := url.Values{"_csrf": {token}, "name": {"nightly-webhook"}, "spec": {"0 2 * * *"}, "tz": {"Europe/Berlin"}, "misfire": {"relaxed"},
		"overlap": {"skip"}, "kind": {"http.request"}, "http_method": {"POST"}, "http_url": {"https://hooks.example.com/nightly"}, "http_follow": {"on"},
		"max_attempts": {"4"}}
	for _, tc := range []struct {
		change url.Values
		field  string
		says   string
	}{
		{url.Values{"spec": {"0 25 * * *"}}, "spec", "0 25 * * *"},
		{url.Values{"spec": {""}}, "spec", "required"},
		{url.Values{"tz": {"Mars/Olympus"}}, "tz", "Unknown time zone"},
		{url.Values{"name": {""}}, "name", "required"},
		{url.Values{"misfire": {"sometimes"}}, "misfire", "Choose one"},
		{url.Values{"overlap": {"sometimes"}}, "overlap", "Choose one"},
		{url.Values{"http_url": {"not a url"}}, "http_url", "http:// or https://"},
		{url.Values{"kind": {strings.Repeat("k", 300)}}, "kind", "1 to 100 characters"},
	} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		for k, v := range tc.change {
			f[k] = v
		}
		resp, doc := a.post("/dashboard/recurring/new", f)
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, tc.change)
		require.Contains(t, doc.Find(`[data-testid="error-`+tc.field+`"]`).Text(), tc.says, tc.change)
		if f.Get("kind") == "http.request" {
			require.Equal(t, f.Get("http_url"), doc.Find(`input[name="http_url"]`).AttrOr("value", ""), "typed values are kept")
		}
	}
	all, err := a.store.Recurring.ListRecurring(ctx)
	require.NoError(t, err)
	require.Empty(t, all, "nothing half-made")

	resp, _ = a.post("/dashboard/recurring/new", form)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	rj, err := a.store.Recurring.GetRecurring(ctx, "nightly-webhook")
	require.NoError(t, err)
	require.Equal(t, "local", rj.CreatedBy)
	require.Equal(t, models.OverlapSkip, rj.Overlap)
	require.Equal(t, "Europe/Berlin", rj.TimeZone)
	require.Equal(t, 4, rj.MaxAttempts)
	require.JSONEq(t, `{"method":"POST","url":"https://hooks.example.com/nightly","follow_redirects":true}`, rj.Args)
	a.recurring("from-code", "@hourly")
	_, doc = a.get("/dashboard/recurring")
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), "Recurring job nightly-webhook created: it runs at 02:00 every day (Europe/Berlin)")
	resp, doc2 := a.post("/dashboard/recurring/new", form)
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc2.Find(`[data-testid="error-name"]`).Text(), "Choose another name")
	row := doc.Find(`[data-testid="recurring-row"][data-name="nightly-webhook"]`)
	require.Contains(t, row.Find(`[data-testid="created-by"]`).Text(), "made by local")
	require.NotEmpty(t, row.Find(`[data-testid="delete"]`).Nodes)
	code := doc.Find(`[data-testid="recurring-row"][data-name="from-code"]`)
	require.Contains(t, code.Text(), "defined in code")
	require.Empty(t, code.Find(`[data-testid="delete"]`).Nodes)

	// Edit: the whole form, filled in; the change is saved whole.
	base := "/dashboard/recurring/" + strconv.FormatInt(rj.ID, 10)
	_, doc = a.get(base + "/edit")
	require.Equal(t, "https://hooks.example.com/nightly", doc.Find(`input[name="http_url"]`).AttrOr("value", ""))
	require.Equal(t, "0 2 * * *", doc.Find(`input[name="spec"]`).AttrOr("value", ""))
	require.Equal(t, "4", doc.Find(`input[name="max_attempts"]`).AttrOr("value", ""))
	require.Equal(t, "skip", doc.Find(`input[name="overlap"][checked]`).AttrOr("value", ""))
	edit := url.Values{"_csrf": {token}, "spec": {"*/15 * * * *"}, "tz": {"UTC"}, "misfire": {"ignore"}, "overlap": {"replace"}, "kind": {"exec"},
		"exec_program": {"/bin/sh"}, "exec_arg": {"-c", "date"}}
	resp, _ = a.post(base+"/edit", edit)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	rj, err = a.store.Recurring.GetRecurring(ctx, "nightly-webhook")
	require.NoError(t, err)
	require.Equal(t, "*/15 * * * *", rj.Spec)
	require.Equal(t, "exec", rj.Kind)
	require.Equal(t, models.MisfireIgnore, rj.Misfire)
	require.Equal(t, models.OverlapReplace, rj.Overlap)
	require.JSONEq(t, `{"command":["/bin/sh","-c","date"]}`, rj.Args)
	edit.Set("exec_program", "/opt/not-allowed")
	resp, doc = a.post(base+"/edit", edit)
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, doc.Find(`[data-testid="error-exec_program"]`).Text(), "not allowed on this server")

	// A code-defined entry keeps the schedule-only form, and can't be deleted here.
	codeRJ, err := a.store.Recurring.GetRecurring(ctx, "from-code")
	require.NoError(t, err)
	codeBase := "/dashboard/recurring/" + strconv.FormatInt(codeRJ.ID, 10)
	_, doc = a.get(codeBase + "/edit")
	require.Empty(t, doc.Find(`select[name="kind"]`).Nodes)
	resp, _ = a.post(codeBase+"/delete", url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusConflict, resp.StatusCode)

	resp, _ = a.post(base+"/delete", url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, err = a.store.Recurring.GetRecurring(ctx, "nightly-webhook")
	require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))
	_, doc = a.get("/dashboard/recurring")
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), "nightly-webhook deleted")
}

// The preview fragment answers to ?spec=, as the forms send it, and to ?schedule=, its old
// name; when both come, spec wins. It says what is wrong with a bad schedule.
func TestSchedulePreviewFragment(t *testing.T) {
	a := setup(t)
	for _, param := range []string{"schedule", "spec"} {
		_, doc := a.get(fmt.Sprintf("/dashboard/recurring/preview?%s=%s&tz=%s", param, url.QueryEscape("30 2 * * *"), url.QueryEscape("Europe/Berlin")))
		require.Contains(t, doc.Find(`[data-testid="preview-describe"]`).Text(), "at 02:30 every day", param)
		require.Len(t, doc.Find(`[data-testid="preview-runs"] li`).Nodes, 5)
	}
	_, doc := a.get("/dashboard/recurring/preview?schedule=" + url.QueryEscape("0 2 30 2 *") + "&tz=UTC")
	require.NotEmpty(t, doc.Find(`[data-testid="preview-error"]`).Text())
	_, doc = a.get("/dashboard/recurring/preview?" + url.Values{"spec": {"15 4 * * *"}, "schedule": {"30 2 * * *"}, "tz": {"UTC"}}.Encode())
	require.Contains(t, doc.Find(`[data-testid="preview-describe"]`).Text(), "at 04:15 every day", "spec is the name; schedule only its alias")
}

// The recurring form offers schedules to copy, in the preview's words, and its policies as
// choices read whole.
func TestRecurringFormExamplesAndChoices(t *testing.T) {
	a := setup(t)
	_, doc := a.get("/dashboard/recurring/new")
	examples := doc.Find(`[data-testid="schedule-examples"]`)
	require.Equal(t, 5, examples.Find("dt").Length())
	require.Equal(t, "0 9 * * 1-5", examples.Find("dt").Eq(2).Text())
	require.Equal(t, "at 09:00 on weekdays", examples.Find("dd").Eq(2).Text())
	require.Equal(t, "Type a schedule to see when it runs.", doc.Find(`[data-testid="preview-empty"]`).Text())
	require.Equal(t, "relaxed", doc.Find(`input[name="misfire"][checked]`).AttrOr("value", ""), "the default is chosen")
	require.Equal(t, "allow", doc.Find(`input[name="overlap"][checked]`).AttrOr("value", ""))
	require.Equal(t, 3, doc.Find(`[data-testid="field-misfire"] input[type="radio"]`).Length())
	require.Contains(t, doc.Find(`[data-testid="field-misfire"] legend`).Text(), "When runs were missed")
}
