package web_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// The tests of this file attack the web layer through the real middleware: DNS rebinding,
// proxy headers, open redirects, copied cookies, moved and leaked CSRF tokens, weak secrets and
// spoofed client addresses.

const longSecret = "h4T9qLm2XvB7rN1kZs8eWp3JdY6uFc0G-shared"

// withHost sends req as if the browser had asked for host (a rebound name, say).
func (a *app) withHost(method, path, host string, form url.Values) (*http.Response, string) {
	a.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, a.server.URL+path, body)
	require.NoError(a.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Host = host
	resp, doc := a.do(req)
	return resp, doc.Text()
}

func (a *app) port() string {
	u, _ := url.Parse(a.server.URL)
	return u.Port()
}

func (a *app) queuePaused(name string) bool {
	a.t.Helper()
	paused, err := a.store.Queues.PausedQueues(context.Background())
	require.NoError(a.t, err)
	return paused[name]
}

// A page that rebinds its own name to 127.0.0.1 reaches Kiln with its own name in Host: Kiln,
// listening on loopback, refuses it (421) before any page or token is served, and what it
// would have done (pause a queue "by local") is not done.
func TestDNSRebindingIsRefused(t *testing.T) {
	a := setup(t) // local requests skip login, as with `make run`
	evil := "evil.example:" + a.port()
	token := a.csrf("/")

	resp, text := a.withHost(http.MethodGet, "/", evil, nil)
	require.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode)
	require.Contains(t, text, "--allowed-hosts")
	require.NotContains(t, text, "local access")
	require.Empty(t, resp.Header.Values("Set-Cookie"), "no CSRF cookie for a rebound page")
	require.NotEmpty(t, resp.Header.Get("Content-Security-Policy"), "the refusal has the usual headers")
	for _, path := range []string{"/dashboard", "/dashboard/jobs", "/login"} {
		resp, _ = a.withHost(http.MethodGet, path, evil, nil)
		require.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode, path)
	}
	resp, _ = a.withHost(http.MethodPost, "/dashboard/queues/default/pause", evil, url.Values{"_csrf": {token}})
	require.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode)
	require.False(t, a.queuePaused("default"), "nothing was changed")
	for _, host := range []string{"evil.example", "localhost.", "localhost.evil.example", "127.0.0.1.nip.io:" + a.port()} {
		resp, _ = a.withHost(http.MethodGet, "/", host, nil)
		require.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode, "Host %q", host)
	}

	// This machine's own names are served, and count as local.
	for _, host := range []string{"localhost:" + a.port(), "LOCALHOST", "127.0.0.1:" + a.port(), "[::1]:" + a.port(), "kiln.localhost:" + a.port()} {
		resp, text = a.withHost(http.MethodGet, "/", host, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "Host %q", host)
		require.Contains(t, text, "local access", "Host %q", host)
	}
	// Probes answer to any name: load balancers ask by address.
	resp, _ = a.withHost(http.MethodGet, "/healthz", evil, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// A name in --allowed-hosts is served, but never as local access: it is usually a reverse
// proxy's public name, and that proxy may sit on this machine. On every interface with no list,
// any name is served but only loopback names are local.
func TestAllowedHosts(t *testing.T) {
	a := setupWith(t, web.Config{LocalNoAuth: true, AllowedHosts: []string{"kiln.example.com", "*.internal.example"}})
	for host, want := range map[string]int{
		"kiln.example.com":          http.StatusSeeOther, // served: to the login page
		"KILN.example.com:443":      http.StatusSeeOther,
		"a.internal.example":        http.StatusSeeOther,
		"localhost":                 http.StatusOK,
		"internal.example":          http.StatusMisdirectedRequest,
		"evil.example":              http.StatusMisdirectedRequest,
		"kiln.example.com.evil.com": http.StatusMisdirectedRequest,
	} {
		resp, _ := a.withHost(http.MethodGet, "/", host, nil)
		require.Equal(t, want, resp.StatusCode, "Host %q", host)
	}

	b := setupWith(t, web.Config{LocalNoAuth: true, Addr: "0.0.0.0:8080"})
	resp, _ := b.withHost(http.MethodGet, "/", "evil.example", nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "served, but a stranger's name is not this machine: log in")
	require.Contains(t, resp.Header.Get("Location"), "/login")
	resp, text := b.withHost(http.MethodGet, "/", "localhost", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, text, "local access")

	c := setupWith(t, web.Config{LocalNoAuth: true, Addr: "0.0.0.0:8080", AllowedHosts: []string{"kiln.example.com"}})
	resp, _ = c.withHost(http.MethodGet, "/", "evil.example", nil)
	require.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode, "a list, once given, holds on every interface too")

	for _, bad := range []string{"https://kiln.example.com", "kiln.example.com:443", "*", "a b"} {
		_, err := web.New(web.Config{AllowedHosts: []string{bad}}, a.store, a.engine, nil)
		require.Error(t, err, "%q", bad)
		require.Contains(t, err.Error(), "allowed host")
	}
}

// A request that came through a proxy is never local, whichever header says so, even empty.
func TestProxiedRequestsAreNotLocal(t *testing.T) {
	a := setup(t)
	for _, h := range []string{"X-Forwarded-For", "X-Real-IP", "Forwarded", "X-Client-IP", "True-Client-IP", "CF-Connecting-IP", "X-Forwarded-Host", "Via"} {
		for _, value := range []string{"203.0.113.7", ""} {
			req, _ := http.NewRequest(http.MethodGet, a.server.URL+"/", nil)
			req.Header[http.CanonicalHeaderKey(h)] = []string{value}
			resp, _ := a.do(req)
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, "%s: %q", h, value)
		}
	}
}

// Redirect targets stay on this site: control characters, which browsers drop ("/\t/evil"
// becomes "//evil"), and backslashes, which they read as slashes, are refused wherever a
// target is taken: login's next, and return_to of work items, task actions and bulk job
// actions.
func TestRedirectsStayLocal(t *testing.T) {
	a := setupWith(t, web.Config{LocalNoAuth: true})
	a.addUser("ada", models.RoleAdmin)
	task := a.createTask("t", a.now().Add(time.Hour))
	bad := []string{
		"/\t/evil.example", "/\r/evil.example", "/\n/evil.example", "/\t\t//evil.example", "/\\evil.example", "\\/evil.example",
		"/x\\y", "//evil.example", "///evil.example", "https://evil.example/", "/\x00/evil.example", "/\x7f/evil.example", "/%2F%2Fevil.example",
		"javascript:alert(1)", " /evil", "",
	}
	for i, target := range bad {
		if i < 4 { // logins are rate-limited: 5 at once
			resp, _ := a.post("/login", url.Values{"_csrf": {a.csrf("/")}, "username": {"ada"}, "password": {password}, "next": {target}})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, "%q", target)
			require.Equal(t, "/", resp.Header.Get("Location"), "login next %q", target)
		}
		resp, _ := a.get("/login?next=" + url.QueryEscape(target))
		require.Equal(t, "/", resp.Header.Get("Location"), "a logged-in user at /login?next=%q", target)

		token := a.csrf("/")
		resp, _ = a.post("/tasks/"+itoa(task.ID)+"/complete", url.Values{"_csrf": {token}, "return_to": {target}})
		require.Equal(t, "/", resp.Header.Get("Location"), "task return_to %q", target)
		resp, _ = a.post("/work-items", url.Values{"_csrf": {token}, "return_to": {target}})
		require.Equal(t, "/", resp.Header.Get("Location"), "work item return_to %q", target)
		job := a.enqueue("mail.send", nil)
		resp, _ = a.post("/dashboard/jobs/bulk", url.Values{"_csrf": {token}, "action": {"cancel"}, "ids": {itoa(job.ID)}, "return_to": {target}})
		require.Equal(t, "/", resp.Header.Get("Location"), "bulk return_to %q", target)
	}
	resp, _ := a.post("/login", url.Values{"_csrf": {a.csrf("/")}, "username": {"ada"}, "password": {password}, "next": {"/dashboard/jobs?state=failed&q=a%20b"}})
	require.Equal(t, "/dashboard/jobs?state=failed&q=a%20b", resp.Header.Get("Location"), "a plain local path is kept")
}

// Logging out ends the session on the server: a copy of the cookie taken before stops working
// at once, not at its expiry.
func TestLogoutEndsTheSessionEverywhere(t *testing.T) {
	a := setupWith(t, web.Config{})
	a.addUser("ada", models.RoleAdmin)
	require.Equal(t, http.StatusSeeOther, a.login("ada", password).StatusCode)
	copied := a.cookie("kiln_session")
	require.NotNil(t, copied)

	resp, _ := a.post("/logout", url.Values{"_csrf": {a.csrf("/")}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(copied)
	rec := a.serve(req)
	require.Equal(t, http.StatusSeeOther, rec.Code, "the copied cookie no longer logs anyone in")

	// Logging out needs the session's token; without it the session lives on.
	require.Equal(t, http.StatusSeeOther, a.login("ada", password).StatusCode)
	resp, _ = a.post("/logout", url.Values{})
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = a.get("/")
	require.Equal(t, http.StatusOK, resp.StatusCode, "still logged in")
	// Without a session, "Log out" just goes to the login page; from another site, it is refused.
	b := setupWith(t, web.Config{})
	resp, _ = b.post("/logout", url.Values{})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/login", resp.Header.Get("Location"))
	req, _ = http.NewRequest(http.MethodPost, a.server.URL+"/logout", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, _ = a.do(req)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = a.get("/")
	require.Equal(t, http.StatusOK, resp.StatusCode, "another site can't log the user out")
}

// A CSRF token belongs to one session: it is refused in another session of the same user, in
// the session that follows a login or a logout, and in the URL; the header works.
func TestCSRFTokensAreBoundToTheSession(t *testing.T) {
	a := setupWith(t, web.Config{})
	a.addUser("ada", models.RoleAdmin)
	anonymous := a.csrf("/login")
	require.Equal(t, http.StatusSeeOther, a.login("ada", password).StatusCode)
	first := a.csrf("/dashboard/queues")
	second := a.csrf("/dashboard/queues")
	require.NotEqual(t, first, second, "each page gets its token under a fresh mask")

	pause := func(c *app, form url.Values) int {
		resp, _ := c.post("/dashboard/queues/default/pause", form)
		return resp.StatusCode
	}
	require.Equal(t, http.StatusForbidden, pause(a, url.Values{"_csrf": {anonymous}}), "the token from before login")

	b := setupOn(t, a, web.Config{}) // a second browser, same user, same database
	require.Equal(t, http.StatusSeeOther, b.login("ada", password).StatusCode)
	require.Equal(t, http.StatusForbidden, pause(b, url.Values{"_csrf": {first}}), "a token of another session")
	require.False(t, a.queuePaused("default"))

	// In the URL, a token is refused: URLs are logged and leak through Referer.
	resp, _ := a.post("/dashboard/queues/default/pause?_csrf="+url.QueryEscape(first), url.Values{})
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.False(t, a.queuePaused("default"))

	// A cross-origin browser request is refused even with a good token.
	req, _ := http.NewRequest(http.MethodPost, a.server.URL+"/dashboard/queues/default/pause", strings.NewReader(url.Values{"_csrf": {first}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, _ = a.do(req)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	// Either copy works in its own session, in the body or in the X-CSRF-Token header.
	require.Equal(t, http.StatusSeeOther, pause(a, url.Values{"_csrf": {second}}))
	require.True(t, a.queuePaused("default"))
	req, _ = http.NewRequest(http.MethodPost, a.server.URL+"/dashboard/queues/default/resume", nil)
	req.Header.Set("X-CSRF-Token", first)
	resp, _ = a.do(req)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.False(t, a.queuePaused("default"))

	// After logout, the session's tokens are dead, and so are the ones from before login.
	resp, _ = a.post("/logout", url.Values{"_csrf": {first}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, http.StatusForbidden, a.login2(anonymous), "the nonce was renewed at login and logout")
	require.Equal(t, http.StatusSeeOther, a.login2(a.csrf("/login")))
}

// login2 posts the login form with the given token and returns the status.
func (a *app) login2(token string) int {
	a.t.Helper()
	resp, _ := a.post("/login", url.Values{"_csrf": {token}, "username": {"ada"}, "password": {password}})
	return resp.StatusCode
}

// A short or plainly not random secret is refused at start, with a way to make a good one; it
// is never echoed.
func TestWeakSecretIsRefused(t *testing.T) {
	store := modeltest.Open(t, modeltest.SQLiteDSN(t))
	for _, secret := range []string{"x", "shared secret", strings.Repeat("s", 31)} {
		_, err := web.New(web.Config{Secret: secret}, store, nil, nil)
		require.Error(t, err)
		require.Contains(t, err.Error(), "at least 32 bytes")
		require.Contains(t, err.Error(), "openssl rand -base64 32")
		require.NotContains(t, err.Error(), secret)
	}
	// Long enough, but plainly not random: few different bytes, or a short run repeated.
	for _, secret := range []string{strings.Repeat("s", 32), strings.Repeat("ab", 20), "abcdefg" + strings.Repeat("a", 25),
		strings.Repeat("0123456789abcdef", 2), strings.Repeat("correct horse ", 3),
		"0123456789abcdef0123456789abcdefX", "changeme-changeme-changeme-changeme!", "abcdefghijklmnopqrstuvwxyz012345",
		"zyxwvutsrqponmlkjihgfedcba-98765"} {
		_, err := web.New(web.Config{Secret: secret}, store, nil, nil)
		require.Error(t, err, secret)
		require.Contains(t, err.Error(), "not random")
		require.Contains(t, err.Error(), "openssl rand -base64 32")
		require.NotContains(t, err.Error(), secret)
		for i := 0; i+6 <= len(secret); i++ {
			require.NotContains(t, err.Error(), secret[i:i+6], "not even a part of it is shown")
		}
	}
	// What openssl rand makes passes: 32 random bytes in base64 or hex. (A random one is refused
	// with a chance under 1e-20.)
	for range 200 {
		key := make([]byte, 32)
		_, err := rand.Read(key)
		require.NoError(t, err)
		for _, secret := range []string{base64.StdEncoding.EncodeToString(key), hex.EncodeToString(key)} {
			require.NoError(t, web.Config{Addr: web.DefaultAddr, Secret: secret}.Validate(), secret)
		}
	}
	_, err := web.New(web.Config{Secret: longSecret}, store, nil, nil)
	require.NoError(t, err)
}

// Behind --trust-proxy, X-Forwarded-For is believed only from --trusted-proxies (loopback by
// default): a client on a private network can't rotate it to escape the login rate limit.
func TestForwardedForOnlyFromTrustedProxies(t *testing.T) {
	store := modeltest.Open(t, modeltest.SQLiteDSN(t))
	// limited reports whether 8 wrong logins from peer, each claiming another address, hit the
	// rate limit.
	limited := func(cfg web.Config, peer string) bool {
		srv, err := web.New(cfg, store, nil, nil)
		require.NoError(t, err)
		send := func(req *http.Request, forwarded string) *httptest.ResponseRecorder {
			req.RemoteAddr, req.Host = peer+":40000", "localhost"
			req.Header.Set("X-Forwarded-For", forwarded)
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, req)
			return rec
		}
		page := send(httptest.NewRequest(http.MethodGet, "/login", nil), "198.51.100.200")
		require.Equal(t, http.StatusOK, page.Code)
		token := csrfInput.FindStringSubmatch(page.Body.String())
		require.Len(t, token, 2, "the login page has a token")
		cookies := page.Result().Cookies()
		for i := range 8 {
			form := url.Values{"_csrf": {token[1]}, "username": {"ada"}, "password": {"wrong password!"}}
			req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for _, ck := range cookies {
				req.AddCookie(ck)
			}
			switch code := send(req, "198.51.100."+itoa(int64(i))).Code; code {
			case http.StatusTooManyRequests:
				return true
			case http.StatusUnauthorized:
			default:
				t.Fatalf("login attempt answered %d", code)
			}
		}
		return false
	}
	require.True(t, limited(web.Config{TrustProxy: true}, "10.1.2.3"), "a private address is not a trusted proxy by default")
	require.True(t, limited(web.Config{TrustProxy: true}, "192.168.0.9"))
	require.False(t, limited(web.Config{TrustProxy: true}, "127.0.0.1"), "the local proxy's clients are told apart")
	require.False(t, limited(web.Config{TrustProxy: true, TrustedProxies: []string{"10.0.0.0/8"}}, "10.1.2.3"))
	require.True(t, limited(web.Config{TrustProxy: true, TrustedProxies: []string{"10.9.9.9"}}, "10.1.2.3"))
	require.True(t, limited(web.Config{TrustProxy: false}, "127.0.0.1"), "without --trust-proxy the header means nothing")
	_, err := web.New(web.Config{TrustProxy: true, TrustedProxies: []string{"not-an-ip"}}, store, nil, nil)
	require.ErrorContains(t, err, "trusted proxy")
}

var csrfInput = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (a *app) now() time.Time { return time.Now() }

// cookie returns the client's cookie of that name, or nil.
func (a *app) cookie(name string) *http.Cookie {
	u, _ := url.Parse(a.server.URL)
	for _, c := range a.client.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// serve sends req straight to the app's handler, with a loopback peer and Host.
func (a *app) serve(req *http.Request) *httptest.ResponseRecorder {
	req.RemoteAddr, req.Host = "127.0.0.1:40000", "127.0.0.1:"+a.port()
	rec := httptest.NewRecorder()
	a.server.Config.Handler.ServeHTTP(rec, req)
	return rec
}

// setupOn is another browser, on a server of its own, sharing a's database and engine.
func setupOn(t *testing.T, a *app, cfg web.Config) *app {
	t.Helper()
	srv, err := web.New(cfg, a.store, a.engine, nil)
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := &http.Client{Jar: jar, CheckRedirect: a.client.CheckRedirect, Timeout: a.client.Timeout}
	return &app{t: t, store: a.store, engine: a.engine, server: ts, client: client}
}

// Text no job can hold (a NUL byte, invalid UTF-8) in a filter or a queue name is a clear 422
// (invalid input), on every dialect: PostgreSQL would refuse the query, which was a 500.
func TestUnstorableTextIsABadRequest(t *testing.T) {
	a := setup(t)
	for _, path := range []string{"/dashboard/jobs?q=%00", "/dashboard/jobs?kind=%00", "/dashboard/jobs?queue=%FF", "/dashboard/jobs?q=%FF%FE"} {
		resp, _ := a.get(path)
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, path)
	}
	token := a.csrf("/")
	for _, path := range []string{"/dashboard/queues/%00/pause", "/dashboard/queues/%FF/resume"} {
		resp, _ := a.post(path, url.Values{"_csrf": {token}})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, path)
	}
	resp, _ := a.post("/dashboard/jobs/bulk", url.Values{"_csrf": {token}, "action": {"cancel"}, "q": {"\x00"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
}
