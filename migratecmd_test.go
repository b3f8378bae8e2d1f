package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

func TestMigrateCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "kiln.db")
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := runMigrateCommand(context.Background(), append(args, "--db", db), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, out, _ := run("status")
	require.Equal(t, 0, code)
	require.Contains(t, out, "schema version 0; this Kiln knows versions up to 1")
	require.Regexp(t, `1\s+00001_initial.sql\s+pending`, out)

	code, out, _ = run("up")
	require.Equal(t, 0, code)
	require.Contains(t, out, "Applied 1 (00001_initial.sql).")
	require.Contains(t, out, "schema version 1; this Kiln knows versions up to 1")
	code, out, _ = run("up")
	require.Equal(t, 0, code)
	require.Contains(t, out, "Nothing to do")

	// A newer Kiln's database: status says so, up refuses, kiln itself refuses to start.
	s, err := models.Connect(context.Background(), db, nil)
	require.NoError(t, err)
	require.NoError(t, modeltest.DB(s).Exec("INSERT INTO kiln_schema_migrations (version_id, is_applied) VALUES (2, true)").Error)
	require.NoError(t, s.Close())
	code, out, _ = run("status")
	require.Equal(t, 1, code)
	require.Contains(t, out, "schema version 2, newer than this Kiln knows (1)")
	code, _, errOut := run("up")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "the database is at schema version 2 and this Kiln knows versions up to 1")

	code, _, errOut = run("sideways")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, `unknown command "sideways"`)
	code, _, errOut = run("status", "--bogus")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "flag provided but not defined")
}
