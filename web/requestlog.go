package web

import (
	"log/slog"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/kilnhq/kiln/models"
)

// requestLogger logs every request but assets and health checks, after the error handler ran
// so that the status logged is the one sent, its URI with credentials redacted.
func (s *Server) requestLogger() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURI: true, LogMethod: true, LogLatency: true, LogRequestID: true, LogRemoteIP: true,
		HandleError: true,
		Skipper:     func(c echo.Context) bool { return isQuietPath(c.Path()) },
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			s.log.LogAttrs(c.Request().Context(), slog.LevelInfo, "request",
				slog.String("method", v.Method), slog.String("uri", redactURI(v.URI)), slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency), slog.String("ip", v.RemoteIP), slog.String("request_id", v.RequestID))
			return nil
		},
	})
}

// credentialParams are the query parameters whose values are credentials, by their lower-case
// names. Kiln takes none of them from a URL (a token goes in the Authorization header, a CSRF
// token in the body), but a client may still send one there, and logs are kept and read widely.
var credentialParams = map[string]bool{
	"token": true, "access_token": true, "refresh_token": true, "id_token": true, "private_token": true, "api_key": true, "apikey": true, "key": true,
	"password": true, "passwd": true, "pass": true, "pwd": true, "secret": true, "client_secret": true,
	"auth": true, "authorization": true, "session": true, "session_id": true, "sessionid": true,
	"sig": true, "signature": true, "x-amz-signature": true, "x-amz-credential": true, "x-amz-security-token": true,
	"code_verifier": true, "id_token_hint": true,
	csrfField: true,
}

// callbackParams are credentials only in single sign-on's callback: the authorization code,
// and the state that binds it to the browser. Elsewhere state=failed is a filter.
var callbackParams = map[string]bool{"code": true, "state": true}

// redacted replaces a credential in a logged URI.
const redacted = "REDACTED"

// redactMaxDepth bounds how many URLs inside URLs redactURI opens: a login page's next= holds
// a URL, whose own next= may hold another; no client nests deeper for a good reason.
const redactMaxDepth = 8

// redactURI is a request URI as the log writes it: the value of every credential parameter,
// and of any parameter holding an API token (models.TokenPrefix), is REDACTED, as is the user
// information of an absolute URI (http://user:password@host/...). Parameters are separated by
// '&' or ';'. A value that is itself a URL with a query or an authority (the login page's next=
// holds the URL that was refused, query and all) is redacted the same way, and written back
// escaped. The rest is left as sent.
func redactURI(uri string) string { return redactURIAt(uri, 0) }

func redactURIAt(uri string, depth int) string {
	path, query, hasQuery := strings.Cut(uri, "?")
	if scheme, rest, ok := strings.Cut(path, "://"); ok { // an absolute URI: user:password@host?
		authority := rest
		if end := strings.IndexByte(rest, '/'); end >= 0 {
			authority = rest[:end]
		}
		if at := strings.LastIndexByte(authority, '@'); at >= 0 {
			path = scheme + "://" + redacted + rest[at:]
		}
	}
	if !hasQuery {
		return path
	}
	var b strings.Builder
	b.WriteString(path)
	b.WriteByte('?')
	callback := strings.HasSuffix(path, ssoCallback)
	for {
		end := strings.IndexAny(query, "&;")
		if end < 0 {
			b.WriteString(redactParam(query, callback, depth))
			return b.String()
		}
		b.WriteString(redactParam(query[:end], callback, depth))
		b.WriteByte(query[end])
		query = query[end+1:]
	}
}

// redactParam is one name=value of a query as the log writes it; callback says the query is
// single sign-on's callback's.
func redactParam(p string, callback bool, depth int) string {
	name, value, _ := strings.Cut(p, "=")
	plainName, err := url.QueryUnescape(name)
	if err != nil {
		plainName = name
	}
	plainValue, err := url.QueryUnescape(value)
	if err != nil {
		plainValue = value
	}
	lower := strings.ToLower(plainName)
	if credentialParams[lower] || (callback && callbackParams[lower]) || strings.Contains(plainValue, models.TokenPrefix) {
		return name + "=" + redacted
	}
	if depth < redactMaxDepth && (strings.Contains(plainValue, "?") || strings.Contains(plainValue, "://")) {
		if inner := redactURIAt(plainValue, depth+1); inner != plainValue {
			return name + "=" + url.QueryEscape(inner)
		}
	}
	return p
}
