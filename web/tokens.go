package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/views/layout"
	"github.com/kilnhq/kiln/views/pages"
)

// handleTokens lists the API tokens, with the form for a new one (admins only: a token is a key
// to the API).
func (s *Server) handleTokens(c echo.Context) error {
	return s.renderTokens(c, http.StatusOK, pages.TokensView{Role: models.RoleViewer})
}

// handleTokenCreate makes a token and shows it once, on this response: never through a redirect
// or a flash cookie, and never cached.
func (s *Server) handleTokenCreate(c echo.Context) error {
	v := pages.TokensView{Name: c.FormValue("name"), Role: c.FormValue("role"), Expires: c.FormValue("expires")}
	var ttl time.Duration
	if v.Expires != "" {
		d, err := time.ParseDuration(v.Expires)
		if err != nil || d <= 0 {
			v.Errors = map[string]string{"expires": "Choose one of the lifetimes offered."}
			return s.renderTokens(c, http.StatusUnprocessableEntity, v)
		}
		ttl = d
	}
	token, t, err := s.store.Tokens.CreateAPIToken(c.Request().Context(), v.Name, v.Role, ttl, currentUser(c).Username, tokenOwner(c))
	if fields := models.FieldErrors(err); fields != nil {
		v.Errors = fields
		return s.renderTokens(c, http.StatusUnprocessableEntity, v)
	}
	if err != nil {
		return err
	}
	noteAudit(c.Request().Context(), "token "+t.Name, map[string]any{"role": t.Role})                     // never the token
	s.log.Info("web: API token created", "name", t.Name, "role", t.Role, "user", currentUser(c).Username) // never the token
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.renderTokens(c, http.StatusCreated, pages.TokensView{Role: models.RoleViewer, NewToken: token, NewTokenName: t.Name})
}

// tokenOwner names who a token made on the page belongs to: the logged-in user, or nobody for
// local access without login (which has no user row to own it).
func tokenOwner(c echo.Context) string {
	if u := currentUser(c); u != nil && u != localUser {
		return u.Username
	}
	return ""
}

// handleTokenRevoke revokes the named token.
func (s *Server) handleTokenRevoke(c echo.Context) error {
	name := c.Param("name")
	if err := s.store.Tokens.RevokeAPIToken(c.Request().Context(), name); err != nil {
		return err
	}
	s.log.Info("web: API token revoked", "name", name, "user", currentUser(c).Username)
	setFlash(c, "success", "Token "+name+" revoked: programs using it are refused from now on.")
	return redirect(c, "/dashboard/tokens")
}

func (s *Server) renderTokens(c echo.Context, status int, v pages.TokensView) error {
	tokens, err := s.store.Tokens.ListAPITokens(c.Request().Context())
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	for _, t := range tokens {
		r := pages.TokenRow{Name: t.Name, Role: t.Role, CreatedBy: t.CreatedBy, Created: s.moment(c, t.CreatedAt)}
		if t.ExpiresAt != nil {
			m := s.moment(c, *t.ExpiresAt)
			r.Expires, r.Expired = &m, !t.ExpiresAt.After(now)
		}
		if t.LastUsedAt != nil {
			m := s.moment(c, *t.LastUsedAt)
			r.LastUsed = &m
		}
		v.Rows = append(v.Rows, r)
	}
	v.Layout, v.CSRF = s.layoutProps(c, "API tokens", layout.SectionJobs), csrfToken(c)
	return render(c, status, pages.TokensPage(v))
}
