package web

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/views/components"
	"github.com/kilnhq/kiln/views/layout"
)

// csrfField is the form field, and csrfContextKey the Echo context key, of the CSRF token.
const (
	csrfField      = "_csrf"
	csrfContextKey = "csrf"
)

// render writes component as an HTML response with the given status. The component is rendered
// into a buffer first, so a rendering error becomes a proper error page, not half a page.
func render(c echo.Context, status int, component templ.Component) error {
	var buf bytes.Buffer
	if err := component.Render(c.Request().Context(), &buf); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// csrfToken returns the token the page's forms must send back.
func csrfToken(c echo.Context) string {
	token, _ := c.Get(csrfContextKey).(string)
	return token
}

// layoutProps gathers what the layout shows on every page, taking the pending flash message.
func (s *Server) layoutProps(c echo.Context, title, section string) layout.Props {
	p := layout.Props{Title: title, Section: section, Flash: takeFlash(c), Version: s.cfg.Version, CSRF: csrfToken(c)}
	if u := currentUser(c); u != nil {
		p.User, p.Role, p.Local = u.Username, authz.Role(u.Role), u == localUser
	}
	return p
}

// moment presents t in the viewer's zone, relative to now.
func (s *Server) moment(c echo.Context, t time.Time) components.Moment {
	loc := viewerZone(c)
	return components.Moment{At: t.In(loc), Now: s.cfg.Now().In(loc)}
}

// redirect sends the browser to url with 303 See Other, so a POST is followed by a GET.
func redirect(c echo.Context, url string) error {
	return c.Redirect(http.StatusSeeOther, url)
}

// pathID parses the :id path parameter; anything but a positive integer names a thing that does
// not exist ("There is no job \"x\"."), a 404 like any other.
func pathID(c echo.Context, thing string) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, models.Errorf(models.ENOTFOUND, "There is no %s %q.", thing, c.Param("id"))
	}
	return id, nil
}

func jobID(c echo.Context) (int64, error)       { return pathID(c, "job") }
func recurringID(c echo.Context) (int64, error) { return pathID(c, "recurring job") }
func taskID(c echo.Context) (int64, error)      { return pathID(c, "task") }
