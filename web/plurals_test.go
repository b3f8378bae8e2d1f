package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// A count of one reads in the singular wherever a page or a message gives one: "1 attempt",
// "1 job requeued", not "1 attempts".
func TestCountsOfOneAreSingular(t *testing.T) {
	a := setup(t)
	require.NoError(t, a.engine.Register("ping.once", func(context.Context, *models.Job) error { return nil }, jobs.MaxAttempts(1)))
	_, doc := a.get("/dashboard/kinds")
	facts := strings.Join(strings.Fields(doc.Find(`[data-kind="ping.once"] [data-testid="kind-facts"]`).Text()), " ")
	require.Contains(t, facts, "· 1 attempt")
	require.NotContains(t, facts, "1 attempts")

	failed := a.enqueue("mail.send", nil)
	a.finish(failed, models.JobFailed, "smtp down")
	waiting := a.enqueue("mail.send", nil)
	token := a.csrf("/tasks/new")
	resp, _ := a.post("/dashboard/jobs/bulk", url.Values{"_csrf": {token}, "action": {"requeue"}, "return_to": {"/dashboard/jobs"},
		"ids": {strconv.FormatInt(failed.ID, 10), strconv.FormatInt(waiting.ID, 10)}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, doc = a.get("/dashboard/jobs")
	require.Equal(t, "1 job requeued. 1 skipped: its state doesn't allow it.", strings.TrimSpace(doc.Find(`[data-testid="flash"] span`).First().Text()))

	// The confirmation of an action on every matching job, when one matches.
	a.enqueue("solo.kind", nil)
	resp, doc = a.post("/dashboard/jobs/bulk", url.Values{"_csrf": {token}, "action": {"cancel"}, "scope": {"all"}, "state": {"enqueued"},
		"kind": {"solo.kind"}, "return_to": {"/dashboard/jobs"}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	confirm := strings.Join(strings.Fields(doc.Find(`[data-testid="bulk-confirm"]`).Text()), " ")
	require.Equal(t, "1", doc.Find(`[data-testid="bulk-count"]`).Text())
	for _, want := range []string{"cancel the 1 matching job?", "This will cancel 1 job in state", "Yes, cancel 1 job"} {
		require.Contains(t, confirm, want)
	}
	require.NotContains(t, confirm, "1 jobs")
}
