package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/views/components"
)

// flashCookie carries a one-time message across a redirect.
const flashCookie = "kiln_flash"

// setFlash stores a message (kind "success", "error" or "info") for the next page rendered.
func setFlash(c echo.Context, kind, message string) {
	c.SetCookie(&http.Cookie{
		Name: flashCookie, Value: url.QueryEscape(kind + ":" + message), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 60,
	})
}

// takeFlash returns the pending message, if any, and clears it.
func takeFlash(c echo.Context) components.FlashProps {
	ck, err := c.Cookie(flashCookie)
	if err != nil {
		return components.FlashProps{}
	}
	c.SetCookie(&http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	raw, err := url.QueryUnescape(ck.Value)
	if err != nil {
		return components.FlashProps{}
	}
	kind, message, ok := strings.Cut(raw, ":")
	switch {
	case !ok || message == "":
		return components.FlashProps{}
	case kind != "success" && kind != "error" && kind != "info":
		kind = "info"
	}
	return components.FlashProps{Kind: kind, Message: message}
}
