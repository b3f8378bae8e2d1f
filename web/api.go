package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humaecho"
	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// The JSON API lives under /api: /api/v1/... for programs, /api/openapi.json for its OpenAPI
// 3.1 document. huma builds the document from the same Go types that decode requests and
// encode responses, so the two can't drift; its errors are RFC 9457 problem+json.
//
// Who may call it: a request with "Authorization: Bearer <token>" acts with the token's role;
// one made directly from this machine (see isLocal) acts as the local admin, as on the
// dashboard. Session cookies are never accepted here, so there is no CSRF surface: a browser
// page elsewhere can't make the API act with a user's login.

const apiPrefix = "/api"

// isAPIPath reports the paths for programs: the API, and the metrics. They take a token or local
// access, never a session cookie.
func isAPIPath(path string) bool {
	return path == apiPrefix || strings.HasPrefix(path, apiPrefix+"/") || path == metricsPath
}

// metricsPath serves Prometheus' metrics.
const metricsPath = "/metrics"

// observe reports each request to the metrics, by route pattern and status.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		s.cfg.Metrics.ObserveHTTP(c.Path(), responseStatus(c, err), time.Since(start))
		return err
	}
}

// bearerScheme names the token security scheme in the OpenAPI document.
const bearerScheme = "bearer"

// errAPIUnauthorized answers an API request whose Authorization header holds no usable token.
var errAPIUnauthorized = echo.NewHTTPError(http.StatusUnauthorized,
	`Send an API token as "Authorization: Bearer <token>" (make one with "kiln token create" or on the dashboard's API tokens page).`)

// identifyAPI sets the user of an API request: the token's, or the local admin. A token that is
// sent but not valid is refused outright, even from this machine.
func (s *Server) identifyAPI(c echo.Context) error {
	h := c.Request().Header.Get(echo.HeaderAuthorization)
	if h == "" {
		if s.cfg.LocalNoAuth && isLocal(c.Request()) {
			c.Set(userContextKey, localUser)
		}
		return nil
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return errAPIUnauthorized
	}
	t, err := s.store.Tokens.TokenByValue(c.Request().Context(), strings.TrimSpace(token))
	if models.ErrorCode(err) == models.ENOTFOUND {
		return echo.NewHTTPError(http.StatusUnauthorized, models.ErrorMessage(err)+" Make a new one with \"kiln token create\" on the server's database (the --db or KILN_DB kiln serves with).")
	}
	if err != nil {
		return err
	}
	c.Set(userContextKey, &models.User{Username: "token " + t.Name, Role: t.EffectiveRole()})
	c.Set(tokenContextKey, t)
	return nil
}

// tokenContextKey holds the token (*models.APIToken) an API request came with; the user and
// the caller are derived from it.
const tokenContextKey = "kiln.token"

// jsonBodyIsUTF8 reports whether r's body, when JSON, is UTF-8 text, as RFC 8259 wants it:
// decoded as it is, bytes that are not would each become U+FFFD, so that what is stored (a
// secret's value, a job's arguments) would silently differ from what was sent. The body is
// read (bounded by limitBody) and put back for the handler; a read that fails is left for the
// handler to meet, as the same error (a body too large is a 413).
func jsonBodyIsUTF8(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	if ct := r.Header.Get(echo.HeaderContentType); ct != "" && !strings.Contains(ct, "json") {
		return true
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), errReader{err}))
		return true
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return utf8.Valid(b)
}

// errReader fails every read with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// apiCaller names who an API request acts for, as the key of what is theirs alone (their
// Idempotency-Keys): "token:<id>" (an id, not the name, which a new token may reuse), or "local".
func apiCaller(c echo.Context) string {
	if t, ok := c.Get(tokenContextKey).(*models.APIToken); ok {
		return "token:" + strconv.FormatInt(t.ID, 10)
	}
	return "local" // no token: only local access reaches the API without one
}

// newAPI mounts the API on the server's Echo router.
func (s *Server) newAPI() huma.API {
	cfg := huma.DefaultConfig("Kiln", s.cfg.Version)
	cfg.Info.Description = "Enqueue, watch and steer Kiln's jobs from any language."
	cfg.Info.Contact = apiContact
	cfg.Tags = apiTags
	cfg.OpenAPIPath = "/openapi" // served as /api/openapi.json and /api/openapi.yaml
	cfg.DocsPath = ""            // /api/docs is Kiln's own page: no third-party scripts
	cfg.SchemasPath = ""
	cfg.CreateHooks = nil // no $schema links in responses: plain JSON
	cfg.Servers = []*huma.Server{{URL: apiPrefix}}
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		bearerScheme: {Type: "http", Scheme: "bearer", Description: "An API token: kiln token create --name NAME --role viewer|operator|admin"},
	}
	cfg.Security = []map[string][]string{{bearerScheme: {}}}
	cfg.Transformers = append(cfg.Transformers, hideSecretBody)
	api := humaecho.NewWithGroup(s.echo, s.echo.Group(apiPrefix), cfg)
	api.UseMiddleware(func(c huma.Context, next func(huma.Context)) {
		ec := humaecho.Unwrap(c)
		if !jsonBodyIsUTF8(ec.Request()) {
			_ = huma.WriteErr(api, c, http.StatusBadRequest, "The body must be UTF-8 text, as JSON is: it holds bytes that are not.")
			return
		}
		next(huma.WithValue(c, apiIdentityKey{}, apiIdentity{user: currentUser(ec), caller: apiCaller(ec)}))
	})
	// Kinds' argument schemas are drawn inline, apart from the API's own components.
	s.argsRegistry = huma.NewMapRegistry("#/$defs/", huma.DefaultSchemaNamer)
	s.registerJobAPI(api)
	s.registerOpsAPI(api)
	s.registerKindAPI(api)
	s.registerTaskAPI(api)
	s.registerSecretAPI(api)
	s.registerChannelAPI(api)
	s.registerAlertAPI(api)
	s.registerRuleAPI(api)
	s.registerAuditAPI(api)
	s.registerWorkflowAPI(api)
	return api
}

// apiErr turns an error from the engine or the store into the problem the client sees, with
// the status models.HTTPStatus gives its code, as on a page (classify); internal errors are
// logged and never described.
func (s *Server) apiErr(err error) error {
	var already huma.StatusError
	if errors.As(err, &already) {
		return err
	}
	code := models.ErrorCode(err)
	status := models.HTTPStatus(code)
	switch {
	case status >= http.StatusInternalServerError:
		resp := s.serverFailure(context.TODO(), err, errorResponse{Status: http.StatusInternalServerError, // huma passes no request here
			Message: "Kiln could not do that; the server's log says why."}, "api", true)
		if resp.RetryAfter != "" {
			return huma.ErrorWithHeaders(huma.NewError(resp.Status, resp.Message), http.Header{"Retry-After": {resp.RetryAfter}})
		}
		return huma.NewError(resp.Status, resp.Message)
	case code == models.EINVALID: // with its fields
		at, msg := "body.", models.ErrorMessage(err)
		var batch *jobs.BatchError
		if errors.As(err, &batch) { // the job of the batch it is about: body.jobs[i].args
			at = "body.jobs[" + strconv.Itoa(batch.Index) + "]."
			msg = fmt.Sprintf("No job was enqueued: job %d of the batch (from 0) was refused. %s", batch.Index, msg)
		}
		var details []error
		for field, fieldMsg := range models.FieldErrors(err) {
			details = append(details, &huma.ErrorDetail{Location: at + field, Message: fieldMsg})
		}
		if len(details) == 0 && batch != nil {
			details = append(details, &huma.ErrorDetail{Location: strings.TrimSuffix(at, "."), Message: models.ErrorMessage(err)})
		}
		return huma.NewError(status, msg, details...)
	}
	return huma.NewError(status, models.ErrorMessage(err))
}

// okToo declares a 200 answer with a T body, beside an operation's default 201: for a POST
// or PUT that finds what it would have made (an Idempotency-Key seen before, a secret replaced).
func okToo[T any](hapi huma.API, why string) map[string]*huma.Response {
	schema := hapi.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[T](), true, "")
	return map[string]*huma.Response{
		"200": {Description: why, Content: map[string]*huma.MediaType{"application/json": {Schema: schema}}},
	}
}
