package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/internal/groupcommit"
	"github.com/kilnhq/kiln/models"
)

// The audit trail's recording. Every request that changes something (POST, PUT, PATCH,
// DELETE) and was made by someone identified (a user, a token, local access) is recorded once,
// after its handler, with who, from where, what, on what, and the status it got, whether it
// was allowed or refused; logins (successful or not, with the username tried) and logouts too.
// Reads are not recorded, nor what the engine does by itself. Nothing of a request's body is
// recorded: a handler that knows more (a recurring job's name, a field's value before and
// after) adds it with noteAudit, never a secret's value.

// auditNote is what a handler adds to its request's entry; recordAudit puts a fresh one in
// each recorded request's context.
type auditNote struct {
	target  string
	details map[string]any
	skip    bool // the request changed nothing after all (a confirmation page)
}

type auditNoteKey struct{}

// noteAudit adds to the audit entry of the request ctx belongs to: its target, when the path
// doesn't say it ("recurring nightly" rather than "recurring 7"), and fields for its details
// (models.AuditChange for a field that changed). It does nothing outside a recorded request.
// Never pass a secret's value.
func noteAudit(ctx context.Context, target string, details map[string]any) {
	n, ok := ctx.Value(auditNoteKey{}).(*auditNote)
	if !ok {
		return
	}
	if target != "" {
		n.target = target
	}
	for k, v := range details {
		if n.details == nil {
			n.details = map[string]any{}
		}
		n.details[k] = v
	}
}

// skipAudit says the request of ctx changed nothing, so that it is not recorded: a POST that
// only shows a confirmation page.
func skipAudit(ctx context.Context) {
	if n, ok := ctx.Value(auditNoteKey{}).(*auditNote); ok {
		n.skip = true
	}
}

// isChange reports the methods that change something.
func isChange(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// recordAudit records each change, as the file's comment says. It runs after identify and the
// CSRF check, before authorize, so that a viewer's refused attempt is recorded too.
func (s *Server) recordAudit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		path := c.Path()
		login := path == "/login"
		if !isChange(r.Method) || isQuietPath(path) || (!login && currentUser(c) == nil) {
			return next(c)
		}
		if path == "/logout" && currentSession(c) == "" {
			return next(c) // no session: nothing ends
		}
		note := &auditNote{}
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), auditNoteKey{}, note)))
		err := next(c)
		status := responseStatus(c, err)
		switch {
		case note.skip:
		case login: // the username tried, whether or not they got in
			s.recordLogin(c, c.FormValue("username"), status == http.StatusSeeOther)
		default:
			e := s.auditEntry(c, note, status)
			if path == "/logout" {
				e.Action, e.Target = "logout", ""
			}
			s.appendAudit(c, e)
		}
		return err
	}
}

// recordLogin records a login by username from c's client: ok, or refused (a wrong password,
// an unknown user, too many attempts). Any way of logging in records its logins with it.
func (s *Server) recordLogin(c echo.Context, username string, ok bool) {
	e := s.auditEntry(c, &auditNote{}, 0)
	e.Actor, e.ActorKind, e.TokenOwner = strings.TrimSpace(username), models.AuditActorUser, nil
	e.Action, e.Target, e.Outcome = "login", "", models.AuditRefused
	if ok {
		e.Outcome = models.AuditOK
	}
	if e.Actor == "" {
		e.Actor = "(none)"
	}
	s.appendAudit(c, e)
}

// appendAudit appends e, even if the client has gone: what it did is done. A failure is
// logged; the request's answer stands.
func (s *Server) appendAudit(c echo.Context, e *models.AuditEntry) {
	if err := s.audit.Do(context.WithoutCancel(c.Request().Context()), e); err != nil {
		s.log.Error("web: audit entry not recorded", "action", e.Action, "target", e.Target, "actor", e.Actor, "err", err)
	}
}

// maxAuditGroup bounds the entries of one group commit.
const maxAuditGroup = 256

// newAuditWriter group-commits the entries of concurrent requests, which would otherwise be a
// write transaction each, queued behind one writer on SQLite: appending 8 entries in one
// transaction took 190 µs there, against 83 µs for one alone (24 µs an entry, not 83).
func newAuditWriter(store models.AuditStore) *groupcommit.Group[*models.AuditEntry, error] {
	return &groupcommit.Group[*models.AuditEntry, error]{
		Max: maxAuditGroup, Failed: func(err error) error { return err },
		Write: func(batch []*groupcommit.Req[*models.AuditEntry, error]) {
			entries := make([]*models.AuditEntry, len(batch))
			for i, r := range batch {
				entries[i] = r.Item
			}
			err := store.AppendAudit(context.WithoutCancel(batch[0].Ctx), entries...)
			for _, r := range batch {
				if err != nil && len(batch) > 1 { // one entry's error is only its own
					r.Done <- store.AppendAudit(context.WithoutCancel(r.Ctx), r.Item)
					continue
				}
				r.Done <- err
			}
		},
	}
}

// auditEntry is the entry of the request c, which got status: who made it (a user, local
// access or a token), from where, what and on what.
func (s *Server) auditEntry(c echo.Context, note *auditNote, status int) *models.AuditEntry {
	e := &models.AuditEntry{At: s.cfg.Now(), ActorKind: models.AuditActorUser, IP: c.RealIP(), UserAgent: c.Request().UserAgent(),
		Action: s.auditAction(c), Target: auditTarget(c), Outcome: strconv.Itoa(status)}
	if u := currentUser(c); u != nil {
		e.Actor = u.Username
	}
	if t, ok := c.Get(tokenContextKey).(*models.APIToken); ok {
		e.Actor, e.ActorKind = "token "+t.Name, models.AuditActorToken
		if t.UserID != nil {
			owner := t.Owner
			e.TokenOwner = &owner
		}
	}
	if note.target != "" {
		e.Target = note.target
	}
	if kind, ok := strings.CutPrefix(e.Target, "kind "); ok {
		e.Kind = kind // for the kind's page; a job's kind is set where the job is known
	}
	e.Details = models.AuditDetails(note.details)
	return e
}

// auditAction names what a request did: the permission table's action for its route, then its
// method and route with the values of the route's parameters but the target's
// ("jobs.retry POST /dashboard/jobs/:id/retry"), so that filtering by the action's name finds it
// whether it came through a page or the API.
func (s *Server) auditAction(c echo.Context) string {
	route := routeAction(c)
	if n, ok := s.needs[routeKey(c.Request().Method, c.Path())]; ok {
		return string(n.actionFor(c.Param)) + " " + route
	}
	return route
}

// routeAction is the method and route of c, with the values of the route's parameters but the
// target's.
func routeAction(c echo.Context) string {
	segs := strings.Split(c.Path(), "/")
	_, at := auditTargetParam(segs)
	for i, seg := range segs {
		if name, ok := strings.CutPrefix(seg, ":"); ok && i != at {
			segs[i] = c.Param(name)
		}
	}
	return c.Request().Method + " " + strings.Join(segs, "/")
}

// auditNouns are the path segments followed by the id or name of what a route acts on, and
// what the trail calls such a thing.
var auditNouns = map[string]string{
	"jobs": "job", "recurring": "recurring", "queues": "queue", "kinds": "kind", "secrets": "secret", "tokens": "token",
	"alerts": "alert", "rules": "rule", "channels": "channel", "tasks": "task", "users": "user",
}

// auditTargetParam finds the route's target parameter: the first one that follows a noun of
// auditNouns. It returns the noun's name and the parameter's index (-1: none).
func auditTargetParam(segs []string) (string, int) {
	for i := 1; i < len(segs); i++ {
		if strings.HasPrefix(segs[i], ":") {
			if noun, ok := auditNouns[segs[i-1]]; ok {
				return noun, i
			}
		}
	}
	return "", -1
}

// auditTarget is what a request acted on, from its path: "job 42", "queue emails" ("" when
// the path names nothing).
func auditTarget(c echo.Context) string {
	segs := strings.Split(c.Path(), "/")
	noun, at := auditTargetParam(segs)
	if at < 0 {
		return ""
	}
	return noun + " " + c.Param(strings.TrimPrefix(segs[at], ":"))
}

// responseStatus is the status a request's answer has, or will have once the error handler
// has written err.
func responseStatus(c echo.Context, err error) int {
	if err == nil {
		return c.Response().Status
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he.Code
	}
	if c.Response().Committed {
		return c.Response().Status
	}
	return classify(err).Status
}

// notePaused records a recurring job's pause or resume with its paused flag before and after.
func notePaused(ctx context.Context, before *models.RecurringJob, paused bool) {
	noteAudit(ctx, "recurring "+before.Name, map[string]any{"paused": models.AuditChange{Before: before.Paused, After: paused}})
}
