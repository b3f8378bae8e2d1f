package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

func init() { models.BcryptCost = bcrypt.MinCost }

const password = "a long enough password"

// login logs the client in through the form, as a browser would.
func (a *app) login(username, pass string) *http.Response {
	a.t.Helper()
	resp, _ := a.post("/login", url.Values{"_csrf": {a.csrf("/login")}, "username": {username}, "password": {pass}, "next": {"/?status=pending"}})
	return resp
}

func (a *app) addUser(name, role string) {
	a.t.Helper()
	_, err := a.store.Users.CreateUser(context.Background(), name, password, role)
	require.NoError(a.t, err)
}

func TestLoginAndLogout(t *testing.T) {
	a := setupWith(t, web.Config{})
	a.addUser("ada", models.RoleAdmin)

	resp, _ := a.get("/?status=overdue")
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "nobody is logged in")
	require.Equal(t, "/login?next=%2F%3Fstatus%3Doverdue", resp.Header.Get("Location"))
	for _, path := range []string{"/dashboard", "/tasks/new"} {
		resp, _ = a.get(path)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, path)
	}
	req, _ := http.NewRequest(http.MethodGet, a.server.URL+"/dashboard", nil)
	req.Header.Set("Accept", "application/json")
	resp, _ = a.do(req)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "API clients get a 401, not a redirect")
	resp, _ = a.get("/healthz")
	require.Equal(t, http.StatusOK, resp.StatusCode, "health checks need no login")

	resp, doc := a.post("/login", url.Values{"_csrf": {a.csrf("/login")}, "username": {"ada"}, "password": {"wrong password!"}})
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, "Wrong username or password.", doc.Find(`[data-testid="login-error"]`).Text())
	name, _ := doc.Find(`input[name="username"]`).Attr("value")
	require.Equal(t, "ada", name, "the username is kept")
	pass, _ := doc.Find(`input[name="password"]`).Attr("value")
	require.Empty(t, pass, "the password is not sent back")

	resp = a.login("ada", password)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/?status=pending", resp.Header.Get("Location"))
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "kiln_session" {
			session = c
		}
	}
	require.NotNil(t, session)
	require.True(t, session.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, session.SameSite)
	require.Equal(t, int((12 * time.Hour).Seconds()), session.MaxAge, "sessions expire")

	resp, doc = a.get("/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "ada", doc.Find(`[data-testid="username"]`).Text())
	require.NotEmpty(t, doc.Find(`[data-testid="new-task"]`).Nodes, "admins get action buttons")

	resp, _ = a.post("/logout", url.Values{"_csrf": {a.csrf("/")}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, _ = a.get("/")
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "logged out")
}

func TestLoginNeedsCSRFAndKeepsRedirectsLocal(t *testing.T) {
	a := setupWith(t, web.Config{})
	a.addUser("ada", models.RoleAdmin)
	resp, _ := a.post("/login", url.Values{"username": {"ada"}, "password": {password}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = a.post("/login", url.Values{"_csrf": {a.csrf("/login")}, "username": {"ada"}, "password": {password}, "next": {"//evil.example/"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/", resp.Header.Get("Location"))
}

func TestViewerSeesButCannotAct(t *testing.T) {
	a := setupWith(t, web.Config{})
	a.addUser("val", models.RoleViewer)
	task := a.createTask("Read only", time.Now().Add(time.Hour))
	require.Equal(t, http.StatusSeeOther, a.login("val", password).StatusCode)

	resp, doc := a.get("/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, []string{"Read only"}, rowTitles(doc))
	for _, sel := range []string{"new-task", "queue-work-item", "complete", "edit", "delete"} {
		require.Empty(t, doc.Find(`[data-testid="`+sel+`"]`).Nodes, "a viewer gets no %s button", sel)
	}
	require.Contains(t, doc.Find(`[data-testid="usermenu"]`).Text(), "read-only")
	resp, _ = a.get("/dashboard")
	require.Equal(t, http.StatusOK, resp.StatusCode, "viewers see everything")

	token := a.csrf("/")
	for _, path := range []string{"/tasks", "/tasks/1", "/tasks/1/complete", "/tasks/1/delete", "/work-items"} {
		resp, doc := a.post(path, url.Values{"_csrf": {token}, "title": {"x"}, "due_at": {"2027-01-01T10:00"}, "tz": {"UTC"}})
		require.Equal(t, http.StatusForbidden, resp.StatusCode, path)
		require.Contains(t, doc.Find(`[data-testid="error-message"]`).Text(), "can see everything but change nothing")
	}
	for _, path := range []string{"/tasks/new", "/tasks/1/edit", "/tasks/1/delete"} {
		resp, _ := a.get(path)
		require.Equal(t, http.StatusForbidden, resp.StatusCode, path)
	}
	got, err := a.store.Tasks.GetTask(context.Background(), task.ID)
	require.NoError(t, err)
	require.False(t, got.Completed)
	require.EqualValues(t, 1, a.countTasks())
	recent := modeltest.RecentJobs(t, a.store, 10)
	require.Empty(t, recent, "no work item was queued")
}

func TestSessionEndsWhenThePasswordChanges(t *testing.T) {
	a := setupWith(t, web.Config{})
	a.addUser("ada", models.RoleAdmin)
	a.login("ada", password)
	resp, _ := a.get("/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, a.store.Users.SetPassword(context.Background(), "ada", "another long password"))
	resp, _ = a.get("/")
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
}

func TestTamperedSessionIsIgnored(t *testing.T) {
	a := setupWith(t, web.Config{})
	a.addUser("ada", models.RoleAdmin)
	a.login("ada", password)
	u, _ := url.Parse(a.server.URL)
	for _, c := range a.client.Jar.Cookies(u) {
		if c.Name == "kiln_session" {
			c.Value = strings.ToUpper(c.Value[:10]) + c.Value[10:]
			a.client.Jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: c.Value, Path: "/"}})
		}
	}
	resp, _ := a.get("/")
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
}

func TestLocalRequestsSkipLoginUnlessProxied(t *testing.T) {
	a := setupWith(t, web.Config{LocalNoAuth: true})
	resp, doc := a.get("/")
	require.Equal(t, http.StatusOK, resp.StatusCode, "loopback skips login")
	require.Contains(t, doc.Find(`[data-testid="usermenu"]`).Text(), "local access")
	req, _ := http.NewRequest(http.MethodGet, a.server.URL+"/", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	resp, _ = a.do(req)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "a request through a proxy is not local")

	b := setupWith(t, web.Config{}) // --local-no-auth=false
	resp, _ = b.get("/")
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
}

func TestLoginAttemptsAreRateLimited(t *testing.T) {
	a := setupWith(t, web.Config{})
	a.addUser("ada", models.RoleAdmin)
	token := a.csrf("/login")
	for i := range 5 {
		resp, _ := a.post("/login", url.Values{"_csrf": {token}, "username": {"ada"}, "password": {"guess number " + string(rune('a'+i))}})
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "attempt %d", i+1)
	}
	resp, doc := a.post("/login", url.Values{"_csrf": {token}, "username": {"ada"}, "password": {password}})
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "even the right password waits")
	require.Contains(t, doc.Find(`[data-testid="login-error"]`).Text(), "Too many login attempts")
}

// Nodes sharing KILN_SECRET (and the database) accept each other's sessions.
func TestSharedSecretSessionsWorkAcrossNodes(t *testing.T) {
	a := setupWith(t, web.Config{Secret: longSecret})
	a.addUser("ada", models.RoleAdmin)
	a.login("ada", password)
	u, _ := url.Parse(a.server.URL)
	cookies := a.client.Jar.Cookies(u)

	for secret, want := range map[string]int{longSecret: http.StatusOK, longSecret + "-other": http.StatusSeeOther} {
		other, err := web.New(web.Config{Secret: secret}, a.store, a.engine, nil)
		require.NoError(t, err)
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Host = "localhost"
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		other.Handler().ServeHTTP(rec, req)
		require.Equal(t, want, rec.Code, "secret %q", secret)
	}
}

// A live region polling after the session ended sends the whole page to login; an error in a
// live region comes back without the layout, so it doesn't nest a page in the page.
func TestLiveRegionsFailGracefully(t *testing.T) {
	a := setupWith(t, web.Config{})
	req, _ := http.NewRequest(http.MethodGet, a.server.URL+"/dashboard/live", nil)
	req.Header.Set("HX-Request", "true")
	req.Header.Set("HX-Current-URL", a.server.URL+"/dashboard")
	resp, _ := a.do(req)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Contains(t, resp.Header.Get("HX-Redirect"), "/login?next=")

	b := setup(t)
	req, _ = http.NewRequest(http.MethodGet, b.server.URL+"/dashboard/jobs/424242/live", nil)
	req.Header.Set("HX-Request", "true")
	resp, doc := b.do(req)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.NotEmpty(t, doc.Find(`[data-testid="error-page"]`).Nodes)
	require.Empty(t, doc.Find("header.topbar").Nodes, "no layout inside the page")
	req.Header.Set("HX-Boosted", "true") // a boosted navigation wants the whole page
	_, doc = b.do(req)
	require.NotEmpty(t, doc.Find("header.topbar").Nodes)
}
