package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/views/pages"
)

// errCSRF is what every CSRF failure becomes: a missing token is as forbidden as a wrong one.
var errCSRF = echo.NewHTTPError(http.StatusForbidden,
	"This form has expired or did not come from Kiln, so nothing was changed. Reload the page and try again.")

// statusTitles are the headings of the error page.
var statusTitles = map[int]string{
	http.StatusBadRequest:            "That request didn't make sense",
	http.StatusForbidden:             "Not allowed",
	http.StatusNotFound:              "Not found",
	http.StatusMethodNotAllowed:      "Not allowed here",
	http.StatusConflict:              "Conflict",
	http.StatusMisdirectedRequest:    "Unknown host name",
	http.StatusRequestEntityTooLarge: "Too large",
	http.StatusUnprocessableEntity:   "Check your input",
	http.StatusServiceUnavailable:    "Database unavailable",
	http.StatusInsufficientStorage:   "Disk full",
	http.StatusBadGateway:            "Single sign-on unavailable",
}

// friendlyMessages replace Echo's terse built-in messages.
var friendlyMessages = map[int]string{
	http.StatusNotFound:              "There is nothing at this address. It may have been moved or deleted.",
	http.StatusMethodNotAllowed:      "This address doesn't accept that kind of request.",
	http.StatusRequestEntityTooLarge: "The request was larger than Kiln accepts (" + bodyLimitText + ").",
	// Kiln answers 502 only when single sign-on can't reach the provider or its client there
	// is misconfigured (see errSSOUnavailable); the log says which.
	http.StatusBadGateway: "The identity provider can't be reached, or Kiln's client at it is misconfigured, so nobody can sign in with it now. " +
		"An admin finds the reason in Kiln's log.",
}

// errorResponse describes a failed request to the client.
type errorResponse struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// RetryAfter, when set, is the Retry-After header's value (seconds).
	RetryAfter string `json:"-"`
}

// classify turns any error into the status and message the client sees, on a page, in JSON or
// in a problem: an application error's status is models.HTTPStatus of its code, as apiErr's is.
// Internal details never reach the client; they are logged instead.
func classify(err error) errorResponse {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) { // a body over maxBodyBytes, however a handler read it
		return errorResponse{Status: http.StatusRequestEntityTooLarge, Code: codeOfStatus(http.StatusRequestEntityTooLarge),
			Message: friendlyMessages[http.StatusRequestEntityTooLarge]}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		msg, _ := he.Message.(string)
		if friendly, ok := friendlyMessages[he.Code]; ok && (msg == "" || msg == http.StatusText(he.Code)) {
			msg = friendly
		}
		if msg == "" || (he.Code >= 500 && msg != friendlyMessages[he.Code]) { // internals stay internal
			msg = http.StatusText(he.Code)
		}
		return errorResponse{Status: he.Code, Code: codeOfStatus(he.Code), Message: msg}
	}
	code := models.ErrorCode(err)
	return errorResponse{Status: models.HTTPStatus(code), Code: code, Message: models.ErrorMessage(err)}
}

// codeOfStatus is the code a JSON error answer carries for an error that came as a bare status
// (Echo's 404 and 405, a handler's 400): the application's code for that status when it has
// one, else the status's name ("bad_request").
func codeOfStatus(status int) string {
	if code := models.CodeOfHTTPStatus(status); code != "" {
		return code
	}
	if status >= 500 {
		return models.EINTERNAL
	}
	return strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
}

// handleError is Echo's HTTP error handler: it logs internal errors and answers with a friendly
// HTML page, or JSON when the client asked for JSON.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	resp := classify(err)
	if resp.Status >= 500 {
		resp = s.serverFailure(c.Request().Context(), err, resp, "method", c.Request().Method, "path", c.Path(),
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	}
	if resp.RetryAfter != "" {
		c.Response().Header().Set("Retry-After", resp.RetryAfter)
	}
	var werr error
	switch {
	case c.Request().Method == http.MethodHead:
		werr = c.NoContent(resp.Status)
	case isAPIPath(c.Request().URL.Path):
		werr = writeProblem(c, resp)
	case wantsJSON(c.Request()):
		werr = c.JSON(resp.Status, map[string]errorResponse{"error": resp})
	default:
		title := statusTitles[resp.Status]
		if title == "" {
			title = "Something went wrong"
		}
		v := pages.ErrorView{Status: resp.Status, Title: title, Message: resp.Message}
		if isPartial(c.Request()) { // swapped into a page that already has its layout
			werr = render(c, resp.Status, pages.ErrorCard(v))
		} else {
			v.Layout = s.layoutProps(c, title, "")
			werr = render(c, resp.Status, pages.ErrorPage(v))
		}
	}
	if werr != nil {
		s.log.Error("writing error response failed", "err", werr)
	}
}

// serverFailure is what the client sees of a server-side failure, page and API alike, and
// logs it with attrs: a full disk (507) or a database that doesn't answer (503) says so;
// anything else gets resp, its details kept in the log.
func (s *Server) serverFailure(ctx context.Context, err error, resp errorResponse, attrs ...any) errorResponse {
	attrs = append(attrs, "err", err)
	switch {
	case s.store.StorageFull(err):
		s.log.Error("request failed: the database's disk is full", attrs...)
		return errStorageFull
	case s.databaseDown(ctx, err):
		s.log.Warn("request failed: the database is unavailable", attrs...)
		return errDatabaseDown
	}
	s.log.Error("request failed", attrs...)
	return resp
}

// errDatabaseDown is what a request that failed while the database did not answer gets,
// page, JSON or problem alike.
var errDatabaseDown = errorResponse{Status: http.StatusServiceUnavailable, Code: "database_unavailable", RetryAfter: "5",
	Message: "The database is not answering, so Kiln can't show or change anything right now. Jobs already running go on, and their outcomes are written once it answers again. Try again in a few seconds."}

// errStorageFull is what a request gets when the database's disk is full.
var errStorageFull = errorResponse{Status: http.StatusInsufficientStorage, Code: "storage_full",
	Message: "The database's disk is full, so nothing was saved. Free some space (or raise the quota) and try again; nothing already stored was harmed."}

// databaseDown reports whether err is the database's connection failing and the database
// then fails to answer a ping within a second: the failed request is the outage's doing, not
// a bug (which stays a 500, logged as an error).
func (s *Server) databaseDown(ctx context.Context, err error) bool {
	if !s.store.Unreachable(err) {
		return false
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	return s.store.Ping(ctx) != nil
}

// wantsJSON reports whether the client prefers JSON to HTML.
func wantsJSON(r *http.Request) bool {
	accept := r.Header.Get(echo.HeaderAccept)
	return strings.Contains(accept, echo.MIMEApplicationJSON) && !strings.Contains(accept, echo.MIMETextHTML)
}

// writeProblem answers an API request with an RFC 9457 problem, shaped as huma writes the
// problems of the API's handlers.
func writeProblem(c echo.Context, resp errorResponse) error {
	body, err := json.Marshal(huma.ErrorModel{Title: http.StatusText(resp.Status), Status: resp.Status, Detail: resp.Message})
	if err != nil {
		return err
	}
	return c.Blob(resp.Status, "application/problem+json", body)
}
