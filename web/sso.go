package web

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gorilla/securecookie"
	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
)

// Single sign-on is OpenID Connect's authorization-code flow with PKCE (S256): /auth/login
// sends the browser to the provider with a fresh state, nonce and code challenge, kept in a
// short-lived cookie, signed and encrypted like the session's, that binds the attempt to this
// browser; /auth/callback checks the state against it, redeems the code with the verifier,
// verifies the ID token (signature, issuer, audience, expiry) and its nonce, and maps the role
// claim to a role. Codes, tokens and the client secret are never logged.

const (
	ssoCookie      = "kiln_sso"
	ssoCookiePath  = "/auth"
	ssoCallback    = "/auth/callback"
	ssoAttemptTTL  = 10 * time.Minute // from the login button to the provider's answer
	ssoHTTPTimeout = 15 * time.Second // each call to the provider
)

// ssoAttempt is what the sso cookie holds between /auth/login and /auth/callback.
type ssoAttempt struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"x"`
}

// ssoClient talks to the provider. Its discovery document is read at the first sign-in and
// kept, so that Kiln starts while the provider is away; a failed read is tried again next time.
type ssoClient struct {
	cfg      OIDC
	redirect string
	now      func() time.Time
	http     *http.Client
	cookies  *securecookie.SecureCookie

	mu         sync.Mutex
	provider   *oidc.Provider
	verifier   *oidc.IDTokenVerifier
	endSession string
}

func newSSOClient(cfg Config, keys serverKeys) *ssoClient {
	codec := securecookie.New(keys.hash, keys.block)
	codec.MaxAge(int(ssoAttemptTTL.Seconds()))
	codec.SetSerializer(securecookie.JSONEncoder{})
	return &ssoClient{
		cfg: cfg.OIDC, redirect: cfg.Alerts.Link(ssoCallback), now: cfg.Now,
		http: &http.Client{Timeout: ssoHTTPTimeout}, cookies: codec,
	}
}

// discover returns the provider, reading its discovery document the first time.
func (sc *ssoClient) discover(ctx context.Context) (*oidc.Provider, *oidc.IDTokenVerifier, error) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.provider != nil {
		return sc.provider, sc.verifier, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, sc.http), sc.cfg.Issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("web: discover the identity provider %s: %w", sc.cfg.Issuer, err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&meta); err != nil {
		return nil, nil, fmt.Errorf("web: read the identity provider's discovery document: %w", err)
	}
	sc.provider, sc.endSession = p, meta.EndSession
	sc.verifier = p.Verifier(&oidc.Config{ClientID: sc.cfg.ClientID, Now: sc.now})
	return sc.provider, sc.verifier, nil
}

// oauth returns the OAuth 2 client, with the client secret read from the vault when it is a
// ${secret:NAME} reference.
func (sc *ssoClient) oauth(ctx context.Context, p *oidc.Provider, vault builtin.Secrets) (*oauth2.Config, error) {
	secret, err := builtin.NewRevealer(ctx, vault).Expand(sc.cfg.ClientSecret)
	if err != nil {
		return nil, fmt.Errorf("web: --oidc-client-secret: %w", err)
	}
	return &oauth2.Config{
		ClientID: sc.cfg.ClientID, ClientSecret: secret, Endpoint: p.Endpoint(),
		RedirectURL: sc.redirect, Scopes: sc.cfg.Scopes,
	}, nil
}

// ssoVault is where the client secret's reference is read: the secrets vault.
func (s *Server) ssoVault() builtin.Secrets {
	v, _ := s.cfg.Secrets.(builtin.Secrets)
	return v
}

// errSSOUnavailable is the page shown when the provider can't be reached or Kiln's client at
// it is misconfigured: the details go to the log.
var errSSOUnavailable = echo.NewHTTPError(http.StatusBadGateway)

// ssoProvider is Kiln's OAuth client at the provider and the ID tokens' verifier, discovering
// the provider on first use; errSSOUnavailable (the details logged) when it can't be reached or
// the client is misconfigured.
func (s *Server) ssoProvider(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	p, verifier, err := s.sso.discover(ctx)
	if err == nil {
		var oc *oauth2.Config
		if oc, err = s.sso.oauth(ctx, p, s.ssoVault()); err == nil {
			return oc, verifier, nil
		}
	}
	s.log.Warn("web: single sign-on unavailable", "err", err)
	return nil, nil, errSSOUnavailable
}

// handleSSOStart sends the browser to the provider.
func (s *Server) handleSSOStart(c echo.Context) error {
	ctx := c.Request().Context()
	oc, _, err := s.ssoProvider(ctx)
	if err != nil {
		return err
	}
	a := ssoAttempt{State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(), Next: localPath(c.QueryParam("next"))}
	value, err := s.sso.cookies.Encode(ssoCookie, a)
	if err != nil {
		return fmt.Errorf("web: seal the sign-in attempt: %w", err)
	}
	s.setSSOCookie(c, value, int(ssoAttemptTTL.Seconds()))
	return redirect(c, oc.AuthCodeURL(a.State, oidc.Nonce(a.Nonce), oauth2.S256ChallengeOption(a.Verifier)))
}

// setSSOCookie sets (or, with maxAge -1, clears) the cookie of the sign-in attempt. SameSite
// Lax: the provider's redirect back is a cross-site top-level GET, which Lax lets it reach.
func (s *Server) setSSOCookie(c echo.Context, value string, maxAge int) {
	c.SetCookie(&http.Cookie{Name: ssoCookie, Value: value, Path: ssoCookiePath, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(c)})
}

// randomToken is 256 random bits, URL-safe: a state or a nonce.
func randomToken() string {
	return base64.RawURLEncoding.EncodeToString(securecookie.GenerateRandomKey(32))
}

// errSSOAttempt answers a callback that doesn't belong to a sign-in this browser started.
var errSSOAttempt = echo.NewHTTPError(http.StatusBadRequest,
	"This sign-in expired, was already used, or was started in another browser, so it was not accepted. Start again from the login page.")

// handleSSOCallback finishes the sign-in the provider sends the browser back from.
func (s *Server) handleSSOCallback(c echo.Context) error {
	var a ssoAttempt
	ck, err := c.Cookie(ssoCookie)
	if err != nil || s.sso.cookies.Decode(ssoCookie, ck.Value, &a) != nil || a.State == "" {
		s.log.Info("web: single sign-on refused: no attempt of this browser", "ip", c.RealIP())
		return errSSOAttempt
	}
	s.setSSOCookie(c, "", -1) // one attempt, one callback
	q := c.Request().URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(a.State)) != 1 {
		s.log.Warn("web: single sign-on refused: the state does not match", "ip", c.RealIP())
		return errSSOAttempt
	}
	if e := q.Get("error"); e != "" {
		s.log.Info("web: single sign-on refused by the provider", "error", e, "ip", c.RealIP())
		return echo.NewHTTPError(http.StatusForbidden, fmt.Sprintf("%s refused the sign-in (%s). %s",
			s.cfg.OIDC.ProviderName, e, q.Get("error_description")))
	}
	ctx := c.Request().Context()
	oc, verifier, err := s.ssoProvider(ctx)
	if err != nil {
		return err
	}
	tok, err := oc.Exchange(context.WithValue(ctx, oauth2.HTTPClient, s.sso.http), q.Get("code"), oauth2.VerifierOption(a.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) { // its body may quote the code: only its error code is logged
			s.log.Warn("web: single sign-on refused: the provider did not redeem the code", "status", re.Response.StatusCode, "error", re.ErrorCode, "ip", c.RealIP())
			return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("%s did not accept this sign-in (%s): its code may have been used already or expired. Start again from the login page.",
				s.cfg.OIDC.ProviderName, re.ErrorCode))
		}
		s.log.Warn("web: single sign-on unavailable: redeem the code", "err", err)
		return errSSOUnavailable
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		s.log.Warn("web: single sign-on refused: the token response has no ID token", "ip", c.RealIP())
		return echo.NewHTTPError(http.StatusBadRequest, s.cfg.OIDC.ProviderName+" sent no ID token. Ask an admin to check that Kiln's client asks for the openid scope.")
	}
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		s.log.Warn("web: single sign-on refused: the ID token did not verify", "err", err, "ip", c.RealIP())
		var expired *oidc.TokenExpiredError
		if errors.As(err, &expired) {
			return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("The ID token from %s expired at %s, so the sign-in was not accepted. If this repeats, check the clocks of Kiln's server and of the provider.",
				s.cfg.OIDC.ProviderName, expired.Expiry.UTC().Format(time.RFC3339)))
		}
		return echo.NewHTTPError(http.StatusBadRequest, "The ID token from "+s.cfg.OIDC.ProviderName+" did not verify, so the sign-in was not accepted. Start again from the login page.")
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(a.Nonce)) != 1 {
		s.log.Warn("web: single sign-on refused: the nonce does not match", "ip", c.RealIP())
		return errSSOAttempt
	}
	return s.ssoSignIn(c, idt, raw, a.Next)
}

// ssoClaims are the ID token's claims Kiln reads besides the role claim.
type ssoClaims struct {
	PreferredUsername string `json:"preferred_username"`
	Email             string `json:"email"`
}

// ssoSignIn gives the verified account its role and a session, or refuses it when the role
// map gives it none.
func (s *Server) ssoSignIn(c echo.Context, idt *oidc.IDToken, raw, next string) error {
	var named ssoClaims
	var all map[string]json.RawMessage
	if err := idt.Claims(&named); err != nil {
		return fmt.Errorf("web: read the ID token's claims: %w", err)
	}
	if err := idt.Claims(&all); err != nil {
		return fmt.Errorf("web: read the ID token's claims: %w", err)
	}
	name := named.PreferredUsername
	if name == "" {
		name = named.Email
	}
	shown := name // who the refusal page says signed in
	if shown == "" {
		shown = "account " + idt.Subject
	}
	values := claimValues(all[s.cfg.OIDC.RoleClaim])
	role := roleFor(s.cfg.OIDC.RoleMap, values)
	if role == "" {
		s.log.Info("web: single sign-on refused: no role for the account", "username", name, "claim", s.cfg.OIDC.RoleClaim, "values", values, "ip", c.RealIP())
		s.recordLogin(c, shown, false)
		if err := s.store.Users.EndOIDCSessions(c.Request().Context(), idt.Issuer, idt.Subject); err != nil {
			return err
		}
		held := "none"
		if len(values) > 0 {
			held = strings.Join(values, ", ")
		}
		return echo.NewHTTPError(http.StatusForbidden, fmt.Sprintf(
			"You signed in at %s as %s, but Kiln's role map gives none of your %s a role, so you may not use Kiln. Yours: %s. Ask an admin to add one of them to --oidc-role-map.",
			s.cfg.OIDC.ProviderName, shown, s.cfg.OIDC.RoleClaim, held))
	}
	ctx := c.Request().Context()
	u, err := s.store.Users.SignInOIDC(ctx, models.OIDCLogin{Issuer: idt.Issuer, Subject: idt.Subject, Username: name, Role: role})
	if err != nil {
		return err
	}
	if id := currentSession(c); id != "" { // signing in again ends the session it replaces
		if err := s.store.Sessions.DeleteSession(ctx, id); err != nil {
			return err
		}
	}
	if err := s.beginSession(c, u, raw); err != nil {
		return err
	}
	if err := s.rotateCSRF(c); err != nil {
		return err
	}
	s.log.Info("web: login", "username", u.Username, "role", u.Role, "via", "single sign-on", "ip", c.RealIP())
	s.recordLogin(c, u.Username, true)
	return redirect(c, next)
}

// claimValues reads a role claim: a string or a list of strings (anything else holds none).
func claimValues(raw json.RawMessage) []string {
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var one string
	if json.Unmarshal(raw, &one) == nil && one != "" {
		return []string{one}
	}
	return nil
}

// ssoLogoutURL is where a browser goes after logging out of a session that came from single
// sign-on: the provider's end_session_endpoint (RP-initiated logout), which ends the session
// there too and sends the browser back to the login page. "" when the provider has none.
func (s *Server) ssoLogoutURL(ctx context.Context, idToken string) string {
	if !s.cfg.OIDC.Enabled() || idToken == "" {
		return ""
	}
	if _, _, err := s.sso.discover(ctx); err != nil {
		s.log.Warn("web: single sign-on logout at the provider skipped", "err", err)
		return ""
	}
	if s.sso.endSession == "" {
		return ""
	}
	u, err := url.Parse(s.sso.endSession)
	if err != nil {
		s.log.Warn("web: the provider's end_session_endpoint is not a URL", "err", err)
		return ""
	}
	q := u.Query()
	q.Set("id_token_hint", idToken)
	q.Set("client_id", s.cfg.OIDC.ClientID)
	q.Set("post_logout_redirect_uri", s.cfg.Alerts.Link("/login"))
	u.RawQuery = q.Encode()
	return u.String()
}
