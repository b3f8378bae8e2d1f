package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/static"
)

var staticFiles = http.StripPrefix(static.Prefix, http.FileServer(http.FS(static.FS)))

// serveStatic serves the embedded assets. A URL carrying the asset's current content hash
// (static.URL) may be cached for a year; any other is revalidated on each use.
func serveStatic(c echo.Context) error {
	path := strings.TrimPrefix(c.Request().URL.Path, static.Prefix)
	if strings.HasSuffix(path, "/") || static.Version(path) == "" {
		return echo.ErrNotFound // no directory listings, no guessing
	}
	if v := c.QueryParam("v"); v != "" && v == static.Version(path) {
		c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		c.Response().Header().Set("Cache-Control", "no-cache")
	}
	staticFiles.ServeHTTP(c.Response(), c.Request())
	return nil
}

// robotsTxt keeps every crawler out: Kiln is an admin dashboard, and a crawler that found one
// would only index its login page.
const robotsTxt = "User-agent: *\nDisallow: /\n"

// handleRobots serves robots.txt to anyone: a crawler has no login, and one sent to the login
// page instead reads no rule at all.
func handleRobots(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=86400")
	return c.String(http.StatusOK, robotsTxt)
}
