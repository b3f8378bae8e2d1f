package cli

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/kilnhq/kiln/models"
)

func init() { models.BcryptCost = bcrypt.MinCost }

func runUser(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), append([]string{"user"}, args...), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUserCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "kiln.db")
	// No database there: the command makes none unless told to, and says where it looked.
	code, _, errOut := runUser(t, "a long enough password\n", "add", "ada", "--role", "admin", "--db", db)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "there is no database at "+db+": give --db (or KILN_DB) as kiln serves with, or --create")
	require.NoFileExists(t, db)
	code, out, errOut := runUser(t, "a long enough password\n", "add", "ada", "--role", "admin", "--db", db, "--create")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Added ada (admin)")
	require.Contains(t, errOut, "database: "+db, "it says which database it opened")
	code, _, errOut = runUser(t, "another long password\n", "add", "val", "--db", db)
	require.Equal(t, 0, code, errOut)

	code, out, _ = runUser(t, "", "list", "--db", db)
	require.Equal(t, 0, code)
	require.Regexp(t, `(?m)^ada\s+admin\s`, out)
	require.Regexp(t, `(?m)^val\s+viewer\s`, out)
	require.Contains(t, out, "never")

	code, _, errOut = runUser(t, "a long enough password\n", "add", "ada", "--db", db)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "already a user named")
	code, _, errOut = runUser(t, "short\n", "add", "bob", "--db", db)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "at least 10 characters")
	code, _, errOut = runUser(t, "a long enough password\n", "add", "bob", "--role", "root", "--db", db)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `The role must be viewer, operator or admin, not "root".`)
	code, out, errOut = runUser(t, "a long enough password\n", "add", "olga", "--role", "operator", "--db", db)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "Added olga (operator).\n", out)
	code, _, errOut = runUser(t, "", "add", "bob", "--db", db)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "no password")
	code, _, _ = runUser(t, "", "add", "--db", db)
	require.Equal(t, 2, code, "a name is required")
	code, _, _ = runUser(t, "", "remove", "--db", db)
	require.Equal(t, 2, code, "remove needs a name")

	code, out, errOut = runUser(t, "", "role", "val", "operator", "--db", db)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "val is now operator (was viewer).\n", out)
	code, out, _ = runUser(t, "", "list", "--db", db)
	require.Equal(t, 0, code)
	require.Regexp(t, `(?m)^val\s+operator\s`, out)
	code, _, errOut = runUser(t, "", "role", "val", "root", "--db", db)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `The role must be viewer, operator or admin, not "root".`)
	code, _, errOut = runUser(t, "", "role", "nobody", "admin", "--db", db)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `There is no user named "nobody".`)
	code, _, _ = runUser(t, "", "role", "val", "--db", db)
	require.Equal(t, 2, code, "a role is required")

	code, out, errOut = runUser(t, "a brand new password\n", "passwd", "ada", "--db", db)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "sessions have ended")
	store, err := models.Open(context.Background(), db, nil)
	require.NoError(t, err)
	defer store.Close()
	_, err = store.Users.Authenticate(context.Background(), "ada", "a brand new password")
	require.NoError(t, err)
	code, _, _ = runUser(t, "a brand new password\n", "passwd", "nobody", "--db", db)
	require.Equal(t, 1, code)

	// A user who signs in by single sign-on is listed with their provider.
	_, err = store.Users.SignInOIDC(context.Background(), models.OIDCLogin{Issuer: "https://idp.example.com", Subject: "s-1",
		Username: "grace", Role: models.RoleOperator})
	require.NoError(t, err)
	code, out, _ = runUser(t, "", "list", "--db", db)
	require.Equal(t, 0, code)
	require.Regexp(t, `(?m)^grace\s+operator\s+sso https://idp.example.com\s`, out)
	require.Regexp(t, `(?m)^ada\s+admin\s+password\s`, out)
}

func TestFirstStartCreatesTheAdmin(t *testing.T) {
	for _, given := range []string{"", "chosen admin password"} {
		dir := t.TempDir()
		args := []string{"--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "kiln.db")}
		if given != "" {
			t.Setenv("KILN_ADMIN_PASSWORD", given)
		}
		cfg, err := parseConfig(args, io.Discard)
		require.NoError(t, err)
		var logs bytes.Buffer
		m := NewMain(cfg, &logs)
		require.NoError(t, m.Run(context.Background()))
		pw := given
		if given == "" {
			match := regexp.MustCompile(`username=admin password=(\S+)`).FindStringSubmatch(logs.String())
			require.NotNil(t, match, "the generated password is printed once: %s", logs.String())
			pw = match[1]
			require.Len(t, pw, 20)
		} else {
			require.NotContains(t, logs.String(), given, "a password given by the environment is never logged")
		}
		_, err = m.Store.Users.Authenticate(context.Background(), "admin", pw)
		require.NoError(t, err)
		require.NoError(t, m.Close())

		// A second start creates nothing and prints nothing.
		logs.Reset()
		m = NewMain(cfg, &logs)
		require.NoError(t, m.Run(context.Background()))
		require.NotContains(t, logs.String(), "first user")
		require.NoError(t, m.Close())
	}
}
