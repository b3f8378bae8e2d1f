package web

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/static"
	"github.com/kilnhq/kiln/views/pages"
)

const (
	sessionCookie  = "kiln_session"
	userContextKey = "kiln.user"
)

// localUser is who acts for a request from this machine when local requests skip login.
var localUser = &models.User{Username: "local", Role: models.RoleAdmin}

// session is what the signed session cookie holds.
type session struct {
	UserID  int64 `json:"u"`
	Version int   `json:"v"`
	Issued  int64 `json:"i"`
}

// newSessionCodec signs (HMAC-SHA256) and encrypts (AES-256) session cookies. The keys come from
// KILN_SECRET when set (so every node behind a load balancer accepts every node's cookies), or
// else from random keys kept in the database, which nodes sharing it share too.
func newSessionCodec(ctx context.Context, cfg Config, store *models.Store) (*securecookie.SecureCookie, error) {
	var hashKey, blockKey []byte
	if cfg.Secret != "" {
		h := sha256.Sum256([]byte("kiln session signing\x00" + cfg.Secret))
		b := sha256.Sum256([]byte("kiln session encryption\x00" + cfg.Secret))
		hashKey, blockKey = h[:], b[:]
	} else {
		var err error
		if hashKey, err = store.Secret(ctx, "session-signing-key", 32); err != nil {
			return nil, err
		}
		if blockKey, err = store.Secret(ctx, "session-encryption-key", 32); err != nil {
			return nil, err
		}
	}
	codec := securecookie.New(hashKey, blockKey)
	codec.MaxAge(int(cfg.SessionTTL.Seconds()))
	codec.SetSerializer(securecookie.JSONEncoder{})
	return codec, nil
}

// currentUser returns who is making the request, or nil when nobody is logged in.
func currentUser(c echo.Context) *models.User {
	u, _ := c.Get(userContextKey).(*models.User)
	return u
}

// isLocal reports a request made directly from this machine. A request that came through a
// proxy (it carries forwarding headers) is never local, even if the proxy runs here.
func isLocal(r *http.Request) bool {
	for _, h := range []string{"X-Forwarded-For", "X-Real-Ip", "Forwarded"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// isPartial reports an htmx request for a fragment of a page (a live region), as opposed to a
// boosted navigation, which wants a whole page.
func isPartial(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Boosted") != "true"
}

// isPublic lists what anyone may see without logging in.
func isPublic(path string) bool {
	return path == "/login" || isQuietPath(path)
}

// authenticate finds who is making the request and enforces the access rules: everything but the
// login page, health checks and assets needs a user; changing anything needs an admin.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if u := s.sessionUser(c); u != nil {
			c.Set(userContextKey, u)
		} else if s.cfg.LocalNoAuth && isLocal(c.Request()) {
			c.Set(userContextKey, localUser)
		}
		path, method := c.Path(), c.Request().Method
		if isPublic(path) || (path == "/logout" && method == http.MethodPost) {
			return next(c)
		}
		u := currentUser(c)
		if u == nil {
			login := "/login?next=" + url.QueryEscape(c.Request().URL.RequestURI())
			switch {
			case isPartial(c.Request()):
				// A live region polling after the session ended: send the whole page to login.
				c.Response().Header().Set("HX-Redirect", "/login?next="+url.QueryEscape(c.Request().Header.Get("HX-Current-URL")))
				return c.NoContent(http.StatusUnauthorized)
			case method == http.MethodGet && !wantsJSON(c.Request()):
				return redirect(c, login)
			}
			return echo.NewHTTPError(http.StatusUnauthorized, "Log in to do that.")
		}
		if method != http.MethodGet && method != http.MethodHead && !u.CanAct() {
			return echo.NewHTTPError(http.StatusForbidden, "Viewers can see everything but change nothing. Ask an admin.")
		}
		return next(c)
	}
}

// sessionUser returns the user of a valid session cookie, or nil.
func (s *Server) sessionUser(c echo.Context) *models.User {
	ck, err := c.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	var sess session
	if err := s.sessions.Decode(sessionCookie, ck.Value, &sess); err != nil {
		return nil
	}
	u, err := s.store.GetUser(c.Request().Context(), sess.UserID)
	if err != nil || u.SessionVersion != sess.Version {
		return nil // deleted user, or the password changed since
	}
	return u
}

func (s *Server) setSession(c echo.Context, u *models.User) error {
	value, err := s.sessions.Encode(sessionCookie, session{UserID: u.ID, Version: u.SessionVersion, Issued: time.Now().Unix()})
	if err != nil {
		return fmt.Errorf("web: sign session: %w", err)
	}
	c.SetCookie(&http.Cookie{
		Name: sessionCookie, Value: value, Path: "/", MaxAge: int(s.cfg.SessionTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(c),
	})
	return nil
}

// secureCookies reports whether cookies should be Secure: behind TLS, or when configured so.
func (s *Server) secureCookies(c echo.Context) bool {
	return s.cfg.CookieSecure || c.Request().TLS != nil
}

// loginRateLimit allows each client 5 login attempts at once, then one every 12 seconds.
func (s *Server) loginRateLimit() echo.MiddlewareFunc {
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
			Rate: rate.Every(12 * time.Second), Burst: 5, ExpiresIn: 15 * time.Minute,
		}),
		IdentifierExtractor: func(c echo.Context) (string, error) { return c.RealIP(), nil },
		DenyHandler: func(c echo.Context, _ string, _ error) error {
			s.log.Warn("web: login attempts rate-limited", "ip", c.RealIP())
			return s.renderLogin(c, http.StatusTooManyRequests, c.FormValue("username"), localPath(c.FormValue("next")),
				"Too many login attempts from your address. Wait a minute, then try again.")
		},
	})
}

// handleLoginPage shows the login form; someone already logged in goes on.
func (s *Server) handleLoginPage(c echo.Context) error {
	next := localPath(c.QueryParam("next"))
	if u := currentUser(c); u != nil && u != localUser {
		return redirect(c, next)
	}
	return s.renderLogin(c, http.StatusOK, "", next, "")
}

// handleLogin checks the credentials and starts a session.
func (s *Server) handleLogin(c echo.Context) error {
	username, password := strings.TrimSpace(c.FormValue("username")), c.FormValue("password")
	next := localPath(c.FormValue("next"))
	u, err := s.store.Authenticate(c.Request().Context(), username, password)
	if models.ErrorCode(err) == models.EINVALID {
		s.log.Info("web: failed login", "username", username, "ip", c.RealIP())
		return s.renderLogin(c, http.StatusUnauthorized, username, next, models.ErrorMessage(err))
	}
	if err != nil {
		return err
	}
	if err := s.setSession(c, u); err != nil {
		return err
	}
	s.log.Info("web: login", "username", u.Username, "ip", c.RealIP())
	return redirect(c, next)
}

// handleLogout ends the session.
func (s *Server) handleLogout(c echo.Context) error {
	c.SetCookie(&http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(c)})
	setFlash(c, "info", "You are logged out.")
	return redirect(c, "/login")
}

func (s *Server) renderLogin(c echo.Context, status int, username, next, problem string) error {
	return render(c, status, pages.LoginPage(pages.LoginView{
		Layout: s.layoutProps(c, "Log in", ""), Username: username, Next: next, Error: problem, CSRF: csrfToken(c),
		Icon: static.URL("img/favicon.svg"),
	}))
}

// localPath keeps a redirect target on this site: anything but a plain local path becomes "/".
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || p == "/login" {
		return "/"
	}
	return p
}

// actorContext names the current user in the context the engine records actions with.
func actorContext(c echo.Context) context.Context {
	ctx := c.Request().Context()
	if u := currentUser(c); u != nil {
		return jobs.WithActor(ctx, u.Username)
	}
	return ctx
}
