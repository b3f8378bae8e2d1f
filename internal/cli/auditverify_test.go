package cli

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// verifySetup is a store of each dialect holding n entries (the first old ones old enough for
// retention), the NDJSON kiln audit export wrote of it through the API, and a way to run kiln
// audit verify on it.
type verifySetup struct {
	store  *models.Store
	export string
	verify func(stdin string, args ...string) (code int, out, errOut string)
}

func setupVerify(t *testing.T, dsn string, old, n int) verifySetup {
	t.Helper()
	s := modeltest.Open(t, dsn)
	for i := range n {
		e := models.AuditEntry{Actor: "ada", ActorKind: models.AuditActorUser, Action: "POST /dashboard/recurring/:name/pause",
			Target: "recurring nightly", Outcome: "303", IP: "192.0.2.7", UserAgent: "curl/8",
			Details: models.AuditDetails(map[string]any{"paused": models.AuditChange{Before: false, After: true}, "n": i})}
		if i < old {
			e.At = time.Now().Add(-400 * 24 * time.Hour)
		}
		require.NoError(t, s.Audit.AppendAudit(context.Background(), &e))
	}
	e, err := jobs.New(s, jobs.Config{NoWorkers: true})
	require.NoError(t, err)
	srv, err := web.New(web.Config{}, s, e, nil)
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	token, _, err := s.Tokens.CreateAPIToken(context.Background(), "siem", models.RoleAdmin, 0, "test", "")
	require.NoError(t, err)
	var out, errOut bytes.Buffer
	require.Equal(t, 0, Run(context.Background(), []string{"audit", "export", "--server", ts.URL, "--token", token}, nil, &out, &errOut), errOut.String())
	require.Equal(t, n, strings.Count(out.String(), "\n"))
	return verifySetup{store: s, export: out.String(), verify: func(stdin string, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), append([]string{"audit", "verify", "--db", dsn}, args...), strings.NewReader(stdin), &out, &errOut)
		return code, out.String(), errOut.String()
	}}
}

// lastEntry is the head verify prints: the last entry's id and hash.
var lastEntry = regexp.MustCompile(`(?m)^Last entry: (\d+), hash ([0-9a-f]{64})$`)

// A chain rewritten from an entry on, every later hash recomputed, verifies alone; against an
// export made before, verify fails naming the first entry rewritten. The export matches as it
// came out of kiln audit export, read from a file or standard input.
func TestAuditVerifyAgainstShowsARewrite(t *testing.T) {
	for _, d := range modeltest.Dialects {
		t.Run(d.Name, func(t *testing.T) {
			v := setupVerify(t, d.DSN(t), 0, 6)
			file := filepath.Join(t.TempDir(), "audit.ndjson")
			require.NoError(t, os.WriteFile(file, []byte(v.export), 0o600))
			code, out, errOut := v.verify("", "--against", file)
			require.Equal(t, 0, code, errOut)
			require.Contains(t, out, "The audit trail verifies: 6 entries, from the first entry.\nThe export matches: 6 entries compared.\n")
			head := lastEntry.FindStringSubmatch(out)
			require.NotNil(t, head, out)
			require.Equal(t, "6", head[1])

			modeltest.RewriteAudit(t, v.store, 3, "recurring weekly")
			code, out, errOut = v.verify("")
			require.Equal(t, 0, code, "the chain alone verifies: %s", errOut)
			require.NotContains(t, out, head[2], "the head printed is the new one")
			code, _, errOut = v.verify(v.export, "--against", "-")
			require.Equal(t, 1, code)
			require.Regexp(t, `entry 3 no longer matches the export: its hash was [0-9a-f]{64}, now [0-9a-f]{64} \(the chain alone verifies: 6 entries\)`, errOut)
		})
	}
}

// The newest entries removed leave a chain that verifies; against the export, or the head
// written down (--head, repeatable), verify fails naming the first one removed.
func TestAuditVerifyAgainstAndHeadShowNewestRemoved(t *testing.T) {
	for _, d := range modeltest.Dialects {
		t.Run(d.Name, func(t *testing.T) {
			v := setupVerify(t, d.DSN(t), 0, 5)
			code, out, errOut := v.verify("")
			require.Equal(t, 0, code, errOut)
			head := lastEntry.FindStringSubmatch(out)
			require.NotNil(t, head, out)
			first := regexp.MustCompile(`"id":1,.*"hash":"([0-9a-f]{64})"`).FindStringSubmatch(v.export)
			require.NotNil(t, first, v.export)
			code, out, errOut = v.verify("", "--head", "1:"+first[1], "--head", head[1]+":"+strings.ToUpper(head[2]))
			require.Equal(t, 0, code, errOut)
			require.Contains(t, out, "The hashes given match: 2 entries compared.")

			require.NoError(t, modeltest.DB(v.store).Exec(`DELETE FROM audit_entries WHERE id >= 4`).Error)
			code, out, errOut = v.verify("")
			require.Equal(t, 0, code, "the chain alone verifies: %s", errOut)
			require.Contains(t, out, "The audit trail verifies: 3 entries")
			code, _, errOut = v.verify(v.export, "--against", "-")
			require.Equal(t, 1, code)
			require.Contains(t, errOut, "entry 4 no longer matches the export: it was removed (the trail now ends at entry 3)")
			code, _, errOut = v.verify("", "--head", "1:"+first[1], "--head", head[1]+":"+head[2])
			require.Equal(t, 1, code)
			require.Contains(t, errOut, "entry 5 no longer matches the hash given: it was removed (the trail now ends at entry 3)")
		})
	}
}

// Entries retention deleted since the export are not missing: verify --against still passes,
// comparing the last one with its checkpoint; so does --head on it once every entry is gone.
func TestAuditVerifyAgainstAfterRetention(t *testing.T) {
	for _, d := range modeltest.Dialects {
		t.Run(d.Name, func(t *testing.T) {
			v := setupVerify(t, d.DSN(t), 4, 6)
			n, err := v.store.Audit.PruneAudit(context.Background(), time.Now().Add(-365*24*time.Hour), 3)
			require.NoError(t, err)
			require.Equal(t, int64(4), n)
			code, out, errOut := v.verify(v.export, "--against", "-")
			require.Equal(t, 0, code, errOut)
			require.Contains(t, out, "The audit trail verifies: 2 entries, from the checkpoint after entry 4")
			require.Contains(t, out, "The export matches: 3 entries compared, 3 more deleted by retention since (not compared).")
			head := lastEntry.FindStringSubmatch(out)
			require.NotNil(t, head, out)

			// Entries younger than retention keeps, under a checkpoint: someone deleted them
			// and wrote the checkpoint, or retention ran with a shorter --audit-retention.
			_, err = v.store.Audit.PruneAudit(context.Background(), time.Now().Add(time.Minute), 100)
			require.NoError(t, err)
			code, _, errOut = v.verify(v.export, "--against", "-")
			require.Equal(t, 1, code)
			require.Regexp(t, `entry 5 no longer matches the export: it was removed: a checkpoint says retention deleted it, but it is from \S+ and retention keeps entries from \S+ on`, errOut)
			code, out, errOut = v.verify(v.export, "--against", "-", "--audit-retention", "0", "--head", head[1]+":"+head[2])
			require.Equal(t, 0, code, errOut)
			require.Contains(t, out, "The export matches: 1 entries compared, 5 more deleted by retention since (not compared).")
			require.Contains(t, out, "Last entry: 6 (retention deleted it), hash "+head[2])
		})
	}
}

// A file that is not an export, or a --head that is not ID:HASH, is a usage error (exit 2)
// naming what is wrong, before the database is read.
func TestAuditVerifyRefusesABadCopy(t *testing.T) {
	v := setupVerify(t, modeltest.SQLiteDSN(t), 0, 2)
	line := strings.SplitN(v.export, "\n", 2)[0]
	for _, tc := range []struct {
		name, stdin string
		args        []string
		says        string
	}{
		{"not JSON", "id,hash\n1,abc\n", []string{"--against", "-"}, "standard input line 1 is not an entry of kiln audit export: invalid character"},
		{"no hash", v.export + strings.Replace(line, `"hash"`, `"hush"`, 1) + "\n", []string{"--against", "-"},
			"standard input line 3 is not an entry of kiln audit export: it has no hash"},
		{"no id", `{"hash":"` + strings.Repeat("a", 64) + `"}` + "\n", []string{"--against", "-"}, "line 1 is not an entry of kiln audit export: it has no id"},
		{"id and hash only", `{"id":1,"hash":"` + strings.Repeat("a", 64) + `"}`, []string{"--against", "-"}, "it lacks its time, actor, action or outcome"},
		{"two entries a line", strings.ReplaceAll(v.export, "\n", ""), []string{"--against", "-"}, "line 1 is not an entry of kiln audit export: invalid character '{' after top-level value"},
		{"empty", "\n", []string{"--against", "-"}, "standard input holds no entries"},
		{"no such file", "", []string{"--against", filepath.Join(t.TempDir(), "nope.ndjson")}, "--against: open "},
		{"too long a line", strings.Repeat("x", maxExportLine+1), []string{"--against", "-"}, "has a line longer than"},
		{"head without hash", "", []string{"--head", "5"}, `"5" is not ID:HASH`},
		{"head with a short hash", "", []string{"--head", "5:9f2c"}, "the hash is not a SHA-256 in hex"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := v.verify(tc.stdin, tc.args...)
			require.Equal(t, 2, code, out)
			require.Contains(t, errOut, tc.says)
			require.NotContains(t, errOut, "panic")
		})
	}
}
