package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kilnhq/kiln/api"
	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/models"
)

// AuditListInput filters and pages the audit trail.
type AuditListInput struct {
	Actor  string    `query:"actor" maxLength:"128" doc:"Only this actor: a username, local, or token NAME."`
	Action string    `query:"action" maxLength:"200" doc:"Only actions starting with this (login, POST /api/v1/jobs)."`
	Target string    `query:"target" maxLength:"200" doc:"Only this target (job 42, recurring nightly)."`
	Kind   string    `query:"kind" maxLength:"100" doc:"Only entries about this kind of job: changes to its jobs and to the kind itself."`
	Since  time.Time `query:"since" doc:"Only entries at or after this time (RFC 3339)."`
	Until  time.Time `query:"until" doc:"Only entries before this time (RFC 3339)."`
	Before int64     `query:"before" minimum:"0" doc:"The next cursor of the previous page: entries older than this id."`
	Limit  int       `query:"limit" minimum:"1" maximum:"1000" default:"100"`
}

// AuditListOutput is a page of the audit trail.
type AuditListOutput struct {
	Body api.AuditPage
}

// tagAudit groups the audit trail's operations.
const tagAudit = "Audit"

func (s *Server) registerAuditAPI(hapi huma.API) {
	register(hapi, authz.AuditRead, huma.Operation{OperationID: "list-audit", Method: http.MethodGet, Path: "/v1/audit", Summary: "Read the audit trail",
		Tags: []string{tagAudit}, Description: "Who changed what, newest first, in pages: pass next as before= for the one after.",
		Errors: []int{http.StatusForbidden}}, s.apiListAudit)
}

func (s *Server) apiListAudit(ctx context.Context, in *AuditListInput) (*AuditListOutput, error) {
	f := models.AuditFilter{Actor: in.Actor, Action: in.Action, Target: in.Target, Kind: in.Kind, Since: in.Since, Until: in.Until}
	page, err := s.store.Audit.ListAudit(ctx, f, in.Before, 0, in.Limit)
	if err != nil {
		return nil, s.apiErr(err)
	}
	out := &AuditListOutput{Body: api.AuditPage{Entries: make([]api.AuditEntry, 0, len(page.Entries))}}
	for i := range page.Entries {
		out.Body.Entries = append(out.Body.Entries, auditOut(&page.Entries[i]))
	}
	if page.HasOlder && len(page.Entries) > 0 {
		out.Body.Next = strconv.FormatInt(page.Entries[len(page.Entries)-1].ID, 10)
	}
	return out, nil
}
