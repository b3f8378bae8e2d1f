package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
)

func TestTokenCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "kiln.db")
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), append(append([]string{"token"}, args...), "--db", db), nil, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, _, errOut := run("create", "--name", "ci", "--role", "viewer", "--expires", "720h")
	require.Equal(t, 1, code, "no database there, and no --create")
	require.Contains(t, errOut, "there is no database at "+db)
	require.NoFileExists(t, db)
	code, out, errOut := run("create", "--name", "ci", "--role", "viewer", "--expires", "720h", "--create")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "database: "+db)
	token := strings.TrimSpace(out)
	require.True(t, strings.HasPrefix(token, models.TokenPrefix), "stdout holds only the token: %q", out)
	require.Equal(t, 1, strings.Count(out, "\n"))

	s, err := models.Open(context.Background(), db, nil)
	require.NoError(t, err)
	got, err := s.Tokens.TokenByValue(context.Background(), token)
	require.NoError(t, err)
	require.Equal(t, "viewer", got.Role)
	require.NotNil(t, got.ExpiresAt)
	require.NoError(t, s.Close())

	code, out, _ = run("list")
	require.Equal(t, 0, code)
	require.Regexp(t, `(?m)^ci\s+viewer\s+\(made before owners\)\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC\s+\d{4}-`, out)
	require.NotContains(t, out, token, "list never shows a token")

	code, _, errOut = run("create", "--name", "ci", "--role", "admin")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "already a token named")
	code, _, errOut = run("create", "--name", "x y", "--role", "boss")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `The role must be viewer, operator or admin, not "boss".`)
	code, out, errOut = run("create", "--name", "on-call", "--role", "operator")
	require.Equal(t, 0, code, errOut)
	require.True(t, strings.HasPrefix(out, models.TokenPrefix), out)
	code, _, _ = run("create", "--role", "admin")
	require.Equal(t, 2, code)
	code, _, errOut = run("create", "--name", "z", "--role", "admin", "--expires", "soon")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "invalid value")

	code, out, _ = run("revoke", "ci")
	require.Equal(t, 0, code)
	require.Equal(t, "Revoked ci.\n", out)
	code, _, errOut = run("revoke", "ci")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `no API token named "ci"`)
	code, _, _ = run("lost")
	require.Equal(t, 2, code)
}

// Once the database has users, a token names its owner, whose role caps the token's; removing
// the owner revokes it.
func TestTokenCommandOwner(t *testing.T) {
	db := filepath.Join(t.TempDir(), "kiln.db")
	run := func(stdin string, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), append(args, "--db", db), strings.NewReader(stdin), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, _, errOut := run("a long password\n", "user", "add", "olive", "--role", "operator", "--create")
	require.Equal(t, 0, code, errOut)

	code, _, errOut = run("", "token", "create", "--name", "ci", "--role", "viewer")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "give --user, the user the token belongs to (one of: olive)")
	code, _, errOut = run("", "token", "create", "--name", "ci", "--role", "admin", "--user", "olive")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "A token's role is at most its owner's: olive is operator")
	code, _, errOut = run("", "token", "create", "--name", "ci", "--role", "viewer", "--user", "ghost")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `There is no user named "ghost"`)
	code, out, errOut := run("", "token", "create", "--name", "ci", "--role", "operator", "--user", "olive")
	require.Equal(t, 0, code, errOut)
	token := strings.TrimSpace(out)
	code, out, _ = run("", "token", "list")
	require.Equal(t, 0, code)
	require.Regexp(t, `(?m)^ci\s+operator\s+olive\s+`, out)

	code, out, errOut = run("", "user", "remove", "olive")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Removed olive; their sessions have ended and their API tokens are revoked.")
	s, err := models.Open(context.Background(), db, nil)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Tokens.TokenByValue(context.Background(), token)
	require.Equal(t, models.ENOTFOUND, models.ErrorCode(err), "the owner's removal revoked the token")
	code, _, errOut = run("", "user", "remove", "olive")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `There is no user named "olive".`)
}
