package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// status looks at a database; it never makes one where there is none.
func TestMigrateStatusNeedsADatabase(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "typo", "kiln.db")
	var out, errOut bytes.Buffer
	require.Equal(t, 1, Run(context.Background(), []string{"migrate", "status", "--db", missing}, nil, &out, &errOut))
	require.Contains(t, errOut.String(), "there is no database at "+missing)
	require.NoDirExists(t, filepath.Dir(missing))
}

func TestMigrateCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "kiln.db")
	require.NoError(t, os.WriteFile(db, nil, 0o600)) // an empty database: no migration yet
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), append(append([]string{"migrate"}, args...), "--db", db), nil, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, out, _ := run("status")
	require.Equal(t, 0, code)
	latest := mustStatus(t, db).Latest
	require.Contains(t, out, fmt.Sprintf("schema version 0; this Kiln knows versions up to %d", latest))
	require.Regexp(t, `1\s+00001_initial.sql\s+pending`, out)
	require.Regexp(t, `2\s+00002_api_tokens.sql\s+pending`, out)

	code, out, _ = run("up")
	require.Equal(t, 0, code)
	require.Contains(t, out, "Applied 1 (00001_initial.sql).")
	require.Contains(t, out, "Applied 2 (00002_api_tokens.sql).")
	require.Contains(t, out, fmt.Sprintf("schema version %d; this Kiln knows versions up to %d", latest, latest))
	code, out, _ = run("up")
	require.Equal(t, 0, code)
	require.Contains(t, out, "Nothing to do")

	// A newer Kiln's database: status says so, up refuses, kiln itself refuses to start.
	s, err := models.Connect(context.Background(), db, nil)
	require.NoError(t, err)
	require.NoError(t, modeltest.DB(s).Exec("INSERT INTO kiln_schema_migrations (version_id, is_applied) VALUES (?, true)", latest+1).Error)
	require.NoError(t, s.Close())
	code, out, _ = run("status")
	require.Equal(t, 1, code)
	require.Contains(t, out, fmt.Sprintf("schema version %d, newer than this Kiln knows (%d)", latest+1, latest))
	code, _, errOut := run("up")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, fmt.Sprintf("the database is at schema version %d and this Kiln knows versions up to %d", latest+1, latest))

	code, _, errOut = run("sideways")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, `unknown command "sideways"`)
	code, _, errOut = run("status", "--bogus")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "flag provided but not defined")
}

// mustStatus connects to db without migrating it and returns its schema status.
func mustStatus(t *testing.T, db string) *models.SchemaStatus {
	t.Helper()
	s, err := models.Connect(context.Background(), db, nil)
	require.NoError(t, err)
	defer s.Close()
	st, err := s.SchemaStatus(context.Background())
	require.NoError(t, err)
	return st
}
