package web_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// openAlert stores a rule and an open alert of it.
func (a *app) openAlert(rule, subject string, at time.Time) int64 {
	a.t.Helper()
	ctx := context.Background()
	r, err := a.store.Rules.CreateRule(ctx, &models.AlertRule{Name: rule, Watch: models.WatchFailed, Scope: models.ScopeKind, Target: subject, Enabled: true}, at)
	require.NoError(a.t, err)
	al := &models.Alert{RuleID: r.ID, Subject: subject, State: models.AlertOpen, OpenedAt: at, LastNotifiedAt: at, Count: 3, JobIDs: []int64{7, 8}, Messages: 1}
	_, err = a.store.Rules.EvaluateAlerts(ctx, at, 0, func(tx *models.AlertTx) error { return tx.SaveAlert(al) })
	require.NoError(a.t, err)
	return al.ID
}

func TestAPIAlerts(t *testing.T) {
	forEachDialect(t, web.Config{}, func(t *testing.T, a *app) {
		admin, viewer := a.token("ops", models.RoleAdmin), a.token("grafana", models.RoleViewer)
		at := time.Date(2031, 3, 4, 10, 0, 0, 0, time.UTC)
		id := a.openAlert("reports", "report.build", at)

		resp, body := a.apiCall("GET", "/api/v1/alerts?open=true", viewer, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		list := body["alerts"].([]any)
		require.Len(t, list, 1)
		got := list[0].(map[string]any)
		require.Equal(t, "reports", got["rule"])
		require.Equal(t, "report.build", got["subject"])
		require.Equal(t, "open", got["state"])
		require.EqualValues(t, 3, got["count"])
		require.Equal(t, []any{7.0, 8.0}, got["job_ids"])

		path := "/api/v1/alerts/" + itoa(id)
		resp, _ = a.apiCall("POST", path+"/acknowledge", viewer, nil)
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "a viewer reads only")
		resp, body = a.apiCall("POST", path+"/silence", admin, map[string]any{"until": "2031-03-04T12:00:00Z"})
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Equal(t, "2031-03-04T12:00:00Z", body["silenced_until"])
		resp, body = a.apiCall("POST", path+"/silence", admin, map[string]any{"until": "noon"})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
		// A past time is refused, not taken as an unmute: the silence stays as it was.
		resp, body = a.apiCall("POST", path+"/silence", admin, map[string]any{"until": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
		require.Contains(t, fmt.Sprint(body["errors"]), "body.until")
		require.True(t, time.Date(2031, 3, 4, 12, 0, 0, 0, time.UTC).Equal(*a.alert(id).SilencedUntil), "unchanged")
		// Unmuting is its own action, for admins.
		resp, _ = a.apiCall("DELETE", path+"/silence", viewer, nil)
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "a viewer reads only")
		resp, body = a.apiCall("DELETE", path+"/silence", admin, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Nil(t, body["silenced_until"])
		require.Nil(t, a.alert(id).SilencedUntil)
		resp, _ = a.apiCall("DELETE", "/api/v1/alerts/999/silence", admin, nil)
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
		resp, body = a.apiCall("POST", path+"/acknowledge", admin, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Equal(t, "token ops", body["acknowledged_by"])
		require.NotEmpty(t, body["acknowledged_at"])

		resp, _ = a.apiCall("POST", "/api/v1/alerts/999/acknowledge", admin, nil)
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
		require.NoError(t, modeltest.DB(a.store).Model(&models.Alert{}).Where("id = ?", id).Update("state", models.AlertResolved).Error)
		resp, _ = a.apiCall("POST", path+"/acknowledge", admin, nil)
		require.Equal(t, http.StatusConflict, resp.StatusCode, "a resolved alert")
		resp, _ = a.apiCall("DELETE", path+"/silence", admin, nil)
		require.Equal(t, http.StatusConflict, resp.StatusCode, "a resolved alert")
		resp, body = a.apiCall("GET", "/api/v1/alerts?open=true", viewer, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Empty(t, body["alerts"])
		resp, body = a.apiCall("GET", "/api/v1/alerts", viewer, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Len(t, body["alerts"], 1, "its history")
	})
}
