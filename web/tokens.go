package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/views/layout"
	"github.com/kilnhq/kiln/views/pages"
)

// handleTokens lists the user's own API tokens, with the form for a new one, and to admins
// (tokens.manage) everyone else's too.
func (s *Server) handleTokens(c echo.Context) error {
	return s.renderTokens(c, http.StatusOK, pages.TokensView{Role: models.RoleViewer})
}

// handleTokenCreate makes a token owned by the logged-in user and shows it once, on this
// response: never through a redirect or a flash cookie, and never cached. Its role may not
// exceed the user's (the store refuses it beside the role field).
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

// handleTokenRevoke revokes the named token: any, for tokens.manage; otherwise only one of the
// user's own, another's being answered 404 as if it didn't exist.
func (s *Server) handleTokenRevoke(c echo.Context) error {
	name, u := c.Param("name"), currentUser(c)
	var err error
	if u.May(authz.TokensManage) {
		err = s.store.Tokens.RevokeAPIToken(c.Request().Context(), name)
	} else {
		err = s.store.Tokens.RevokeOwnAPIToken(c.Request().Context(), u.Username, name)
	}
	if err != nil {
		return err
	}
	s.log.Info("web: API token revoked", "name", name, "user", u.Username)
	setFlash(c, "success", "Token "+name+" revoked: programs using it are refused from now on.")
	return redirect(c, "/dashboard/tokens")
}

func (s *Server) renderTokens(c echo.Context, status int, v pages.TokensView) error {
	tokens, err := s.store.Tokens.ListAPITokens(c.Request().Context())
	if err != nil {
		return err
	}
	now, owner, all := s.cfg.Now(), tokenOwner(c), currentUser(c).May(authz.TokensManage)
	for _, t := range tokens {
		mine := t.UserID != nil && t.Owner == owner
		if !mine && !all {
			continue
		}
		r := pages.TokenRow{Name: t.Name, Role: t.Role, Owner: t.Owner, CreatedBy: t.CreatedBy, Created: s.moment(c, t.CreatedAt)}
		if t.ExpiresAt != nil {
			m := s.moment(c, *t.ExpiresAt)
			r.Expires, r.Expired = &m, !t.ExpiresAt.After(now)
		}
		if t.LastUsedAt != nil {
			m := s.moment(c, *t.LastUsedAt)
			r.LastUsed = &m
		}
		if mine {
			v.Rows = append(v.Rows, r)
		} else {
			v.Others = append(v.Others, r)
		}
	}
	v.ShowOthers = all
	v.Layout, v.CSRF = s.layoutProps(c, "API tokens", layout.SectionJobs), csrfToken(c)
	return render(c, status, pages.TokensPage(v))
}
