package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
)

// An admin makes a token on the dashboard and sees it once; the list never shows it again;
// bad input comes back beside its field; revoking ends it at once. Viewers get none of this.
func TestTokensPage(t *testing.T) {
	a := setup(t)
	resp, doc := a.get("/dashboard/tokens")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "/api/docs", doc.Find(`[data-testid="api-docs-link"]`).AttrOr("href", ""), "the tokens page leads to the API reference")
	require.NotEmpty(t, doc.Find(`[data-testid="empty"]`).Nodes)

	token := a.csrf("/dashboard/tokens")
	resp, doc = a.post("/dashboard/tokens", url.Values{"_csrf": {token}, "name": {"ci-deploy"}, "role": {"admin"}, "expires": {"720h"}})
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	value, _ := doc.Find(`[data-testid="new-token-value"]`).Attr("value")
	require.True(t, strings.HasPrefix(value, models.TokenPrefix), "the new token is shown: %q", value)
	got, err := a.store.Tokens.TokenByValue(context.Background(), value)
	require.NoError(t, err)
	require.Equal(t, models.RoleAdmin, got.Role)
	require.Equal(t, "local", got.CreatedBy)
	require.NotNil(t, got.ExpiresAt)

	resp, doc = a.get("/dashboard/tokens")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	html, _ := doc.Html()
	require.NotContains(t, html, value, "shown once, never again")
	row := doc.Find(`[data-testid="token-row"][data-name="ci-deploy"]`)
	require.Contains(t, row.Text(), "admin")
	require.Contains(t, row.Text(), "by local")
	require.Equal(t, 1, doc.Find(`select[name="role"] option[value="operator"]`).Length(), "operator is offered")
	resp, _ = a.post("/dashboard/tokens", url.Values{"_csrf": {token}, "name": {"on-call"}, "role": {"operator"}})
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.NoError(t, a.store.Tokens.RevokeAPIToken(context.Background(), "on-call"))

	for _, tc := range []struct {
		form  url.Values
		field string
		says  string
	}{
		{url.Values{"name": {"ci-deploy"}, "role": {"viewer"}}, "name", "already a token named"},
		{url.Values{"name": {"bad name!"}, "role": {"viewer"}}, "name", "letters, digits"},
		{url.Values{"name": {"x"}, "role": {"root"}}, "role", "viewer, operator or admin"},
		{url.Values{"name": {"x"}, "role": {"viewer"}, "expires": {"forever"}}, "expires", "Choose one"},
	} {
		tc.form.Set("_csrf", token)
		resp, doc := a.post("/dashboard/tokens", tc.form)
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, tc.form)
		require.Contains(t, doc.Find(`[data-testid="error-`+tc.field+`"]`).Text(), tc.says)
		typed, _ := doc.Find(`input[name="name"]`).Attr("value")
		require.Equal(t, tc.form.Get("name"), typed, "typed values are kept")
		require.Empty(t, doc.Find(`[data-testid="new-token"]`).Nodes)
	}
	list, err := a.store.Tokens.ListAPITokens(context.Background())
	require.NoError(t, err)
	require.Len(t, list, 1, "nothing half-made")

	resp, _ = a.post("/dashboard/tokens/ci-deploy/revoke", url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, doc = a.get("/dashboard/tokens")
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), "Token ci-deploy revoked")
	_, err = a.store.Tokens.TokenByValue(context.Background(), value)
	require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))
	resp, _ = a.post("/dashboard/tokens/ci-deploy/revoke", url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}
