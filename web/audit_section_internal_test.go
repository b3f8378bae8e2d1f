package web

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
)

// An entry's details in words: a change, a fact, null, an empty string, what was left out, and
// details that are not an object.
func TestAuditChanges(t *testing.T) {
	for _, tc := range []struct {
		details string
		want    []string
	}{
		{"", nil},
		{models.AuditDetails(map[string]any{"paused": models.AuditChange{Before: false, After: true}}), []string{"paused: false → true"}},
		{models.AuditDetails(map[string]any{"spec": models.AuditChange{Before: "@hourly", After: ""}, "count": 3}),
			[]string{"count: 3", `spec: @hourly → ""`}},
		{models.AuditDetails(map[string]any{"owner": nil, "args": map[string]any{"to": "a@example.com"}}),
			[]string{`args: {"to":"a@example.com"}`, "owner: none"}},
		{`{"a":1,"_more":2}`, []string{"a: 1", "and 2 more fields"}},
		{`{"a":1,"_more":1}`, []string{"a: 1", "and 1 more field"}},
		{`{"x":{"before":1}}`, []string{`x: {"before":1}`}},
		{`not json`, []string{"not json"}},
	} {
		require.Equal(t, tc.want, auditChanges(tc.details), tc.details)
	}
}

// An action's name is its permission, or the whole action when it names none.
func TestAuditActionName(t *testing.T) {
	for action, want := range map[string]string{
		"jobs.retry POST /dashboard/jobs/:id/retry": "jobs.retry",
		"login":                            "login",
		"POST /dashboard/jobs/:id/requeue": "POST /dashboard/jobs/:id/requeue",
		"public GET /x":                    "public GET /x",
	} {
		require.Equal(t, want, auditActionName(action), action)
	}
}
