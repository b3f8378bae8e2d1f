package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/oauth2-proxy/mockoidc"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// These tests sign in through a real OpenID Connect provider started in the test (mockoidc):
// discovery, the authorization endpoint, the token endpoint and its signed ID tokens. The
// client is a plain HTTP client with a cookie jar that walks the redirects as a browser would.

// idp is the test's identity provider.
type idp struct {
	*mockoidc.MockOIDC
	// endSession, when set, is the end_session_endpoint its discovery document announces.
	endSession string
}

// newIDP starts a provider; with endSession it announces RP-initiated logout at that URL.
func newIDP(t *testing.T, endSession string) *idp {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	require.NoError(t, err)
	p := &idp{MockOIDC: m, endSession: endSession}
	require.NoError(t, m.AddMiddleware(p.announceEndSession))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, m.Start(ln, nil))
	t.Cleanup(func() { _ = m.Shutdown() })
	return p
}

// announceEndSession adds end_session_endpoint to the discovery document (mockoidc has none).
func (p *idp) announceEndSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != mockoidc.DiscoveryEndpoint || p.endSession == "" {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var doc map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		doc["end_session_endpoint"] = p.endSession
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(doc)
	})
}

// queue makes the next sign-in at the provider that of this account.
func (p *idp) queue(subject, name string, groups ...string) {
	p.QueueUser(&mockoidc.MockUser{Subject: subject, PreferredUsername: name, Email: name + "@example.com", Groups: groups})
}

// ssoRoleMap is the tests' role map: no "*", so that an account may match nothing.
const ssoRoleMap = "kiln-admins=admin,oncall=operator,staff=viewer"

// ssoConfig is single sign-on to p, with the client secret read from the vault.
func ssoConfig(t *testing.T, p *idp, self string) web.Config {
	t.Helper()
	rules, err := web.ParseRoleMap(ssoRoleMap)
	require.NoError(t, err)
	cfg := web.Config{OIDC: web.OIDC{
		Issuer: p.Issuer(), ClientID: p.ClientID, ClientSecret: "${secret:oidc-client}",
		Scopes: []string{"openid", "profile", "email", "groups"}, RoleMap: rules, ProviderName: "Mock IdP",
	}}
	cfg.Alerts.PublicURL = self
	return cfg
}

// ssoApp is an app on dsn whose login offers single sign-on to p, and the log it writes.
func ssoApp(t *testing.T, dsn string, p *idp, edit func(*web.Config)) (*app, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	a := setupServed(t, dsn, slog.New(slog.NewTextHandler(logs, nil)), func(self string) web.Config {
		cfg := ssoConfig(t, p, self)
		if edit != nil {
			edit(&cfg)
		}
		return cfg
	})
	_, err := a.vault.Set(context.Background(), "oidc-client", p.ClientSecret, "test")
	require.NoError(t, err)
	return a, logs
}

// forEachSSODialect runs fn on both dialects, each with a provider and an app signing in to it.
func forEachSSODialect(t *testing.T, endSession string, edit func(*web.Config), fn func(t *testing.T, a *app, p *idp, logs *syncBuffer)) {
	t.Helper()
	for _, d := range modeltest.Dialects {
		t.Run(d.Name, func(t *testing.T) {
			p := newIDP(t, endSession)
			a, logs := ssoApp(t, d.DSN(t), p, edit)
			fn(t, a, p, logs)
		})
	}
}

// ssoBegin clicks "Sign in" and lets the provider answer: it returns the callback URL the
// provider sends the browser back to, not yet visited.
func (a *app) ssoBegin(p *idp, next string) *url.URL {
	a.t.Helper()
	resp, _ := a.get("/auth/login?next=" + url.QueryEscape(next))
	require.Equal(a.t, http.StatusSeeOther, resp.StatusCode)
	to, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(a.t, err)
	require.Equal(a.t, p.AuthorizationEndpoint(), to.Scheme+"://"+to.Host+to.Path)
	q := to.Query()
	require.Equal(a.t, "S256", q.Get("code_challenge_method"), "PKCE")
	require.NotEmpty(a.t, q.Get("code_challenge"))
	require.NotEmpty(a.t, q.Get("state"))
	require.NotEmpty(a.t, q.Get("nonce"))
	require.Equal(a.t, a.server.URL+"/auth/callback", q.Get("redirect_uri"))
	resp, _ = a.do(mustRequest(a.t, to.String()))
	require.Equal(a.t, http.StatusFound, resp.StatusCode, "the provider signs the queued account in")
	back, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(a.t, err)
	require.Equal(a.t, a.server.URL+"/auth/callback", back.Scheme+"://"+back.Host+back.Path)
	return back
}

// ssoFinish visits the callback, as the browser does when the provider redirects it.
func (a *app) ssoFinish(back *url.URL) (*http.Response, *goquery.Document) {
	a.t.Helper()
	return a.get(back.RequestURI())
}

func mustRequest(t *testing.T, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	return req
}

// ssoCookie returns the client's cookie of the sign-in attempt (sent to /auth only), or nil.
func (a *app) ssoCookie() *http.Cookie {
	u, _ := url.Parse(a.server.URL + "/auth/callback")
	for _, c := range a.client.Jar.Cookies(u) {
		if c.Name == "kiln_sso" {
			return c
		}
	}
	return nil
}

// loggedIn reports whether the client's session lets it see the task list.
func (a *app) loggedIn() bool {
	a.t.Helper()
	resp, _ := a.get("/")
	return resp.StatusCode == http.StatusOK
}

func TestSSOLoginCreatesTheUserAndSession(t *testing.T) {
	forEachSSODialect(t, "", nil, func(t *testing.T, a *app, p *idp, logs *syncBuffer) {
		a.addUser("ada", models.RoleViewer) // a local user with the same name is not this account
		_, doc := a.get("/login")
		button := doc.Find(`[data-testid="login-sso"]`)
		require.Equal(t, "Sign in with Mock IdP", strings.TrimSpace(button.Text()))
		require.NotEmpty(t, doc.Find(`input[name="password"]`).Nodes, "local login stays by default")

		p.queue("sub-ada", "ada", "kiln-admins", "staff")
		back := a.ssoBegin(p, "/dashboard?queue=default")
		resp, _ := a.ssoFinish(back)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		require.Equal(t, "/dashboard?queue=default", resp.Header.Get("Location"))
		var session *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == "kiln_session" {
				session = c
			}
		}
		require.NotNil(t, session)
		require.True(t, session.HttpOnly)
		require.Equal(t, http.SameSiteLaxMode, session.SameSite)
		require.Nil(t, a.ssoCookie(), "the attempt's cookie is spent")

		resp, doc = a.get("/")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "ada-2", doc.Find(`[data-testid="username"]`).Text())
		users, err := a.store.Users.ListUsers(context.Background())
		require.NoError(t, err)
		require.Len(t, users, 2)
		sso := users[1]
		require.Equal(t, "ada-2", sso.Username)
		require.Equal(t, models.RoleAdmin, sso.Role, "the strongest of kiln-admins and staff")
		require.Equal(t, p.Issuer(), sso.OIDCIssuer)
		require.Equal(t, "sub-ada", sso.OIDCSubject)
		trail, err := a.store.Audit.ListAudit(context.Background(), models.AuditFilter{Action: "login"}, 0, 0, models.MaxAuditPage)
		require.NoError(t, err)
		require.NotEmpty(t, trail.Entries)
		require.Equal(t, "ada-2", trail.Entries[0].Actor, "the sign-in is in the audit trail")
		require.Equal(t, models.AuditOK, trail.Entries[0].Outcome)

		for _, leak := range []string{p.ClientSecret, back.Query().Get("code"), back.Query().Get("state")} {
			require.NotContains(t, logs.String(), leak, "the log holds no secret, code or state")
		}
	})
}

func TestSSORolesFollowTheGroups(t *testing.T) {
	forEachSSODialect(t, "", nil, func(t *testing.T, a *app, p *idp, _ *syncBuffer) {
		for _, tc := range []struct {
			groups []string
			want   string
		}{
			{[]string{"kiln-admins"}, models.RoleAdmin},
			{[]string{"oncall", "staff"}, models.RoleOperator},
			{[]string{"staff", "interns"}, models.RoleViewer},
			{[]string{"oncall", "kiln-admins"}, models.RoleAdmin},
		} {
			p.queue("sub-grace", "grace", tc.groups...)
			resp, _ := a.ssoFinish(a.ssoBegin(p, "/"))
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, "%v", tc.groups)
			_, doc := a.get("/")
			require.Equal(t, "grace", doc.Find(`[data-testid="username"]`).Text())
			users, err := a.store.Users.ListUsers(context.Background())
			require.NoError(t, err)
			require.Len(t, users, 1, "one account, one user, whatever its groups")
			require.Equal(t, tc.want, users[0].Role, "%v: the role is set at each sign-in", tc.groups)
		}
	})
}

func TestSSOWithLocalLoginOff(t *testing.T) {
	off := func(c *web.Config) { c.NoLocalLogin = true }
	forEachSSODialect(t, "", off, func(t *testing.T, a *app, p *idp, _ *syncBuffer) {
		a.addUser("root", models.RoleAdmin) // as kiln user would, for break-glass
		_, doc := a.get("/login")
		require.Empty(t, doc.Find(`input[name="password"]`).Nodes, "no password form")
		require.NotEmpty(t, doc.Find(`[data-testid="login-sso"]`).Nodes)

		p.queue("sub-ada", "ada", "staff")
		resp, _ := a.ssoFinish(a.ssoBegin(p, "/"))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		require.True(t, a.loggedIn())

		// The login page has no form to take a CSRF token from; a signed-in page has one.
		resp, doc = a.post("/login", url.Values{"_csrf": {a.csrf("/")}, "username": {"root"}, "password": {password}})
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		require.Contains(t, doc.Find(`[data-testid="login-error"]`).Text(), "Sign in with Mock IdP")
		_, doc = a.get("/")
		require.Equal(t, "ada", doc.Find(`[data-testid="username"]`).Text(), "the right password opens nothing")
	})
}

func TestSSOLogoutEndsTheSessionHereAndAtTheProvider(t *testing.T) {
	const endSession = "https://idp.example.com/logout?tenant=acme"
	forEachSSODialect(t, endSession, nil, func(t *testing.T, a *app, p *idp, _ *syncBuffer) {
		p.queue("sub-ada", "ada", "kiln-admins")
		resp, _ := a.ssoFinish(a.ssoBegin(p, "/"))
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		csp := resp.Header.Get("Content-Security-Policy")
		require.Contains(t, csp, "form-action 'self' "+p.Addr(), "the logout form may lead to the provider")

		resp, _ = a.post("/logout", url.Values{"_csrf": {a.csrf("/")}})
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		to, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		require.Equal(t, "https://idp.example.com/logout", to.Scheme+"://"+to.Host+to.Path)
		q := to.Query()
		require.Equal(t, "acme", q.Get("tenant"), "the endpoint's own query is kept")
		require.Equal(t, a.server.URL+"/login", q.Get("post_logout_redirect_uri"))
		require.Equal(t, p.ClientID, q.Get("client_id"))
		hint := q.Get("id_token_hint")
		require.Len(t, strings.Split(hint, "."), 3, "the ID token of the login")
		_, err = p.Keypair.VerifyJWT(hint, p.Now)
		require.NoError(t, err, "signed by the provider")
		require.False(t, a.loggedIn(), "the Kiln session ended")
	})
}

func TestSSOLogoutWithoutEndSessionStaysHere(t *testing.T) {
	p := newIDP(t, "")
	a, _ := ssoApp(t, modeltest.SQLiteDSN(t), p, nil)
	p.queue("sub-ada", "ada", "kiln-admins")
	a.ssoFinish(a.ssoBegin(p, "/"))
	resp, _ := a.post("/logout", url.Values{"_csrf": {a.csrf("/")}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/login", resp.Header.Get("Location"))
	require.False(t, a.loggedIn())
}

func TestSSOClientSecretFromTheVault(t *testing.T) {
	p := newIDP(t, "")
	a, logs := ssoApp(t, modeltest.SQLiteDSN(t), p, nil)
	require.Contains(t, logs.String(), "single sign-on will fail until this is fixed", "the secret was missing at start")
	require.Contains(t, logs.String(), "--oidc-client-secret refers to ${secret:oidc-client}, and there is no secret of that name")
	require.NoError(t, a.vault.Delete(context.Background(), "oidc-client"))
	resp, doc := a.get("/auth/login")
	require.Equal(t, http.StatusBadGateway, resp.StatusCode, "the secret is missing")
	require.Contains(t, doc.Find(`[data-testid="error-message"]`).Text(), "An admin finds the reason in Kiln's log")
	require.Contains(t, logs.String(), "oidc-client", "the log names the missing secret")

	_, err := a.vault.Set(context.Background(), "oidc-client", "not-the-secret", "test")
	require.NoError(t, err)
	p.queue("sub-ada", "ada", "kiln-admins")
	resp, _ = a.ssoFinish(a.ssoBegin(p, "/"))
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "a wrong secret: the provider refuses the client")
	require.NotContains(t, logs.String(), "not-the-secret")

	_, err = a.vault.Set(context.Background(), "oidc-client", p.ClientSecret, "test")
	require.NoError(t, err)
	p.queue("sub-ada", "ada", "kiln-admins")
	resp, _ = a.ssoFinish(a.ssoBegin(p, "/"))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "read at each sign-in: no restart needed")
	require.False(t, bytes.Contains([]byte(logs.String()), []byte(p.ClientSecret)))
}

func TestSSOProviderAwayAtStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	issuer := "http://" + ln.Addr().String() + "/oidc"
	require.NoError(t, ln.Close()) // nothing listens there
	rules, _ := web.ParseRoleMap("*=viewer")
	a := setupServed(t, modeltest.SQLiteDSN(t), nil, func(self string) web.Config {
		cfg := web.Config{OIDC: web.OIDC{Issuer: issuer, ClientID: "kiln", RoleMap: rules}}
		cfg.Alerts.PublicURL = self
		return cfg
	})
	_, doc := a.get("/login")
	require.Equal(t, "Sign in with single sign-on", strings.TrimSpace(doc.Find(`[data-testid="login-sso"]`).Text()), "Kiln starts anyway")
	resp, _ := a.get("/auth/login")
	require.Equal(t, http.StatusBadGateway, resp.StatusCode)
}

// Behind an https:// public URL (TLS ends at a proxy), the cookies are Secure.
func TestSSOCookiesAreSecureBehindHTTPS(t *testing.T) {
	p := newIDP(t, "")
	a := setupServed(t, modeltest.SQLiteDSN(t), nil, func(string) web.Config { return ssoConfig(t, p, "https://kiln.example.com") })
	_, err := a.vault.Set(context.Background(), "oidc-client", p.ClientSecret, "test")
	require.NoError(t, err)
	resp, _ := a.get("/auth/login")
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	to, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "https://kiln.example.com/auth/callback", to.Query().Get("redirect_uri"))
	var attempt *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "kiln_sso" {
			attempt = c
		}
	}
	require.NotNil(t, attempt)
	require.True(t, attempt.Secure)
	require.True(t, attempt.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, attempt.SameSite)
	require.Equal(t, "/auth", attempt.Path)
}
