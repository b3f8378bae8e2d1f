package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/peterbourgon/ff/v3"
	"golang.org/x/term"

	"github.com/kilnhq/kiln/models"
)

// ensureAdmin creates the first user, admin, when there is none: with KILN_ADMIN_PASSWORD, or
// with a random password printed once to the log.
func (m *Main) ensureAdmin(ctx context.Context) error {
	n, err := m.Store.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	pw, generated := m.Config.AdminPassword, m.Config.AdminPassword == ""
	if generated {
		pw = randomPassword()
	}
	_, err = m.Store.CreateUser(ctx, "admin", pw, models.RoleAdmin)
	switch {
	case models.ErrorCode(err) == models.ECONFLICT:
		return nil // another node created it first
	case err != nil:
		return fmt.Errorf("create the first admin: %w", err)
	case generated:
		m.Log.Warn("kiln: created the first user; this password is shown only once, so note it now",
			"username", "admin", "password", pw, "change_it_with", "kiln user passwd admin")
	default:
		m.Log.Info("kiln: created the first user with KILN_ADMIN_PASSWORD", "username", "admin")
	}
	return nil
}

// randomPassword returns 20 random characters that are easy to read and type.
func randomPassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

const userUsage = `Usage:
  kiln user list                        list who may log in
  kiln user add NAME [--role ROLE]      add a user (role admin or viewer; default viewer)
  kiln user passwd NAME                 set a user's password (ends their sessions)

The password is asked for twice on a terminal, or read as one line from standard input:
  echo "$PASSWORD" | kiln user add ada --role admin

Flags:
  --db PATH    the database, as for kiln (env KILN_DB, default data/kiln.db)
`

// runUserCommand runs "kiln user ..." and returns the exit code.
func runUserCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, userUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	verb, rest := args[0], args[1:]
	fs := flag.NewFlagSet("kiln user "+verb, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	db := fs.String("db", defaultDB, "database")
	role := fs.String("role", models.RoleViewer, "role")
	// The name comes first ("add ada --role admin"); flags may follow it.
	var name string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		name, rest = rest[0], rest[1:]
	}
	if err := ff.Parse(fs, rest, ff.WithEnvVarPrefix(envPrefix), ff.WithIgnoreUndefined(true)); err != nil {
		fmt.Fprintf(stderr, "kiln user %s: %v\n\n%s", verb, err, userUsage)
		return 2
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	if verb != "list" && name == "" {
		fmt.Fprintf(stderr, "kiln user %s: give the user's name\n\n%s", verb, userUsage)
		return 2
	}
	if verb != "list" && verb != "add" && verb != "passwd" {
		fmt.Fprintf(stderr, "kiln user: unknown command %q\n\n%s", verb, userUsage)
		return 2
	}
	store, err := models.Open(ctx, *db, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintln(stderr, "kiln user:", err)
		return 1
	}
	defer store.Close()

	switch verb {
	case "list":
		users, err := store.ListUsers(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "kiln user list:", err)
			return 1
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tROLE\tCREATED\tLAST LOGIN")
		for _, u := range users {
			last := "never"
			if u.LastLoginAt != nil {
				last = u.LastLoginAt.Format("2006-01-02 15:04 MST")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Username, u.Role, u.CreatedAt.Format("2006-01-02 15:04 MST"), last)
		}
		_ = tw.Flush()
		return 0
	case "add":
		pw, err := readPassword(stdin, stderr)
		if err == nil {
			_, err = store.CreateUser(ctx, name, pw, *role)
		}
		if err != nil {
			fmt.Fprintln(stderr, "kiln user add:", userError(err))
			return 1
		}
		fmt.Fprintf(stdout, "Added %s (%s).\n", name, *role)
		return 0
	default: // passwd
		pw, err := readPassword(stdin, stderr)
		if err == nil {
			err = store.SetPassword(ctx, name, pw)
		}
		if err != nil {
			fmt.Fprintln(stderr, "kiln user passwd:", userError(err))
			return 1
		}
		fmt.Fprintf(stdout, "Password of %s changed; their sessions have ended.\n", name)
		return 0
	}
}

// userError explains a rejected user or password in one line.
func userError(err error) string {
	if models.ErrorCode(err) == models.EINTERNAL {
		return err.Error() // the command line may say what went wrong; there is no client to hide it from
	}
	msg := models.ErrorMessage(err)
	for _, detail := range models.FieldErrors(err) {
		msg += " " + detail
	}
	return msg
}

// readPassword asks twice on a terminal (without echo), or reads one line from a pipe.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		first, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stderr, "Again: ")
		second, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(first) != string(second) {
			return "", errors.New("the two passwords differ")
		}
		return string(first), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}
