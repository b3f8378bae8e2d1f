package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// An action refused (403), invalid (422) or that the store turns down (409) writes exactly one
// entry, with its status as the outcome and nothing in its details: nothing changed, so no
// field before and after, whatever the store had noted before it gave up.
func TestAuditRecordsRefusedAndFailedActionsOnce(t *testing.T) {
	forEachDialect(t, web.Config{}, func(t *testing.T, a *app) {
		s := newAuditScene(t, a)
		a.recurring("nightly", "0 2 * * *")
		viewer := a.token("peek", models.RoleViewer)
		require.NoError(t, a.store.Channels.CreateChannel(t.Context(), &models.Channel{Name: "ops", Type: models.ChannelWebhook,
			Settings: models.ChannelSettings{URL: "https://hooks.example.com/in"}}))

		rows := []auditRow{
			{"refused: a viewer's token pauses", func(s *auditScene) auditWant {
				resp, _ := s.api.apiCall(http.MethodPost, "/api/v1/recurring/nightly/pause", viewer, nil)
				require.Equal(s.api.t, http.StatusForbidden, resp.StatusCode)
				return auditWant{actor: "token peek", action: "recurring.pause", target: "recurring nightly", outcome: "403"}
			}},
			{"invalid: limits on the page", func(s *auditScene) auditWant {
				s.post(http.StatusUnprocessableEntity, "/dashboard/kinds/report.build/limits", url.Values{"max_running": {"-1"}, "rate_n": {"0"}})
				return auditWant{action: "limits.manage", target: "kind report.build", kind: "report.build", outcome: "422"}
			}},
			{"invalid: a batch through the API", func(s *auditScene) auditWant {
				s.call(http.StatusUnprocessableEntity, http.MethodPost, "/api/v1/jobs/batch", map[string]any{"jobs": []map[string]any{
					{"kind": "report.build"}, {"kind": "report.build", "delay": "never"}}})
				return auditWant{api: true, action: "jobs.enqueue", outcome: "422"}
			}},
			{"conflict: requeue of an enqueued job, page", func(s *auditScene) auditWant {
				j := s.page.jobIn(models.JobEnqueued)
				s.post(http.StatusSeeOther, "/dashboard/jobs/"+itoa(j.ID)+"/requeue", nil) // back to the job, saying why not
				return auditWant{action: "jobs.retry", target: "job " + itoa(j.ID), outcome: "409"}
			}},
			{"conflict: requeue of an enqueued job, API", func(s *auditScene) auditWant {
				j := s.page.jobIn(models.JobEnqueued)
				s.call(http.StatusConflict, http.MethodPost, "/api/v1/jobs/"+itoa(j.ID)+"/requeue", nil)
				return auditWant{api: true, action: "jobs.retry", target: "job " + itoa(j.ID), outcome: "409"}
			}},
			{"conflict: a channel's name taken, API", func(s *auditScene) auditWant {
				s.call(http.StatusConflict, http.MethodPost, "/api/v1/alerts/channels", map[string]any{"name": "ops", "type": "slack",
					"settings": map[string]any{"url": "https://hooks.slack.com/services/x"}})
				return auditWant{api: true, action: "channels.edit", target: "channel ops", outcome: "409"}
			}},
			{"conflict: a channel's name taken, page", func(s *auditScene) auditWant {
				s.post(http.StatusUnprocessableEntity, "/dashboard/alerts/channels/new", url.Values{"type": {"webhook"}, "name": {"ops"},
					"url": {"https://hooks.example.com/other"}})
				return auditWant{action: "channels.edit", target: "channel ops", outcome: "422"}
			}},
			{"conflict: a recurring job's name taken, API", func(s *auditScene) auditWant {
				s.call(http.StatusConflict, http.MethodPost, "/api/v1/recurring", map[string]any{"name": "nightly", "spec": "0 3 * * *",
					"kind": "report.build"})
				return auditWant{api: true, action: "recurring.edit", target: "recurring nightly", outcome: "409"}
			}},
		}
		runAuditRows(t, s, rows)
	})
}
