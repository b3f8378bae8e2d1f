package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// A job held back by its kind's cap or rate says why on its page and in the API, in the same
// words.
func TestJobWaitingReasonOnPageAndAPI(t *testing.T) {
	forEachDialect(t, web.Config{LocalNoAuth: true}, func(t *testing.T, a *app) {
		ctx := context.Background()
		reasons := func(id int64) (page, inAPI string) {
			_, doc := a.get("/dashboard/jobs/" + itoa(id))
			page = strings.Join(strings.Fields(doc.Find(`[data-testid="waiting-for-slot"]`).Text()), " ")
			resp, body := a.apiCall("GET", "/api/v1/jobs/"+itoa(id), "", nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			inAPI, _ = body["waiting_for_slot"].(string)
			return page, inAPI
		}
		claim := func(queue string) {
			claimed, err := a.store.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: queue, ServerID: "srv-1", Limit: 5, Lease: time.Minute, Now: time.Now()})
			require.NoError(t, err)
			require.Len(t, claimed, 1, "the kind's cap or rate holds")
		}

		require.NoError(t, a.store.Kinds.SetKindLimits(ctx, "pdf.render", models.KindLimit{MaxRunning: 1}))
		a.enqueue("pdf.render", nil, jobs.Queue("pdf"))
		capped := a.enqueue("pdf.render", nil, jobs.Queue("pdf"))
		page, inAPI := reasons(capped.ID)
		require.Empty(t, page, "a slot is free")
		require.Empty(t, inAPI, "a slot is free")
		claim("pdf")
		page, inAPI = reasons(capped.ID)
		require.Equal(t, "1 of 1 of its kind running", inAPI)
		require.Equal(t, "· waiting for a slot ("+inAPI+")", page)

		require.NoError(t, a.store.Kinds.SetKindLimits(ctx, "sms.send", models.KindLimit{RateN: 1, RatePerSeconds: 3600}))
		a.enqueue("sms.send", nil, jobs.Queue("sms"))
		rated := a.enqueue("sms.send", nil, jobs.Queue("sms"))
		claim("sms")
		page, inAPI = reasons(rated.ID)
		require.Equal(t, "1 of its kind started this 1h0m0s, the most allowed", inAPI)
		require.Equal(t, "· waiting for a slot ("+inAPI+")", page)
	})
}
