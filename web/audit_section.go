package web

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/views/components"
	"github.com/kilnhq/kiln/views/pages"
)

// The Audit section of a job's, a recurring job's and a kind's page: the newest entries about
// what the page shows, for every role that may see the page, since they say no more than who
// changed it, how and how it went. Where a request came from (IP, user agent) stays on the
// admins' audit page, which the section links to for those who may read it.

// auditSectionSize is how many entries a page's Audit section shows.
const auditSectionSize = 20

// auditSection reads the newest entries f chooses for the section with id, which says empty
// when there is none; all is the audit page's filter for the same entries.
func (s *Server) auditSection(c echo.Context, id, empty string, f models.AuditFilter, all pages.AuditFilter) (pages.AuditSectionView, error) {
	v := pages.AuditSectionView{ID: id, Empty: empty}
	page, err := s.store.Audit.ListAudit(c.Request().Context(), f, 0, 0, auditSectionSize)
	if err != nil {
		return v, fmt.Errorf("web: read the audit entries of %s: %w", id, err)
	}
	for i := range page.Entries {
		r := s.auditRow(c, &page.Entries[i])
		r.IP, r.UserAgent = "", "" // the admins' page only
		v.Rows = append(v.Rows, r)
	}
	if may(c, authz.AuditRead) {
		v.AllURL = all.URL()
	}
	return v, nil
}

// auditActionName is an action's name: the permission it needed ("jobs.retry" of
// "jobs.retry POST /dashboard/jobs/:id/retry"), or the whole action when it names none
// ("login", or an entry made before actions named their permission).
func auditActionName(action string) string {
	name, _, _ := strings.Cut(action, " ")
	if a := authz.Action(name); authz.Known(a) && a != authz.Public && a != authz.Self {
		return name
	}
	return action
}

// auditChanges puts an entry's details (AuditDetails' JSON) in words, a field each, in the
// order of their names: "paused: false → true" for a change, "count: 3" for a fact, and how many
// fields AuditDetails left out. Details that are not an object are shown as they are.
func auditChanges(details string) []string {
	if details == "" {
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(details), &fields); err != nil {
		return []string{details}
	}
	var out []string
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		raw := fields[name]
		if name == "_more" {
			continue
		}
		var change map[string]json.RawMessage
		if json.Unmarshal(raw, &change) == nil && len(change) == 2 && change["before"] != nil && change["after"] != nil {
			out = append(out, name+": "+auditValue(change["before"])+" → "+auditValue(change["after"]))
			continue
		}
		out = append(out, name+": "+auditValue(raw))
	}
	var more int
	if json.Unmarshal(fields["_more"], &more) == nil && more > 0 {
		out = append(out, "and "+components.Plural(more, "more field", "more fields"))
	}
	return out
}

// auditValue is one value of an entry's details in words: a string as it is (quoted when empty),
// none for null, anything else as its JSON.
func auditValue(raw json.RawMessage) string {
	var str string
	switch {
	case string(raw) == "null":
		return "none"
	case json.Unmarshal(raw, &str) == nil && str != "":
		return str
	}
	return string(raw)
}

// jobAudit is the Audit section of job id's page.
func (s *Server) jobAudit(c echo.Context, id int64) (pages.AuditSectionView, error) {
	target := fmt.Sprintf("job %d", id)
	return s.auditSection(c, "job-audit", "No one has changed this job.", models.AuditFilter{Target: target}, pages.AuditFilter{Target: target})
}

// recurringAudit is the Audit section of a recurring job's page.
func (s *Server) recurringAudit(c echo.Context, name string) (pages.AuditSectionView, error) {
	target := "recurring " + name
	return s.auditSection(c, "recurring-audit", "No one has changed this recurring job.", models.AuditFilter{Target: target}, pages.AuditFilter{Target: target})
}

// kindAudit is the Audit section of a kind's page: the entries about its jobs and about the
// kind itself (its limits), which entries made before entries had a kind name by target alone.
func (s *Server) kindAudit(c echo.Context, kind string) (pages.AuditSectionView, error) {
	return s.auditSection(c, "kind-audit", "No one has changed this kind or its jobs.",
		models.AuditFilter{Kind: kind, Target: "kind " + kind, KindOrTarget: true}, pages.AuditFilter{Kind: kind})
}
