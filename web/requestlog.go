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
var credentialParams = map[string]bool{"token": true, "access_token": true, "api_key": true, "apikey": true, "key": true,
	"password": true, "passwd": true, "secret": true, "client_secret": true, "auth": true, csrfField: true}

// redacted replaces a credential in a logged URI.
const redacted = "REDACTED"

// redactURI is a request URI as the log writes it: the value of every credential parameter,
// and of any parameter holding an API token (models.TokenPrefix), is REDACTED, as is the user
// information of an absolute URI (http://user:password@host/...). The rest is left as sent.
func redactURI(uri string) string {
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
	params := strings.Split(query, "&")
	for i, p := range params {
		name, value, _ := strings.Cut(p, "=")
		plainName, err := url.QueryUnescape(name)
		if err != nil {
			plainName = name
		}
		plainValue, err := url.QueryUnescape(value)
		if err != nil {
			plainValue = value
		}
		if credentialParams[strings.ToLower(plainName)] || strings.Contains(plainValue, models.TokenPrefix) {
			params[i] = name + "=" + redacted
		}
	}
	return path + "?" + strings.Join(params, "&")
}
