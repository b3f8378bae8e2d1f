package web

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// zoneCookie holds the viewer's IANA time zone; static/js/app.js keeps it equal to the browser's.
const zoneCookie = "kiln_tz"

// zoneContextKey memoises the viewer's zone for the rest of the request.
const zoneContextKey = "kiln.zone"

// viewerZoneName is the zone cookie's value when it names a real zone, "" otherwise.
func viewerZoneName(c echo.Context) string {
	ck, err := c.Cookie(zoneCookie)
	if err != nil {
		return ""
	}
	name, err := url.QueryUnescape(ck.Value)
	if err != nil {
		return ""
	}
	if _, err := loadZone(name); err != nil {
		return ""
	}
	return name
}

// viewerZone returns the zone the viewer's dates are shown in: the zone cookie's when it names a
// real zone, UTC otherwise.
func viewerZone(c echo.Context) *time.Location {
	if loc, ok := c.Get(zoneContextKey).(*time.Location); ok {
		return loc
	}
	loc, err := loadZone(viewerZoneName(c))
	if err != nil {
		loc = time.UTC
	}
	c.Set(zoneContextKey, loc)
	return loc
}

// errUnknownZone is returned by loadZone for anything that is not an IANA zone name.
var errUnknownZone = errors.New("web: unknown time zone")

// loadZone loads an IANA zone by name. "Local" and "" are refused: they would mean the server's
// zone, which the viewer never chose.
func loadZone(name string) (*time.Location, error) {
	name = strings.TrimSpace(name)
	if name == "" || name == "Local" || len(name) > 64 {
		return nil, errUnknownZone
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, errUnknownZone
	}
	return loc, nil
}

// serverZoneName is the IANA name of the server's own zone: $TZ when it names one, else the zone
// /etc/localtime links to, else UTC.
var serverZoneName = sync.OnceValue(func() string {
	if tz := os.Getenv("TZ"); tz != "" {
		if _, err := loadZone(strings.TrimPrefix(tz, ":")); err == nil {
			return strings.TrimPrefix(tz, ":")
		}
	}
	if target, err := filepath.EvalSymlinks("/etc/localtime"); err == nil {
		if _, name, ok := strings.Cut(target, "zoneinfo/"); ok {
			if _, err := loadZone(name); err == nil {
				return name
			}
		}
	}
	return "UTC"
})
