package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/kilnhq/kiln/api"
)

// AuditFilter chooses and pages entries of the audit trail; empty fields choose everything.
type AuditFilter struct {
	Actor, Action, Target string // Action: actions starting with it
	Kind                  string // the kind of job the entries are about
	Since, Until          time.Time
	Before                string // the previous page's Next
	Limit                 int    // default 100, at most 1000
}

// Audit returns a page of the audit trail matching f, newest first (admin tokens only).
func (c *Client) Audit(ctx context.Context, f AuditFilter) (*api.AuditPage, error) {
	q := url.Values{}
	for k, v := range map[string]string{"actor": f.Actor, "action": f.Action, "target": f.Target, "kind": f.Kind, "before": f.Before} {
		if v != "" {
			q.Set(k, v)
		}
	}
	for k, t := range map[string]time.Time{"since": f.Since, "until": f.Until} {
		if !t.IsZero() {
			q.Set(k, t.UTC().Format(time.RFC3339Nano))
		}
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var page api.AuditPage
	return &page, c.do(ctx, http.MethodGet, "/audit", q, nil, &page)
}
