package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/api"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// appendEntries appends n entries by ada, on jobs 1..n.
func appendEntries(t *testing.T, s *models.Store, n int) {
	t.Helper()
	for i := range n {
		e := models.AuditEntry{Actor: "ada", ActorKind: models.AuditActorUser, Action: "POST /dashboard/jobs/:id/requeue",
			Target: fmt.Sprintf("job %d", i+1), Outcome: "303"}
		require.NoError(t, s.Audit.AppendAudit(context.Background(), &e))
	}
}

// kiln audit verify passes a whole chain, and fails (exit 1) naming the entry changed or
// removed in the database.
func TestAuditVerifyCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "kiln.db")
	s, err := models.Open(context.Background(), db, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	appendEntries(t, s, 5)
	run := func() (int, string, string) {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), []string{"audit", "verify", "--db", db}, nil, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, out, errOut := run()
	require.Equal(t, 0, code, errOut)
	page, err := s.Audit.ListAudit(context.Background(), models.AuditFilter{}, 0, 0, 1)
	require.NoError(t, err)
	require.Equal(t, "The audit trail verifies: 5 entries, from the first entry.\nLast entry: 5, hash "+page.Entries[0].Hash+"\n", out)

	require.NoError(t, modeltest.DB(s).Exec(`UPDATE audit_entries SET details = '{"paused":false}' WHERE id = 2`).Error)
	code, _, errOut = run()
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "the audit trail is broken at entry 2: entry 2 was changed")

	require.NoError(t, modeltest.DB(s).Exec(`DELETE FROM audit_entries WHERE id IN (2, 3)`).Error)
	code, _, errOut = run()
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "broken at entry 2: entries 2 to 3 were removed: the trail goes from entry 1 to entry 4")
}

// kiln audit ls and export read the trail through the API: a table, JSON, and NDJSON newer
// than an id; a viewer token is refused.
func TestAuditClientCommands(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	e, err := jobs.New(s, jobs.Config{NoWorkers: true})
	require.NoError(t, err)
	srv, err := web.New(web.Config{}, s, e, nil)
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	admin, _, err := s.Tokens.CreateAPIToken(context.Background(), "siem", models.RoleAdmin, 0, "test", "")
	require.NoError(t, err)
	viewer, _, err := s.Tokens.CreateAPIToken(context.Background(), "look", models.RoleViewer, 0, "test", "")
	require.NoError(t, err)
	appendEntries(t, s, 5)
	run := func(token string, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), append(args, "--server", ts.URL, "--token", token), nil, &out, &errOut)
		return code, out.String(), errOut.String()
	}

	code, out, errOut := run(admin, "audit", "ls", "--limit", "2")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "ID  AT")
	require.Contains(t, out, "job 5")
	require.Contains(t, out, "More: --before 4")
	code, out, errOut = run(admin, "audit", "ls", "--json", "--target", "job 3")
	require.Equal(t, 0, code, errOut)
	var page api.AuditPage
	require.NoError(t, json.Unmarshal([]byte(out), &page))
	require.Len(t, page.Entries, 1)
	require.Equal(t, int64(3), page.Entries[0].ID)

	code, out, errOut = run(admin, "audit", "export", "--after", "2")
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 3, "entries 5, 4 and 3")
	for i, line := range lines {
		var got api.AuditEntry
		require.NoError(t, json.Unmarshal([]byte(line), &got), line)
		require.Equal(t, int64(5-i), got.ID)
		require.Len(t, got.Hash, 64)
	}
	code, out, _ = run(admin, "audit", "export")
	require.Equal(t, 0, code)
	require.Equal(t, 5, strings.Count(out, "\n"), "every entry; the reads of ls and export are not recorded")

	code, _, errOut = run(viewer, "audit", "ls")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "audit.read needs the admin role")
	code, _, errOut = run(admin, "audit", "ls", "--since", "yesterday")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "--since")

	emails := models.AuditEntry{Actor: "ada", ActorKind: models.AuditActorUser, Action: "jobs.retry POST /dashboard/jobs/:id/retry",
		Target: "job 9", Kind: "emails", Outcome: "303"}
	require.NoError(t, s.Audit.AppendAudit(context.Background(), &emails))
	code, out, errOut = run(admin, "audit", "ls", "--json", "--kind", "emails")
	require.Equal(t, 0, code, errOut)
	page = api.AuditPage{}
	require.NoError(t, json.Unmarshal([]byte(out), &page))
	require.Len(t, page.Entries, 1, "only the entry about a job of kind emails")
	require.Equal(t, "emails", page.Entries[0].Kind)
	require.Equal(t, "job 9", page.Entries[0].Target)
}

// kiln token and kiln user change the database directly: each change is an entry of the
// system kind, naming the machine's user, never a password or a token.
func TestCLIChangesAreRecorded(t *testing.T) {
	db := filepath.Join(t.TempDir(), "kiln.db")
	run := func(stdin string, args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), append(args, "--db", db), strings.NewReader(stdin), &out, &errOut)
		require.Equal(t, 0, code, errOut.String())
		require.NotContains(t, errOut.String(), "warning")
		return code, out.String()
	}
	_, token := run("", "token", "create", "--name", "ci", "--role", "admin", "--create")
	run("", "token", "revoke", "ci")
	run("a long enough password\n", "user", "add", "ada", "--role", "viewer")
	run("another long password\n", "user", "passwd", "ada")

	s := modeltest.Open(t, db)
	page, err := s.Audit.ListAudit(context.Background(), models.AuditFilter{}, 0, 0, 10)
	require.NoError(t, err)
	require.Len(t, page.Entries, 4)
	var actions []string
	for _, e := range page.Entries {
		actions = append(actions, e.Action+" "+e.Target)
		require.Equal(t, models.AuditActorSystem, e.ActorKind)
		require.True(t, strings.HasPrefix(e.Actor, "cli "), e.Actor)
		require.NotContains(t, e.Details, "password")
		require.NotContains(t, e.Details, strings.TrimSpace(token))
	}
	require.Equal(t, []string{"kiln user passwd user ada", "kiln user add user ada", "kiln token revoke token ci", "kiln token create token ci"}, actions)
	require.JSONEq(t, `{"role":{"before":null,"after":"admin"}}`, page.Entries[3].Details, "written with the change: what it made")
	require.JSONEq(t, `{"role":{"before":null,"after":"viewer"}}`, page.Entries[1].Details)
	require.Empty(t, page.Entries[0].Details, "the action says the password changed, never what it is")
}
