package web

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
	sessionCookie     = "kiln_session"
	userContextKey    = "kiln.user"
	sessionContextKey = "kiln.session" // the id of the request's session, if it has one
)

// localUser is who acts for a request from this machine when local requests skip login.
var localUser = &models.User{Username: "local", Role: models.RoleAdmin}

// minSecretLen is the shortest KILN_SECRET accepted: 32 bytes, as `openssl rand -base64 32`
// makes (44 characters). A short secret can be guessed, and with it any cookie forged.
const minSecretLen = 32

// minSecretDistinct is the fewest different bytes a KILN_SECRET may hold. 32 random bytes in
// base64 (openssl rand -base64 32) hold about 31, in hex 16; either has fewer than 8 with a
// chance under 1e-20.
const minSecretDistinct = 8

// notRandomRun is the length of a repeated or counting run that marks a secret as typed by
// hand: 12 bytes. In 32 random bytes, as base64 or hex, a 12-byte run that occurs twice has a
// chance under 1e-11, and one that counts up or down (abcdefghijkl) none in hex and under 1e-18
// in base64.
const notRandomRun = 12

// notRandom says how secret plainly isn't random ("" when nothing shows): too few different
// bytes (32 times "s"), a run of 12 bytes that occurs twice (changeme-changeme-...), or one
// that counts up or down (abcdefghijkl, 0123456789ab). It can't prove a secret random (a
// sentence passes); it stops the ones typed by hand to get past the length check.
func notRandom(secret string) string {
	var seen [256]bool
	distinct := 0
	for i := 0; i < len(secret); i++ {
		if !seen[secret[i]] {
			seen[secret[i]] = true
			distinct++
		}
	}
	if distinct < minSecretDistinct {
		what := fmt.Sprintf("%d different bytes", distinct)
		if distinct == 1 {
			what = "one byte"
		}
		return fmt.Sprintf("it is made of %s, repeated (random data of its length holds far more)", what)
	}
	runs := map[string]bool{}
	for i := 0; i+notRandomRun <= len(secret); i++ {
		run := secret[i : i+notRandomRun]
		if runs[run] { // not quoted: a secret is never shown, not even in part
			return fmt.Sprintf("it holds the same %d bytes twice", notRandomRun)
		}
		runs[run] = true
	}
	for i, up, down := 1, 1, 1; i < len(secret); i++ {
		up, down = runLength(up, secret[i] == secret[i-1]+1), runLength(down, secret[i] == secret[i-1]-1)
		if up >= notRandomRun || down >= notRandomRun {
			return fmt.Sprintf("it counts up or down for %d bytes in a row", notRandomRun)
		}
	}
	return ""
}

// runLength is the length of a run of n bytes after one more byte: n+1 if it goes on, 1 if a
// new run starts there.
func runLength(n int, goesOn bool) int {
	if goesOn {
		return n + 1
	}
	return 1
}

// serverKeys are the keys a server signs and encrypts its cookies and CSRF tokens with.
type serverKeys struct {
	hash, block, csrf []byte
}

// newServerKeys derives the keys from KILN_SECRET when set (so every node behind a load
// balancer accepts every node's cookies), or else takes random keys kept in the database,
// which the nodes sharing it share too.
func newServerKeys(ctx context.Context, cfg Config, store models.SettingStore) (serverKeys, error) {
	var k serverKeys
	if cfg.Secret != "" {
		derive := func(purpose string) []byte {
			sum := sha256.Sum256([]byte("kiln " + purpose + "\x00" + cfg.Secret))
			return sum[:]
		}
		return serverKeys{hash: derive("session signing"), block: derive("session encryption"), csrf: derive("csrf")}, nil
	}
	for name, key := range map[string]*[]byte{"session-signing-key": &k.hash, "session-encryption-key": &k.block, "csrf-key": &k.csrf} {
		var err error
		if *key, err = store.Secret(ctx, name, 32); err != nil {
			return k, err
		}
	}
	return k, nil
}

// newSessionCodec signs (HMAC-SHA256) and encrypts (AES-256) session cookies, which carry the
// session's token: a cookie Kiln did not make is refused before the database is asked.
func newSessionCodec(cfg Config, keys serverKeys) *securecookie.SecureCookie {
	codec := securecookie.New(keys.hash, keys.block)
	codec.MaxAge(int(cfg.SessionTTL.Seconds()))
	codec.SetSerializer(securecookie.JSONEncoder{})
	return codec
}

// currentUser returns who is making the request, or nil when nobody is logged in.
func currentUser(c echo.Context) *models.User {
	u, _ := c.Get(userContextKey).(*models.User)
	return u
}

// currentSession returns the id of the request's session, or "" when it has none.
func currentSession(c echo.Context) string {
	id, _ := c.Get(sessionContextKey).(string)
	return id
}

// isPartial reports an htmx request for a fragment of a page (a live region), as opposed to a
// boosted navigation, which wants a whole page.
func isPartial(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Boosted") != "true"
}

// identify finds who is making the request: the user of a live session or, when local
// requests skip login, the local admin for a request from this machine.
func (s *Server) identify(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if isQuietPath(c.Path()) {
			return next(c) // assets and health checks: nobody to identify, no database read
		}
		if isAPIPath(c.Request().URL.Path) { // a token or local access; never a session cookie
			if err := s.identifyAPI(c); err != nil {
				return err
			}
			return next(c)
		}
		if u, id := s.sessionUser(c); u != nil {
			c.Set(userContextKey, u)
			c.Set(sessionContextKey, id)
		} else if s.cfg.LocalNoAuth && isLocal(c.Request()) {
			c.Set(userContextKey, localUser)
		}
		return next(c)
	}
}

// sessionUser returns the user of the request's session and the session's id, or nil when the
// request has no live session.
func (s *Server) sessionUser(c echo.Context) (*models.User, string) {
	ck, err := c.Cookie(sessionCookie)
	if err != nil {
		return nil, ""
	}
	var token string
	if err := s.sessions.Decode(sessionCookie, ck.Value, &token); err != nil || token == "" {
		return nil, ""
	}
	u, err := s.store.Sessions.SessionUser(c.Request().Context(), token)
	if err != nil {
		if models.ErrorCode(err) != models.ENOTFOUND {
			s.log.Warn("web: session lookup failed", "err", err)
		}
		return nil, "" // logged out, expired, password changed, or the database is away
	}
	return u, models.SessionID(token)
}

// startSession records a new session for u and gives the browser its cookie.
func (s *Server) startSession(c echo.Context, u *models.User) error {
	return s.beginSession(c, u, "")
}

// beginSession is startSession for a login that came with an ID token (single sign-on), which
// the session keeps for RP-initiated logout.
func (s *Server) beginSession(c echo.Context, u *models.User, idToken string) error {
	r := c.Request()
	token, sess, err := s.store.Sessions.CreateSession(r.Context(), u.ID, s.cfg.SessionTTL, c.RealIP(), r.UserAgent())
	if err != nil {
		return err
	}
	if idToken != "" {
		if err := s.store.Sessions.SetSessionIDToken(r.Context(), sess.ID, idToken); err != nil {
			return err
		}
	}
	value, err := s.sessions.Encode(sessionCookie, token)
	if err != nil {
		return fmt.Errorf("web: sign session: %w", err)
	}
	c.SetCookie(&http.Cookie{
		Name: sessionCookie, Value: value, Path: "/", MaxAge: int(s.cfg.SessionTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(c),
	})
	return nil
}

// secureCookies reports whether cookies should be Secure: behind TLS, when configured so, or
// with single sign-on to an https:// public URL (where the provider sends browsers back to).
func (s *Server) secureCookies(c echo.Context) bool {
	return s.cfg.CookieSecure || c.Request().TLS != nil ||
		(s.cfg.OIDC.Enabled() && strings.HasPrefix(s.cfg.Alerts.PublicURL, "https://"))
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

// handleLogin checks the credentials and starts a session, with a new CSRF token.
func (s *Server) handleLogin(c echo.Context) error {
	username, password := strings.TrimSpace(c.FormValue("username")), c.FormValue("password")
	next := localPath(c.FormValue("next"))
	if s.cfg.NoLocalLogin {
		s.log.Info("web: password login refused: local login is off", "username", username, "ip", c.RealIP())
		return s.renderLogin(c, http.StatusForbidden, "", next, "Logging in with a password is turned off here. Sign in with "+s.cfg.OIDC.ProviderName+".")
	}
	u, err := s.store.Users.Authenticate(c.Request().Context(), username, password)
	if models.ErrorCode(err) == models.EINVALID {
		s.log.Info("web: failed login", "username", username, "ip", c.RealIP())
		return s.renderLogin(c, http.StatusUnauthorized, username, next, models.ErrorMessage(err))
	}
	if err != nil {
		return err
	}
	if id := currentSession(c); id != "" { // logging in again ends the session it replaces
		if err := s.store.Sessions.DeleteSession(c.Request().Context(), id); err != nil {
			return err
		}
	}
	if err := s.startSession(c, u); err != nil {
		return err
	}
	if err := s.rotateCSRF(c); err != nil {
		return err
	}
	s.log.Info("web: login", "username", u.Username, "ip", c.RealIP())
	return redirect(c, next)
}

// handleLogout ends the session on the server, so that no copy of its cookie works any more,
// and starts a new CSRF token. Without a live session there is nothing to end (the CSRF check
// lets such a request through, so that clicking "Log out" after a session expired isn't an
// error): it only clears the cookie.
func (s *Server) handleLogout(c echo.Context) error {
	id := currentSession(c)
	idToken := ""
	if id != "" && s.cfg.OIDC.Enabled() {
		var err error
		if idToken, err = s.store.Sessions.SessionIDToken(c.Request().Context(), id); err != nil {
			return err
		}
	}
	if id != "" {
		// The row first: should the database fail, the browser keeps its cookie and the user
		// sees that logging out failed, rather than believing a live session ended.
		if err := s.store.Sessions.DeleteSession(c.Request().Context(), id); err != nil {
			return err
		}
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(c)})
	if id != "" {
		if err := s.rotateCSRF(c); err != nil {
			return err
		}
		s.log.Info("web: logout", "username", currentUser(c).Username, "ip", c.RealIP())
		setFlash(c, "info", "You are logged out.")
	}
	if to := s.ssoLogoutURL(c.Request().Context(), idToken); to != "" {
		return redirect(c, to) // RP-initiated logout: the provider's session ends too
	}
	return redirect(c, "/login")
}

func (s *Server) renderLogin(c echo.Context, status int, username, next, problem string) error {
	v := pages.LoginView{
		Layout: s.layoutProps(c, "Log in", ""), Username: username, Next: next, Error: problem, CSRF: csrfToken(c),
		Icon: static.URL("img/favicon.svg"), Password: !s.cfg.NoLocalLogin,
	}
	if s.cfg.OIDC.Enabled() {
		v.SSOName, v.SSOURL = s.cfg.OIDC.ProviderName, "/auth/login?next="+url.QueryEscape(next)
	}
	return render(c, status, pages.LoginPage(v))
}

// localPath keeps a redirect target on this site: anything but a plain path on this host
// becomes "/". Browsers drop tabs and line breaks from URLs and read a backslash as a slash,
// so "/\t/evil.example" would leave the site: a target with any control character or backslash
// is refused outright, and what remains must parse as a bare path.
func localPath(p string) string {
	// "///host" parses as an empty authority and the path "/host", but browsers go to host.
	// "%2F" parses to the path "/", but the browser resolves it relative to the page.
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsFunc(p, func(r rune) bool { return r == '\\' || unicode.IsControl(r) || r == utf8.RuneError }) {
		return "/"
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") ||
		strings.HasPrefix(u.Path, "//") || u.Path == "/login" {
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
