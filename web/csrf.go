package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
)

// Every request that may change something (any method but GET, HEAD and OPTIONS) must carry a
// CSRF token, in the form field _csrf or the X-CSRF-Token header; never in the query string,
// which ends up in logs, history and Referer headers.
//
// A token is an HMAC of what it is bound to: the request's session or, before login (the login
// form) and for local access, a random nonce kept in the kiln_csrf cookie. A token from one
// session is worthless in any other, and logging in or out changes it (the nonce is renewed
// too). Each page gets the token masked with a fresh random pad, as gorilla/csrf and Django do,
// so a compressed page never repeats the same secret bytes (BREACH). Go's CrossOriginProtection
// also turns away browser requests that say they come from another origin.

// csrfCookie holds the nonce that tokens of requests without a session are bound to.
const csrfCookie = "kiln_csrf"

// csrfSize is the size of the nonce, the HMAC and the mask.
const csrfSize = 32

// isSafeMethod reports the methods that change nothing, and so need no token.
func isSafeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// protectCSRF checks the token of every unsafe request and gives each page its token.
func (s *Server) protectCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if isQuietPath(c.Path()) {
			return next(c)
		}
		if r := c.Request(); isAPIPath(r.URL.Path) {
			// No cookie is accepted here, so no token either. A change made through local
			// access still must not come from a page of another origin (a browser tells).
			if c.Get(tokenContextKey) == nil && !isSafeMethod(r.Method) && s.crossOrigin.Check(r) != nil {
				return echo.NewHTTPError(http.StatusForbidden, "A page of another origin may not use Kiln's API through local access; send an API token.")
			}
			return next(c)
		}
		binding, err := s.csrfBinding(c)
		if err != nil {
			return err
		}
		r := c.Request()
		if !isSafeMethod(r.Method) {
			if s.crossOrigin.Check(r) != nil {
				return errCSRF
			}
			// Logging out without a session ends nothing: a same-origin one needs no token, so
			// that a user whose session already ended isn't shown an error for "Log out".
			if !(c.Path() == "/logout" && currentSession(c) == "") {
				sent := r.Header.Get(echo.HeaderXCSRFToken)
				if sent == "" {
					if err := readForm(r); err != nil {
						return err
					}
					sent = r.PostForm.Get(csrfField) // the body only: r.Form would hold the URL's too
				}
				if !s.csrfValid(binding, sent) {
					return errCSRF
				}
			}
		}
		token, err := s.csrfMasked(binding)
		if err != nil {
			return err
		}
		c.Set(csrfContextKey, token)
		return next(c)
	}
}

// readForm parses the request's form, as PostFormValue would, but says when it can't: a body
// over maxBodyBytes (an *http.MaxBytesError, a 413) or one that isn't a form (a 400), which
// PostFormValue would take for a form without a token.
func readForm(r *http.Request) error {
	err := r.ParseForm() // first: ParseMultipartForm hides its error behind ErrNotMultipart
	if err == nil {
		if err = r.ParseMultipartForm(maxBodyBytes); errors.Is(err, http.ErrNotMultipart) {
			err = nil
		}
	}
	var tooLarge *http.MaxBytesError
	if err == nil || errors.As(err, &tooLarge) {
		return err
	}
	return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("The form could not be read: %v.", err))
}

// csrfBinding returns what the request's token is bound to: its session, or else the nonce of
// its kiln_csrf cookie, which it sets when missing.
func (s *Server) csrfBinding(c echo.Context) ([]byte, error) {
	if id := currentSession(c); id != "" {
		return []byte("session\x00" + id), nil
	}
	if ck, err := c.Cookie(csrfCookie); err == nil {
		if nonce, err := base64.RawURLEncoding.DecodeString(ck.Value); err == nil && len(nonce) == csrfSize {
			return append([]byte("nonce\x00"), nonce...), nil
		}
	}
	return s.newCSRFNonce(c)
}

// rotateCSRF gives the browser a new nonce, at login and logout, so that no token from before
// works after.
func (s *Server) rotateCSRF(c echo.Context) error {
	_, err := s.newCSRFNonce(c)
	return err
}

func (s *Server) newCSRFNonce(c echo.Context) ([]byte, error) {
	nonce := make([]byte, csrfSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("web: csrf nonce: %w", err)
	}
	c.SetCookie(&http.Cookie{
		Name: csrfCookie, Value: base64.RawURLEncoding.EncodeToString(nonce), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(c),
	})
	return append([]byte("nonce\x00"), nonce...), nil
}

// csrfMAC is the unmasked token of a binding.
func (s *Server) csrfMAC(binding []byte) []byte {
	m := hmac.New(sha256.New, s.keys.csrf)
	m.Write(binding)
	return m.Sum(nil)
}

// csrfMasked returns the token of a binding under a fresh mask: base64(mask || mask XOR mac).
func (s *Server) csrfMasked(binding []byte) (string, error) {
	out := make([]byte, 2*csrfSize)
	if _, err := rand.Read(out[:csrfSize]); err != nil {
		return "", fmt.Errorf("web: csrf mask: %w", err)
	}
	subtle.XORBytes(out[csrfSize:], out[:csrfSize], s.csrfMAC(binding))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// csrfValid reports whether sent is a token of the binding, under any mask.
func (s *Server) csrfValid(binding []byte, sent string) bool {
	raw, err := base64.RawURLEncoding.DecodeString(sent)
	if err != nil || len(raw) != 2*csrfSize {
		return false
	}
	mac := make([]byte, csrfSize)
	subtle.XORBytes(mac, raw[:csrfSize], raw[csrfSize:])
	return hmac.Equal(mac, s.csrfMAC(binding))
}
