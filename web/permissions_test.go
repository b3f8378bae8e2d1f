package web_test

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/alerts"
	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/web"
)

// The permission table test: every route of the pages and the API, for each role, is refused
// (403) exactly when authz's table says the role may not take the route's action. The CLI
// calls the API, so its commands follow (internal/cli's TestCLIFollowsRoles).

// roleClient is one role's way in: a logged-in browser for the pages, a token for the API.
type roleClient struct {
	role  authz.Role
	page  *app // the app with this role's cookie jar
	token string
	csrf  string
}

// setupRoles serves without local access and logs in a user, and makes a token, of each role.
func setupRoles(t *testing.T) (*app, []roleClient) {
	t.Helper()
	a := setupWith(t, web.Config{})
	var out []roleClient
	for _, r := range authz.Roles {
		name := "user-" + string(r)
		a.addUser(name, string(r))
		as := *a
		as.client = newClient(t)
		resp := as.login(name, password)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, "login of %s", name)
		out = append(out, roleClient{role: r, page: &as, token: a.token("token-"+string(r), string(r)), csrf: as.csrf("/dashboard")})
	}
	return a, out
}

// send makes the request as rc: a page with its session and CSRF token (never a JSON body),
// the API and the metrics with its token.
func (rc roleClient) send(t *testing.T, method, path string) (int, string) {
	t.Helper()
	u := rc.page.server.URL + path
	var req *http.Request
	var err error
	if strings.HasPrefix(path, "/api/") || path == "/metrics" {
		req, err = http.NewRequest(method, u, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+rc.token)
	} else {
		body := url.Values{"_csrf": {rc.csrf}}.Encode()
		if method == http.MethodGet {
			body = ""
		}
		req, err = http.NewRequest(method, u, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, doc := rc.page.do(req)
	return resp.StatusCode, strings.TrimSpace(doc.Text())
}

// routePath puts values in a route's parameters: things that don't exist (so that an allowed
// request changes nothing), and value for the parameter param that names the action.
func routePath(path, param, value string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		switch {
		case s == "*":
			segs[i] = "css/none.css"
		case param != "" && s == ":"+param:
			segs[i] = value
		case s == ":id":
			segs[i] = "999999"
		case s == ":kind":
			segs[i] = "no.such.kind"
		case strings.HasPrefix(s, ":"):
			segs[i] = "no-such"
		}
	}
	return strings.Join(segs, "/")
}

func TestEveryRouteFollowsThePermissionTable(t *testing.T) {
	a, roles := setupRoles(t)
	entries := a.srv.RouteEntries()
	require.Greater(t, len(entries), 80, "every page and API route is listed")
	// Log out last: it ends the session the other requests of the role use.
	sort.SliceStable(entries, func(i, j int) bool { return entries[j].Path == "/logout" && entries[i].Path != "/logout" })

	// The API's document lists the same operations Echo routes.
	routed := map[string]bool{}
	for _, e := range entries {
		routed[e.Method+" "+e.Path] = true
	}
	for p, item := range a.spec().doc["paths"].(map[string]any) {
		for method := range item.(map[string]any) {
			key := strings.ToUpper(method) + " /api" + strings.NewReplacer("{", ":", "}", "").Replace(p)
			require.True(t, routed[key], "the document's %s is a route", key)
		}
	}

	checked := 0
	for _, e := range entries {
		require.NotEmpty(t, e.Actions, "%s %s has no entry in the permission table", e.Method, e.Path)
		for _, value := range slices.Sorted(maps.Keys(e.Actions)) {
			action := e.Actions[value]
			path := routePath(e.Path, e.Param, value)
			for _, rc := range roles {
				status, body := rc.send(t, e.Method, path)
				what := fmt.Sprintf("%s %s (%s) as %s", e.Method, path, action, rc.role)
				if rc.role.May(action) {
					require.NotEqual(t, http.StatusForbidden, status, "%s is allowed: %s", what, body)
					if action != authz.Public { // POST /login without a password is its own 401
						require.NotEqual(t, http.StatusUnauthorized, status, what)
					}
				} else {
					require.Equal(t, http.StatusForbidden, status, "%s is refused", what)
					least, _ := authz.Least(action)
					require.Contains(t, body, string(action)+" needs the", what)
					require.Contains(t, body, string(least), what)
				}
				checked++
			}
		}
	}
	t.Logf("%d requests checked against the table", checked)
}

// TestRoutesDeclareTheRightActions pins what the issue draws the line on, so that a route
// declared with a weaker action than it should (secrets as read) fails here, not only in review.
func TestRoutesDeclareTheRightActions(t *testing.T) {
	a := setup(t)
	byRoute := map[string]map[string]authz.Action{}
	for _, e := range a.srv.RouteEntries() {
		byRoute[e.Method+" "+e.Path] = e.Actions
	}
	for route, want := range map[string]map[string]authz.Action{
		"GET /dashboard/secrets":                  {"": authz.SecretsManage},
		"PUT /api/v1/secrets/:name":               {"": authz.SecretsManage},
		"GET /api/v1/secrets":                     {"": authz.SecretsManage},
		"GET /dashboard/tokens":                   {"": authz.TokensOwn},
		"POST /api/v1/recurring":                  {"": authz.RecurringEdit},
		"PUT /api/v1/kinds/:kind/limits":          {"": authz.LimitsManage},
		"POST /api/v1/alerts/channels":            {"": authz.ChannelsEdit},
		"POST /api/v1/alerts/rules":               {"": authz.AlertRulesEdit},
		"POST /dashboard/alerts/:id/silence":      {"": authz.AlertsAck},
		"POST /dashboard/jobs/bulk":               {"": authz.JobsBulk},
		"POST /login":                             {"": authz.Public},
		"POST /logout":                            {"": authz.Self},
		"POST /api/v1/queues/:name/:action":       {"pause": authz.QueuesPause, "resume": authz.QueuesPause},
		"POST /api/v1/jobs/:id/:action":           {"cancel": authz.JobsCancel, "requeue": authz.JobsRetry, "run": authz.JobsRunNow},
		"POST /dashboard/jobs/:id/:action":        {"cancel": authz.JobsCancel, "requeue": authz.JobsRetry, "run": authz.JobsRunNow, "delete": authz.JobsDelete, "trigger": authz.JobsRunNow},
		"POST /dashboard/recurring/:id/:action":   {"pause": authz.RecurringPause, "resume": authz.RecurringPause, "trigger": authz.RecurringTrigger, "delete": authz.RecurringEdit},
		"POST /api/v1/recurring/:name/:action":    {"pause": authz.RecurringPause, "resume": authz.RecurringPause, "trigger": authz.RecurringTrigger},
		"POST /dashboard/alerts/channels/:name":   {"": authz.ChannelsEdit},
		"POST /dashboard/kinds/:kind/limits":      {"": authz.LimitsManage},
		"POST /dashboard/recurring/:id/edit":      {"": authz.RecurringEdit},
		"POST /dashboard/secrets/:name/delete":    {"": authz.SecretsManage},
		"POST /dashboard/tokens/:name/revoke":     {"": authz.TokensOwn},
		"DELETE /api/v1/alerts/channels/:name":    {"": authz.ChannelsEdit},
		"POST /dashboard/alerts/rules/:name/edit": {"": authz.AlertRulesEdit},
	} {
		require.Equal(t, want, byRoute[route], route)
	}
	require.Equal(t, []string{builtin.KindExec, builtin.KindHTTPRequest}, authz.CodeKinds, "the kinds that run what their arguments say")
	require.Equal(t, []string{alerts.KindDeliver, builtin.KindCleanup}, authz.ServerKinds, "Kiln's kinds that act with the server's authority")
	require.Equal(t, builtin.KindWorkflowStart, authz.WorkflowKind, "the kind whose steps decide what it needs")
	require.Equal(t, authz.JobsEnqueueCode, authz.EnqueueAction(alerts.KindDeliver, nil), "an operator can't send messages through the admins' channels")
}

// TestRouteWithoutEntryIsCaught adds a route as a careless change would, with Echo alone: the
// check New runs names it, and until then nobody, not even an admin, may use it.
func TestRouteWithoutEntryIsCaught(t *testing.T) {
	a := setup(t) // local access: an admin
	require.Empty(t, a.srv.UndeclaredRoutes())
	a.srv.AddRouteWithoutEntry(http.MethodGet, "/dashboard/new-thing")
	require.Equal(t, []string{"GET /dashboard/new-thing: no entry"}, a.srv.UndeclaredRoutes())
	resp, doc := a.get("/dashboard/new-thing")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Contains(t, doc.Text(), "no entry in Kiln's permission table")
	require.NotContains(t, doc.Text(), "reached")
}

// TestEnqueueingCodeNeedsAnAdmin checks what the routes can't say: an operator may enqueue a
// job of an ordinary kind, not an exec or http.request job, through the API, a batch, the
// form or Duplicate, and is not offered those kinds.
func TestEnqueueingCodeNeedsAnAdmin(t *testing.T) {
	a, roles := setupRoles(t)
	a.register("mail.send")
	op, admin := roles[1], roles[2]
	require.Equal(t, authz.Operator, op.role)
	execJob := map[string]any{"kind": "exec", "args": map[string]any{"command": []string{"/bin/true"}}}
	httpJob := map[string]any{"kind": "http.request", "args": map[string]any{"url": "https://example.com/"}}
	mailJob := map[string]any{"kind": "mail.send", "args": map[string]any{"to": "a@example.com"}}

	for _, job := range []map[string]any{execJob, httpJob} {
		resp, body := a.apiCall("POST", "/api/v1/jobs", op.token, job)
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "%v", job["kind"])
		require.Contains(t, body["detail"], "jobs.enqueue_code needs the admin role")
		resp, _ = a.apiCall("POST", "/api/v1/jobs/batch", op.token, map[string]any{"jobs": []any{mailJob, job}})
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "a batch holding %v", job["kind"])
	}
	resp, _ := a.apiCall("POST", "/api/v1/jobs", op.token, mailJob)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	resp, _ = a.apiCall("POST", "/api/v1/jobs", admin.token, execJob)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	n, err := a.store.JobQueries.CountJobsByState(t.Context())
	require.NoError(t, err)
	require.EqualValues(t, 2, n[models.JobEnqueued], "the operator's mail.send and the admin's exec; nothing refused was stored")

	// The form: exec refused, and neither exec nor http.request offered.
	form := url.Values{"_csrf": {op.csrf}, "kind": {"exec"}, "exec_command": {"/bin/true"}}
	resp, _ = op.page.post("/dashboard/jobs/new", form)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, doc := op.page.get("/dashboard/jobs/new")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	kinds := doc.Find(`select[name="kind"] option`).Map(func(_ int, s *goquery.Selection) string { v, _ := s.Attr("value"); return v })
	require.NotContains(t, kinds, "exec")
	require.NotContains(t, kinds, "http.request")
	require.Contains(t, kinds, "mail.send")
	_, doc = admin.page.get("/dashboard/jobs/new")
	kinds = doc.Find(`select[name="kind"] option`).Map(func(_ int, s *goquery.Selection) string { v, _ := s.Attr("value"); return v })
	require.Contains(t, kinds, "exec")

	// Duplicate of an exec job: no button, and the form refused; of a mail.send job, both.
	execID := a.enqueue("exec", map[string]any{"command": []string{"/bin/true"}}).ID
	mailID := a.enqueue("mail.send", map[string]any{"to": "b@example.com"}).ID
	_, doc = op.page.get(fmt.Sprintf("/dashboard/jobs/%d", execID))
	require.Zero(t, doc.Find(`[data-testid="action-duplicate"]`).Length())
	require.NotZero(t, doc.Find(`[data-testid="action-cancel"]`).Length(), "an operator may cancel it")
	resp, _ = op.page.get(fmt.Sprintf("/dashboard/jobs/new?from=%d", execID))
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	_, doc = op.page.get(fmt.Sprintf("/dashboard/jobs/%d", mailID))
	require.NotZero(t, doc.Find(`[data-testid="action-duplicate"]`).Length())
	_, doc = roles[0].page.get(fmt.Sprintf("/dashboard/jobs/%d", mailID))
	require.Zero(t, doc.Find(`[data-testid="job-actions"]`).Length(), "a viewer gets no buttons")
}

// TestPagesShowOnlyTheButtonsTheRoleMayUse: each button or link of an action is on the page for
// the roles that may take it, and missing for the others.
func TestPagesShowOnlyTheButtonsTheRoleMayUse(t *testing.T) {
	a, roles := setupRoles(t)
	a.register("mail.send")
	a.recurring("nightly-report", "0 2 * * *")
	a.enqueue("mail.send", map[string]any{"to": "a@example.com"}, jobs.Queue("mail"))
	for _, tc := range []struct {
		page, selector string
		action         authz.Action
	}{
		{"/dashboard/jobs", `[data-testid="bulkbar"]`, authz.JobsBulk},
		{"/dashboard/jobs", `[data-testid="new-job"]`, authz.JobsEnqueue},
		{"/dashboard/jobs", `nav.subnav a[href="/dashboard/secrets"]`, authz.SecretsManage},
		{"/dashboard/jobs", `nav.subnav a[href="/dashboard/tokens"]`, authz.TokensOwn},
		{"/dashboard/tokens", `[data-testid="token-form"]`, authz.TokensOwn},
		{"/dashboard/tokens", `[data-testid="others-tokens"], [data-testid="others-empty"]`, authz.TokensManage},
		{"/dashboard/queues", `[data-testid="pause"]`, authz.QueuesPause},
		{"/dashboard/recurring", `[data-testid="pause"]`, authz.RecurringPause},
		{"/dashboard/recurring", `[data-testid="trigger"]`, authz.RecurringTrigger},
		{"/dashboard/recurring", `[data-testid="edit"]`, authz.RecurringEdit},
		{"/dashboard/recurring", `[data-testid="new-recurring"]`, authz.RecurringEdit},
		{"/dashboard/alerts", `[data-testid="new-rule"]`, authz.AlertRulesEdit},
		{"/dashboard/alerts/channels", `[data-testid="new-webhook"]`, authz.ChannelsEdit},
		{"/dashboard/kinds/mail.send", `[data-testid="limits-form"]`, authz.LimitsManage},
		{"/", `[data-testid="new-task"]`, authz.TasksEdit},
		{"/", `[data-testid="queue-work-item"]`, authz.JobsEnqueue},
	} {
		for _, rc := range roles {
			resp, doc := rc.page.get(tc.page)
			require.Equal(t, http.StatusOK, resp.StatusCode, tc.page)
			shown := doc.Find(tc.selector).Length() > 0
			require.Equal(t, rc.role.May(tc.action), shown, "%s on %s for %s (%s)", tc.selector, tc.page, rc.role, tc.action)
		}
	}
	_, doc := roles[1].page.get("/dashboard")
	require.Equal(t, "operator", strings.TrimSpace(doc.Find(`[data-testid="role"]`).Text()), "the user menu names the role")
}

// TestUnknownActionNeedsTheStrictestRole: a path value the route's entry doesn't list (which
// the handler answers 404) is refused as its strictest action is, so that nothing slips through
// a value the table forgot.
func TestUnknownActionNeedsTheStrictestRole(t *testing.T) {
	_, roles := setupRoles(t)
	op, admin := roles[1], roles[2]
	status, body := op.send(t, http.MethodPost, "/dashboard/recurring/999999/frobnicate")
	require.Equal(t, http.StatusForbidden, status)
	require.Contains(t, body, "recurring.edit needs the admin role")
	status, _ = admin.send(t, http.MethodPost, "/dashboard/recurring/999999/frobnicate")
	require.Equal(t, http.StatusNotFound, status)
	status, _ = op.send(t, http.MethodPost, "/dashboard/queues/mail/frobnicate")
	require.Equal(t, http.StatusNotFound, status, "every action of the queues' route is the operator's")
}
