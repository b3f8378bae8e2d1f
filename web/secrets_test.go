package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// An admin saves a secret on the dashboard; no page shows its value again, not even a form that
// comes back with an error; it can be replaced and deleted. Viewers get none of this.
func TestSecretsPage(t *testing.T) {
	a := setup(t)
	ctx := context.Background()
	const value = "hunter2-but-longer-0xC0FFEE"
	resp, doc := a.get("/dashboard/secrets")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	require.NotEmpty(t, doc.Find(`[data-testid="empty"]`).Nodes)
	require.Contains(t, doc.Find(`[data-testid="key-source"]`).Text(), "random key kept in the database")

	token := a.csrf("/dashboard/secrets")
	resp, _ = a.post("/dashboard/secrets", url.Values{"_csrf": {token}, "name": {"stripe.key"}, "value": {value}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	got, err := a.vault.Reveal(ctx, "stripe.key")
	require.NoError(t, err)
	require.Equal(t, value, got)
	resp, doc = a.get("/dashboard/secrets")
	html, _ := doc.Html()
	require.NotContains(t, html, value)
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), "Secret stripe.key saved")
	row := doc.Find(`[data-testid="secret-row"][data-name="stripe.key"]`)
	require.Contains(t, row.Text(), "${secret:stripe.key}")
	require.Contains(t, row.Text(), "by local")

	for _, tc := range []struct {
		form  url.Values
		field string
		says  string
	}{
		{url.Values{"name": {"bad name"}, "value": {value}}, "name", "letters, digits"},
		{url.Values{"name": {"ok"}, "value": {""}}, "value", "needs a value"},
	} {
		tc.form.Set("_csrf", token)
		resp, doc := a.post("/dashboard/secrets", tc.form)
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, tc.form)
		require.Contains(t, doc.Find(`[data-testid="error-`+tc.field+`"]`).Text(), tc.says)
		html, _ := doc.Html()
		require.NotContains(t, html, value, "the value is never sent back")
		typed, _ := doc.Find(`input[name="name"]`).Attr("value")
		require.Equal(t, tc.form.Get("name"), typed)
	}

	resp, _ = a.post("/dashboard/secrets", url.Values{"_csrf": {token}, "name": {"stripe.key"}, "value": {"rotated"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, doc = a.get("/dashboard/secrets")
	require.Contains(t, doc.Find(`[data-testid="flash"]`).Text(), "Secret stripe.key replaced")
	got, err = a.vault.Reveal(ctx, "stripe.key")
	require.NoError(t, err)
	require.Equal(t, "rotated", got)

	resp, _ = a.post("/dashboard/secrets/stripe.key/delete", url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	list, err := a.vault.List(ctx)
	require.NoError(t, err)
	require.Empty(t, list)
	resp, _ = a.post("/dashboard/secrets/stripe.key/delete", url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = a.post("/dashboard/secrets", url.Values{"name": {"x"}, "value": {"y"}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "no CSRF token, no secret")
}

func TestSecretsPageIsForAdmins(t *testing.T) {
	a := setupWith(t, web.Config{})
	a.addUser("val", models.RoleViewer)
	a.login("val", password)
	_, err := a.vault.Set(context.Background(), "db", "pw", "ada")
	require.NoError(t, err)
	resp, _ := a.get("/dashboard/secrets")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	token := a.csrf("/dashboard")
	for _, path := range []string{"/dashboard/secrets", "/dashboard/secrets/db/delete"} {
		resp, _ := a.post(path, url.Values{"_csrf": {token}, "name": {"db"}, "value": {"stolen"}})
		require.Equal(t, http.StatusForbidden, resp.StatusCode, path)
	}
	got, err := a.vault.Reveal(context.Background(), "db")
	require.NoError(t, err)
	require.Equal(t, "pw", got)
}
