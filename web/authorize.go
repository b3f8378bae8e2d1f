package web

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/models"
)

// Every route, page or API operation, is registered with what it needs from authz's table (an
// action, or Public, Self or Read), through route or register; authorize refuses a request whose
// user's role may not take it, in one place for both. New fails when a route has no entry, so
// a route can't be added without deciding who may use it. Handlers check again only what the
// route can't say: the kind of a job to enqueue (mustAllow, s.require).

// need is what a route needs: one action, or, for a route whose path names the action
// (/dashboard/jobs/:id/:action), one per value of that parameter.
type need struct {
	action authz.Action
	// param names the path parameter whose value picks the action in byParam.
	param   string
	byParam map[string]authz.Action
}

// actionFor is the action a request of the route takes. A parameter value byParam doesn't
// hold (the handler answers 404 for it) needs the strictest of the route's actions, so that
// nothing slips through a value the table forgot.
func (n need) actionFor(param func(string) string) authz.Action {
	if n.param == "" {
		return n.action
	}
	if a, ok := n.byParam[param(n.param)]; ok {
		return a
	}
	return n.strictest()
}

// strictest is the route's action that needs the highest role.
func (n need) strictest() authz.Action {
	var out authz.Action
	var least authz.Role
	for _, v := range slices.Sorted(maps.Keys(n.byParam)) {
		a := n.byParam[v]
		r, _ := authz.Least(a)
		if out == "" || slices.Index(authz.Roles, r) > slices.Index(authz.Roles, least) {
			out, least = a, r
		}
	}
	return out
}

// actions lists the route's actions: each value of its parameter with its action, or its one
// action under the value "".
func (n need) actions() map[string]authz.Action {
	if n.param == "" {
		return map[string]authz.Action{"": n.action}
	}
	return n.byParam
}

// routeKey names a route as Echo lists it: "POST /dashboard/jobs/:id/:action".
func routeKey(method, path string) string { return method + " " + path }

// declare records what a route needs, for authorize and for the tests that list the routes.
// An action the table doesn't hold is a mistake in the code; it is recorded, and New refuses
// to start with it.
func (s *Server) declare(method, path string, n need) {
	if s.needs == nil {
		s.needs = map[string]need{}
	}
	s.needs[routeKey(method, path)] = n
}

// route registers a page (or any Echo route) with the action it needs.
func (s *Server) route(method, path string, a authz.Action, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	s.declare(method, path, need{action: a})
	s.echo.Add(method, path, h, m...)
}

// routeByParam registers a page whose path parameter param names what it does, with the action
// each of its values needs.
func (s *Server) routeByParam(method, path, param string, byParam map[string]authz.Action, h echo.HandlerFunc) {
	s.declare(method, path, need{param: param, byParam: byParam})
	s.echo.Add(method, path, h)
}

// apiRouteKey is the Echo route of an API operation: humaecho turns {id} into :id under apiPrefix.
func apiRouteKey(op huma.Operation) (method, path string) {
	return op.Method, apiPrefix + strings.NewReplacer("{", ":", "}", "").Replace(op.Path)
}

// undeclaredRoutes lists the routes of the server's Echo that have no entry, or whose entry
// names an action the table doesn't hold: New refuses to start with any.
func (s *Server) undeclaredRoutes() []string {
	var out []string
	for _, r := range s.echo.Routes() {
		n, ok := s.needs[routeKey(r.Method, r.Path)]
		if !ok {
			out = append(out, routeKey(r.Method, r.Path)+": no entry")
			continue
		}
		for _, a := range n.actions() {
			if !authz.Known(a) {
				out = append(out, fmt.Sprintf("%s: action %q is not in authz's table", routeKey(r.Method, r.Path), a))
			}
		}
	}
	sort.Strings(out)
	return out
}

// isRoute reports whether Echo has a route for method and path: a request with no entry is
// either one Echo answers 404 or 405 (no route), or one of a route that has no entry.
func (s *Server) isRoute(method, path string) bool {
	for _, r := range s.echo.Routes() {
		if r.Method == method && r.Path == path {
			return true
		}
	}
	return false
}

// checkRoutes is New's last check: every route has its entry.
func (s *Server) checkRoutes() error {
	if bad := s.undeclaredRoutes(); len(bad) > 0 {
		return fmt.Errorf("web: routes registered without what they need from authz (use route or register): %s", strings.Join(bad, "; "))
	}
	return nil
}

// authorize enforces the routes' entries: a Public or Self route lets anyone through; any other
// needs a user (a login, a token or local access) whose role may take the route's action.
// A request that matches no route (404, 405) needs a user, as Read does, and goes on to Echo's
// answer.
func (s *Server) authorize(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		n, declared := s.needs[routeKey(c.Request().Method, c.Path())]
		action := n.actionFor(c.Param)
		if declared && (action == authz.Public || action == authz.Self) {
			return next(c)
		}
		u := currentUser(c)
		if u == nil {
			return s.unauthorized(c)
		}
		if !declared && s.isRoute(c.Request().Method, c.Path()) {
			// A route added after New's check, with no entry: refused to everyone, not guessed.
			s.log.Error("web: route without an entry in the permission table refused", "method", c.Request().Method, "path", c.Path())
			return echo.NewHTTPError(http.StatusForbidden, "This address has no entry in Kiln's permission table, so nobody may use it.")
		}
		if declared && !u.May(action) {
			return forbidden(c.Request().URL.Path, u, action)
		}
		return next(c)
	}
}

// unauthorized answers a request that needs a user and has none: the API says how to send a
// token; a page goes to the login form and comes back.
func (s *Server) unauthorized(c echo.Context) error {
	if isAPIPath(c.Request().URL.Path) {
		return errAPIUnauthorized
	}
	switch {
	case isPartial(c.Request()):
		// A live region polling after the session ended: send the whole page to login.
		c.Response().Header().Set("HX-Redirect", "/login?next="+url.QueryEscape(c.Request().Header.Get("HX-Current-URL")))
		return c.NoContent(http.StatusUnauthorized)
	case c.Request().Method == http.MethodGet && !wantsJSON(c.Request()):
		return redirect(c, "/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
	}
	return echo.NewHTTPError(http.StatusUnauthorized, "Log in to do that.")
}

// forbidden is the refusal of action to u, for a page or (by path) the API: the role it has,
// the one it needs, and whom to ask.
func forbidden(path string, u *models.User, action authz.Action) error {
	return echo.NewHTTPError(http.StatusForbidden, refusal(isAPIPath(path), u, action))
}

// refusal says why u may not take action.
func refusal(api bool, u *models.User, action authz.Action) string {
	who := "Your role is " + u.Role
	if api {
		who = "This token has the " + u.Role + " role"
	}
	least, _ := authz.Least(action)
	if u.Role == models.RoleViewer && least == authz.Operator {
		return fmt.Sprintf("%s: it can see everything but change nothing. %s needs the operator or admin role; ask an admin.", who, action)
	}
	return fmt.Sprintf("%s, and %s needs the %s role; ask an admin.", who, action, least)
}

// require refuses a page's request when its user may not take action: for what the route alone
// can't say, such as the kind of job a form enqueues.
func (s *Server) require(c echo.Context, action authz.Action) error {
	if u := currentUser(c); !u.May(action) {
		if u == nil {
			return s.unauthorized(c)
		}
		return forbidden(c.Request().URL.Path, u, action)
	}
	return nil
}

// may reports whether the page's user may take action: the buttons a role may not use are
// not shown.
func may(c echo.Context, action authz.Action) bool { return currentUser(c).May(action) }

// mustAllow refuses an API request whose caller may not take action, with a 403 problem: for
// what the operation alone can't say, such as the kind of job to enqueue.
func mustAllow(ctx context.Context, action authz.Action) error {
	if u := apiUser(ctx); !u.May(action) {
		if u == nil {
			return huma.Error401Unauthorized(errAPIUnauthorized.Message.(string))
		}
		return huma.Error403Forbidden(refusal(true, u, action))
	}
	return nil
}
