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

// ownedToken makes a token of role owned by the user named owner.
func (a *app) ownedToken(name, role, owner string) string {
	a.t.Helper()
	tok, _, err := a.store.Tokens.CreateAPIToken(context.Background(), name, role, 0, "test", owner)
	require.NoError(a.t, err)
	return tok
}

// Every role has its own tokens on the page: an operator sees, makes and revokes theirs, never
// above their role, and can neither see nor revoke anyone else's. An admin sees and revokes all.
func TestTokensPageShowsYourOwn(t *testing.T) {
	forEachDialect(t, web.Config{}, func(t *testing.T, a *app) {
		a.addUser("ada", models.RoleAdmin)
		a.addUser("olga", models.RoleOperator)
		a.ownedToken("ada-ci", models.RoleAdmin, "ada")
		_, _, err := a.store.Tokens.CreateAPIToken(context.Background(), "legacy", models.RoleAdmin, 0, "kiln token create", "")
		require.NoError(t, err)

		a.login("olga", password)
		resp, doc := a.get("/dashboard/tokens")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, 1, doc.Find(`nav.subnav a[href="/dashboard/tokens"]`).Length(), "the nav links every role to its tokens")
		require.NotEmpty(t, doc.Find(`[data-testid="empty"]`).Nodes)
		require.Zero(t, doc.Find(`[data-testid="token-row"]`).Length(), "nobody else's tokens")
		require.Empty(t, doc.Find(`[data-testid="others-tokens"]`).Nodes)
		require.Zero(t, doc.Find(`select[name="role"] option[value="admin"]`).Length(), "a role above hers is not offered")
		require.Equal(t, 1, doc.Find(`select[name="role"] option[value="operator"]`).Length())

		csrf := a.csrf("/dashboard/tokens")
		resp, doc = a.post("/dashboard/tokens", url.Values{"_csrf": {csrf}, "name": {"olga-up"}, "role": {"admin"}})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		require.Contains(t, doc.Find(`[data-testid="error-role"]`).Text(), "A token's role is at most its owner's: olga is operator")
		resp, _ = a.post("/dashboard/tokens", url.Values{"_csrf": {csrf}, "name": {"olga-ci"}, "role": {"operator"}})
		require.Equal(t, http.StatusCreated, resp.StatusCode)
		list, err := a.store.Tokens.ListAPITokens(context.Background())
		require.NoError(t, err)
		owners := map[string]string{}
		for _, tok := range list {
			owners[tok.Name] = tok.Owner
		}
		require.Equal(t, map[string]string{"ada-ci": "ada", "legacy": "", "olga-ci": "olga"}, owners)
		_, doc = a.get("/dashboard/tokens")
		require.Equal(t, 1, doc.Find(`[data-testid="tokens"] [data-testid="token-row"][data-name="olga-ci"]`).Length())
		require.Equal(t, 1, doc.Find(`[data-testid="token-row"]`).Length())

		for _, other := range []string{"ada-ci", "legacy"} {
			resp, _ = a.post("/dashboard/tokens/"+other+"/revoke", url.Values{"_csrf": {csrf}})
			require.Equal(t, http.StatusNotFound, resp.StatusCode, "%s is not hers to revoke", other)
		}
		resp, _ = a.post("/dashboard/tokens/olga-ci/revoke", url.Values{"_csrf": {csrf}})
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		list, err = a.store.Tokens.ListAPITokens(context.Background())
		require.NoError(t, err)
		require.Len(t, list, 2, "ada-ci and legacy stay")

		a.ownedToken("olga-2", models.RoleViewer, "olga")
		resp, _ = a.post("/logout", url.Values{"_csrf": {csrf}})
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		a.login("ada", password)
		_, doc = a.get("/dashboard/tokens")
		require.Equal(t, 1, doc.Find(`[data-testid="tokens"] [data-testid="token-row"][data-name="ada-ci"]`).Length(), "her own")
		others := doc.Find(`[data-testid="others-tokens"]`)
		require.Contains(t, others.Find(`[data-name="legacy"] [data-testid="token-owner"]`).Text(), "made before owners")
		require.Contains(t, others.Find(`[data-name="olga-2"] [data-testid="token-owner"]`).Text(), "olga")
		csrf = a.csrf("/dashboard/tokens")
		for _, name := range []string{"olga-2", "legacy"} {
			resp, _ = a.post("/dashboard/tokens/"+name+"/revoke", url.Values{"_csrf": {csrf}})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, name)
		}
		list, err = a.store.Tokens.ListAPITokens(context.Background())
		require.NoError(t, err)
		require.Len(t, list, 1)
	})
}

// A token acts with the lesser of its role and its owner's current one: demoting the owner
// refuses the token's next admin request. Its audit entries name the owner. Removing the owner
// revokes it.
func TestTokenFollowsItsOwner(t *testing.T) {
	forEachDialect(t, web.Config{}, func(t *testing.T, a *app) {
		a.addUser("ada", models.RoleAdmin)
		tok := a.ownedToken("ada-ci", models.RoleAdmin, "ada")
		resp, _ := a.apiCall("GET", "/api/v1/secrets", tok, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		resp, _ = a.apiCall("PUT", "/api/v1/secrets/DEPLOY_KEY", tok, map[string]any{"value": "s3cret"})
		require.Less(t, resp.StatusCode, 300)
		var found bool
		for _, e := range a.auditEntries() {
			if e.Actor == "token ada-ci" {
				require.NotNil(t, e.TokenOwner, "%+v", e)
				require.Equal(t, "ada", *e.TokenOwner)
				found = true
			}
		}
		require.True(t, found, "the token's change is audited")

		_, err := a.store.Users.SetUserRole(context.Background(), "ada", models.RoleViewer)
		require.NoError(t, err)
		resp, _ = a.apiCall("GET", "/api/v1/secrets", tok, nil)
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "ada is a viewer now, and so is her token")
		resp, _ = a.apiCall("GET", "/api/v1/stats", tok, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "it still reads")

		require.NoError(t, a.store.Users.DeleteUser(context.Background(), "ada"))
		resp, _ = a.apiCall("GET", "/api/v1/stats", tok, nil)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "removing ada revoked it")
	})
}
