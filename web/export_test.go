package web

import (
	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/internal/authz"
)

// ServerZoneName is serverZoneName, for the tests of package web_test.
var ServerZoneName = serverZoneName

// RedactURI is redactURI, for the tests of package web_test.
var RedactURI = redactURI

// JobActionNames are the names in the job action table, in its order; BulkJobActionNames those
// the jobs list offers for many jobs.
func JobActionNames() (all, bulk []string) {
	for _, a := range jobActions {
		all = append(all, a.name)
		if a.bulk {
			bulk = append(bulk, a.name)
		}
	}
	return all, bulk
}

// RouteEntry is a route with what it needs, for the permission table test: its one action
// under the value "", or an action per value of its path parameter Param.
type RouteEntry struct {
	Method, Path, Param string
	Actions             map[string]authz.Action
}

// RouteEntries lists Echo's routes with their entries; a route without one has no Actions.
func (s *Server) RouteEntries() []RouteEntry {
	var out []RouteEntry
	for _, r := range s.echo.Routes() {
		e := RouteEntry{Method: r.Method, Path: r.Path}
		if n, ok := s.needs[routeKey(r.Method, r.Path)]; ok {
			e.Param, e.Actions = n.param, n.actions()
		}
		out = append(out, e)
	}
	return out
}

// UndeclaredRoutes is undeclaredRoutes, for the test that a route without an entry is caught.
func (s *Server) UndeclaredRoutes() []string { return s.undeclaredRoutes() }

// AddRouteWithoutEntry adds a route the way a careless change would, with Echo alone.
func (s *Server) AddRouteWithoutEntry(method, path string) {
	s.echo.Add(method, path, func(c echo.Context) error { return c.String(200, "reached") })
}
