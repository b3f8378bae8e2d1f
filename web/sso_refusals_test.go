package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// Sign-ins single sign-on refuses: each answers with a page saying why, and leaves no session
// and no user behind.

func TestSSORefusesAnAccountTheRoleMapGivesNoRole(t *testing.T) {
	forEachSSODialect(t, "", nil, func(t *testing.T, a *app, p *idp, _ *syncBuffer) {
		p.queue("sub-mallory", "mallory", "interns", "contractors")
		resp, doc := a.ssoFinish(a.ssoBegin(p, "/"))
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		msg := doc.Find(`[data-testid="error-message"]`).Text()
		require.Contains(t, msg, "You signed in at Mock IdP as mallory, but Kiln's role map gives none of your groups a role")
		require.Contains(t, msg, "interns, contractors")
		require.Contains(t, msg, "--oidc-role-map")
		require.False(t, a.loggedIn(), "no session")
		n, err := a.store.Users.CountUsers(context.Background())
		require.NoError(t, err)
		require.Zero(t, n, "no user is created")
	})
}

func TestSSORefusesATamperedState(t *testing.T) {
	forEachSSODialect(t, "", nil, func(t *testing.T, a *app, p *idp, _ *syncBuffer) {
		p.queue("sub-eve", "eve", "kiln-admins")
		back := a.ssoBegin(p, "/")
		q := back.Query()
		q.Set("state", q.Get("state")+"x")
		back.RawQuery = q.Encode()
		resp, doc := a.ssoFinish(back)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.Contains(t, doc.Find(`[data-testid="error-message"]`).Text(), "Start again from the login page")
		require.False(t, a.loggedIn())

		// A nonce changed on the way to the provider comes back in the ID token: refused.
		p.queue("sub-eve", "eve", "kiln-admins")
		resp, _ = a.get("/auth/login")
		to, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		q = to.Query()
		q.Set("nonce", "chosen-by-the-attacker")
		to.RawQuery = q.Encode()
		resp, _ = a.do(mustRequest(t, to.String()))
		require.Equal(t, http.StatusFound, resp.StatusCode)
		back, err = url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		resp, _ = a.ssoFinish(back)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "a tampered nonce")
		require.False(t, a.loggedIn())

		// A callback from another browser (no attempt cookie) or with a forged cookie.
		p.queue("sub-eve", "eve", "kiln-admins")
		back = a.ssoBegin(p, "/")
		other := newClient(t) // another browser: no attempt cookie
		a.client, other = other, a.client
		resp, _ = a.ssoFinish(back)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "another browser")
		a.client = other
		u, _ := url.Parse(a.server.URL + "/auth")
		ck := a.ssoCookie()
		require.NotNil(t, ck)
		a.client.Jar.SetCookies(u, []*http.Cookie{{Name: "kiln_sso", Value: "A" + ck.Value[1:], Path: "/auth"}})
		resp, _ = a.ssoFinish(back)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "a forged cookie")
		require.False(t, a.loggedIn())
		n, err := a.store.Users.CountUsers(context.Background())
		require.NoError(t, err)
		require.Zero(t, n)
	})
}

func TestSSORefusesAReplayedCode(t *testing.T) {
	forEachSSODialect(t, "", nil, func(t *testing.T, a *app, p *idp, _ *syncBuffer) {
		p.queue("sub-ada", "ada", "kiln-admins")
		first := a.ssoBegin(p, "/")
		resp, _ := a.ssoFinish(first)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		resp, _ = a.post("/logout", url.Values{"_csrf": {a.csrf("/")}})
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		require.False(t, a.loggedIn())

		resp, _ = a.ssoFinish(first)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "the same callback again: its attempt is spent")
		require.False(t, a.loggedIn())

		// The old code in a fresh attempt of this browser: the provider refuses to redeem it.
		p.queue("sub-ada", "ada", "kiln-admins")
		fresh := a.ssoBegin(p, "/")
		q := fresh.Query()
		q.Set("code", first.Query().Get("code"))
		fresh.RawQuery = q.Encode()
		resp, doc := a.ssoFinish(fresh)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.Contains(t, doc.Find(`[data-testid="error-message"]`).Text(), "did not accept this sign-in (invalid_grant)")
		require.False(t, a.loggedIn())
	})
}

func TestSSORefusesAnExpiredIDToken(t *testing.T) {
	forEachSSODialect(t, "", nil, func(t *testing.T, a *app, p *idp, _ *syncBuffer) {
		p.queue("sub-ada", "ada", "kiln-admins")
		back := a.ssoBegin(p, "/")
		p.FastForward(-2 * p.AccessTTL) // the provider's clock lags: its ID token expired when issued
		resp, doc := a.ssoFinish(back)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.Contains(t, doc.Find(`[data-testid="error-message"]`).Text(), "The ID token from Mock IdP expired at")
		require.False(t, a.loggedIn())

		p.FastForward(2 * p.AccessTTL)
		p.queue("sub-ada", "ada", "kiln-admins")
		resp, _ = a.ssoFinish(a.ssoBegin(p, "/"))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, "a token in date is accepted")
		require.True(t, a.loggedIn())
	})
}

// An account whose groups no longer give it a role is refused at its next sign-in, and the
// sessions it opened before end too: they would go on with the role it had. A provider's
// account never takes a name that stands for Kiln itself in the audit trail.
func TestSSORefusalEndsTheAccountsSessions(t *testing.T) {
	forEachSSODialect(t, "", nil, func(t *testing.T, a *app, p *idp, _ *syncBuffer) {
		p.queue("sub-alice", "alice", "kiln-admins")
		resp, _ := a.ssoFinish(a.ssoBegin(p, "/"))
		require.Less(t, resp.StatusCode, 400)
		require.True(t, a.loggedIn())

		p.queue("sub-alice", "alice", "former-staff")
		resp, _ = a.ssoFinish(a.ssoBegin(p, "/"))
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		require.False(t, a.loggedIn(), "the session opened as an admin ended")

		p.queue("sub-impostor", "local", "kiln-admins")
		resp, _ = a.ssoFinish(a.ssoBegin(p, "/"))
		require.Less(t, resp.StatusCode, 400)
		users, err := a.store.Users.ListUsers(context.Background())
		require.NoError(t, err)
		var names []string
		for _, u := range users {
			names = append(names, u.Username)
		}
		require.Contains(t, names, "local-sso")
		require.NotContains(t, names, "local")
	})
}
