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

// A recorded request's entry is a models.PendingAudit in its context: the store method that
// makes the request's change writes it in the change's transaction (models/audit_pending.go),
// and recordAudit appends it afterwards only when none did (a refused request, a failed one, a
// change made of many transactions).

// auditSkipKey marks a request that changed nothing after all (a confirmation page).
type auditSkipKey struct{}

// noteAudit adds to the audit entry of the request ctx belongs to: its target, when the path
// doesn't say it ("recurring nightly" rather than "recurring 7"), and fields for its details
// (models.AuditChange for a field that changed). It does nothing outside a recorded request.
// Call it before the store call that makes the change, which writes the entry; never pass a
// secret's value.
func noteAudit(ctx context.Context, target string, details map[string]any) {
	models.PendingAuditOf(ctx).Note(target, details)
}

// deferAudit keeps the entry of ctx's request for recordAudit to append after the handler: the
// request makes many changes (a bulk action), and notes their counts at the end.
func deferAudit(ctx context.Context) {
	if p := models.PendingAuditOf(ctx); p != nil {
		p.Defer()
	}
}

// auditFailed records the request of ctx as failed with status, whatever its answer's status:
// a page that shows a refusal on the page it redirects to (a job action the job's state does not
// allow) is recorded as the API's answer would be.
func auditFailed(ctx context.Context, status int) {
	if p := models.PendingAuditOf(ctx); p != nil {
		p.Entry.Outcome = strconv.Itoa(status)
	}
}

// skipAudit says the request of ctx changed nothing, so that it is not recorded: a POST that
// only shows a confirmation page.
func skipAudit(ctx context.Context) {
	if skip, ok := ctx.Value(auditSkipKey{}).(*bool); ok {
		*skip = true
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
		p := &models.PendingAudit{Entry: s.auditEntry(c)}
		if path == "/logout" {
			p.Entry.Action, p.Entry.Target = "logout", ""
		}
		skip := false
		ctx := context.WithValue(r.Context(), auditSkipKey{}, &skip)
		if !login { // a login is recorded by recordLogin, whoever it turns out to be
			ctx = models.WithPendingAudit(ctx, p)
		}
		c.SetRequest(r.WithContext(ctx))
		err := next(c)
		status := responseStatus(c, err)
		switch {
		case skip || p.Written():
		case login: // the username tried, whether or not they got in
			s.recordLogin(c, c.FormValue("username"), status == http.StatusSeeOther)
		case p.Entry.Outcome != "": // auditFailed's
			s.appendAudit(c, p.Final(p.Entry.Outcome))
		default:
			s.appendAudit(c, p.Final(strconv.Itoa(status)))
		}
		return err
	}
}

// recordLogin records a login by username from c's client: ok, or refused (a wrong password,
// an unknown user, too many attempts). Any way of logging in records its logins with it.
func (s *Server) recordLogin(c echo.Context, username string, ok bool) {
	e := new(s.auditEntry(c))
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

// auditEntry is the entry of the request c as known before its handler: who makes it (a user,
// local access or a token), from where, what and on what.
func (s *Server) auditEntry(c echo.Context) models.AuditEntry {
	e := models.AuditEntry{At: s.cfg.Now(), ActorKind: models.AuditActorUser, IP: c.RealIP(), UserAgent: c.Request().UserAgent(),
		Action: s.auditAction(c), Target: auditTarget(c)}
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
	"workflows": "workflow",
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
