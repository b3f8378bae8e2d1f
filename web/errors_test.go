package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
)

// TestSameErrorSameStatus: one error answers with one status, models.HTTPStatus of its code,
// whether a page, a page asked for JSON, or the API's problem+json reports it, and says the
// same thing in each.
func TestSameErrorSameStatus(t *testing.T) {
	a := setup(t)
	for _, tc := range []struct {
		name, page, api, code string
	}{
		{"a job that isn't there", "/dashboard/jobs/987654", "/api/v1/jobs/987654", models.ENOTFOUND},
		{"a filter no job can hold (a NUL byte)", "/dashboard/jobs?kind=%00", "/api/v1/jobs?kind=%00", models.EINVALID},
		{"a filter that isn't UTF-8", "/dashboard/jobs?q=%FF%FE", "/api/v1/jobs?q=%FF%FE", models.EINVALID},
	} {
		want := models.HTTPStatus(tc.code)

		resp, doc := a.get(tc.page)
		require.Equal(t, want, resp.StatusCode, "page: %s", tc.name)
		pageSays := strings.TrimSpace(doc.Find(`[data-testid="error-message"]`).Text())
		require.NotEmpty(t, pageSays, tc.name)

		req, err := http.NewRequest(http.MethodGet, a.server.URL+tc.page, nil)
		require.NoError(t, err)
		req.Header.Set("Accept", "application/json")
		resp, err = a.client.Do(req)
		require.NoError(t, err)
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		var asJSON struct {
			Error struct{ Code, Message string }
		}
		require.NoError(t, json.Unmarshal(raw, &asJSON), "%s", raw)
		require.Equal(t, want, resp.StatusCode, "page as JSON: %s", tc.name)
		require.Equal(t, tc.code, asJSON.Error.Code, tc.name)

		resp, body := a.apiCall(http.MethodGet, tc.api, "", nil)
		require.Equal(t, want, resp.StatusCode, "API: %s: %v", tc.name, body)
		require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		require.EqualValues(t, want, body["status"])
		if tc.code == models.ENOTFOUND {
			require.Equal(t, pageSays, body["detail"], "the same words, page and API")
		}
	}
}

// A body that can't be read as a form is a malformed request, 400, not invalid input (422):
// the request never got as far as saying what it wants.
func TestUnreadableFormIsABadRequest(t *testing.T) {
	a := setup(t)
	req, err := http.NewRequest(http.MethodPost, a.server.URL+"/dashboard/jobs/bulk", strings.NewReader("action=cancel&ids=%zz"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := a.client.Do(req)
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", raw)
	require.Contains(t, string(raw), "The form could not be read")
}
