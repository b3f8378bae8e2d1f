package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/api"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/views/layout"
	"github.com/kilnhq/kiln/views/pages"
)

// The audit trail's page, /dashboard/audit, for admins: the entries newest first, filtered by
// who, action, target and time, in keyset pages.

// auditPageSize is how many entries a page of /dashboard/audit shows.
const auditPageSize = 50

// auditTimeLayouts are the forms a time filter may take: RFC 3339 (the API's), or the page's
// datetime-local field (in the viewer's zone), or a date.
var auditTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02T15:04:05", time.DateOnly}

// parseAuditTime reads a time filter; a time without a zone is in loc.
func parseAuditTime(field, raw string, loc *time.Location) (time.Time, error) {
	if raw == "" {
		return time.Time{}, nil
	}
	for _, layout := range auditTimeLayouts {
		if t, err := time.ParseInLocation(layout, raw, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, &models.Error{Code: models.EINVALID, Message: "The time range was not understood.",
		Fields: map[string]string{field: "Give a time such as 2026-12-05T09:30 or 2026-12-05T09:30:00Z, not " + strconv.Quote(raw) + "."}}
}

// auditFilter reads the filter of the page's query.
func auditFilter(value func(string) string, loc *time.Location) (models.AuditFilter, error) {
	f := models.AuditFilter{Actor: strings.TrimSpace(value("actor")), Action: strings.TrimSpace(value("action")), Target: strings.TrimSpace(value("target")),
		Kind: strings.TrimSpace(value("kind"))}
	var err error
	if f.Since, err = parseAuditTime("since", strings.TrimSpace(value("since")), loc); err != nil {
		return f, err
	}
	f.Until, err = parseAuditTime("until", strings.TrimSpace(value("until")), loc)
	return f, err
}

// handleAudit shows the audit trail.
func (s *Server) handleAudit(c echo.Context) error {
	loc := viewerZone(c)
	v := pages.AuditView{Layout: s.layoutProps(c, "Audit trail", layout.SectionJobs), Zone: loc.String(),
		Filter: pages.AuditFilter{Actor: c.QueryParam("actor"), Action: c.QueryParam("action"), Target: c.QueryParam("target"), Kind: c.QueryParam("kind"),
			Since: c.QueryParam("since"), Until: c.QueryParam("until")}}
	var cursor [2]int64
	for i, name := range []string{"before", "after"} {
		if raw := c.QueryParam(name); raw != "" {
			n, err := strconv.ParseInt(raw, 10, 64)
			if err != nil || n < 1 {
				return models.Errorf(models.EINVALID, "%q must be an entry's number, not %q.", name, raw)
			}
			cursor[i] = n
		}
	}
	f, err := auditFilter(c.QueryParam, loc)
	var page models.AuditPage
	if err == nil {
		page, err = s.store.Audit.ListAudit(c.Request().Context(), f, cursor[0], cursor[1], auditPageSize)
	}
	if fields := models.FieldErrors(err); fields != nil {
		v.Errors = fields
		return render(c, http.StatusUnprocessableEntity, pages.AuditPage(v))
	}
	if err != nil {
		return err
	}
	for i := range page.Entries {
		v.Rows = append(v.Rows, s.auditRow(c, &page.Entries[i]))
	}
	if n := len(page.Entries); n > 0 {
		if page.HasNewer {
			nf := v.Filter
			nf.After = page.Entries[0].ID
			v.NewerURL = nf.URL()
		}
		if page.HasOlder {
			of := v.Filter
			of.Before = page.Entries[n-1].ID
			v.OlderURL = of.URL()
		}
	}
	return render(c, http.StatusOK, pages.AuditPage(v))
}

func (s *Server) auditRow(c echo.Context, e *models.AuditEntry) pages.AuditRow {
	failed := e.Outcome == models.AuditRefused
	if st, err := strconv.Atoi(e.Outcome); err == nil && st >= 400 {
		failed = true
	}
	return pages.AuditRow{ID: e.ID, At: s.moment(c, e.At), Actor: e.Actor, ActorKind: e.ActorKind, IP: e.IP, UserAgent: e.UserAgent,
		Action: e.Action, Name: auditActionName(e.Action), Target: e.Target, Details: e.Details, Changes: auditChanges(e.Details), Outcome: e.Outcome, Failed: failed}
}

// auditOut is an entry as the API shows it.
func auditOut(e *models.AuditEntry) api.AuditEntry {
	out := api.AuditEntry{ID: e.ID, At: e.At.UTC(), Actor: e.Actor, ActorKind: e.ActorKind, IP: e.IP, UserAgent: e.UserAgent,
		Action: e.Action, Target: e.Target, Kind: e.Kind, Outcome: e.Outcome, PrevHash: e.PrevHash, Hash: e.Hash}
	if e.TokenOwner != nil {
		out.TokenOwner = *e.TokenOwner
	}
	if e.Details != "" {
		_ = json.Unmarshal([]byte(e.Details), &out.Details) // AuditDetails wrote it: an object
	}
	return out
}
