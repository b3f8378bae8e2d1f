package cli

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

	"golang.org/x/term"

	"github.com/kilnhq/kiln/models"
	"github.com/peterbourgon/ff/v3/ffcli"
)

// ensureAdmin creates the first user, admin, when there is none: with KILN_ADMIN_PASSWORD, or
// with a random password printed once to the log.
func (m *Main) ensureAdmin(ctx context.Context) error {
	n, err := m.Store.Users.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	pw, generated := m.Config.AdminPassword, m.Config.AdminPassword == ""
	if generated {
		pw = randomPassword()
	}
	_, err = m.Store.Users.CreateUser(ctx, "admin", pw, models.RoleAdmin)
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

// userCommand manages who may log in to the dashboard.
func (e *cliEnv) userCommand() *ffcli.Command {
	var db, role string
	dbOnly := func(fs *flag.FlagSet) { dbFlag(fs, &db) }
	list := e.leaf("list", "kiln user list [--db PATH]", "list who may log in", true, dbOnly, func(ctx context.Context, pos []string) error {
		if err := noArgs(pos); err != nil {
			return err
		}
		store, err := openStore(ctx, db)
		if err != nil {
			return err
		}
		defer store.Close()
		users, err := store.Users.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tROLE\tCREATED\tLAST LOGIN")
		for _, u := range users {
			last := "never"
			if u.LastLoginAt != nil {
				last = u.LastLoginAt.Format("2006-01-02 15:04 MST")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Username, u.Role, u.CreatedAt.Format("2006-01-02 15:04 MST"), last)
		}
		return tw.Flush()
	})
	passwordHelp := "The password is asked for twice on a terminal, or read as one line from standard input:\n  echo \"$PASSWORD\" | kiln user add ada --role admin"
	// withPassword runs save with the named user's password, read from standard input.
	withPassword := func(save func(ctx context.Context, users models.UserStore, name, pw string) (string, error)) func(ctx context.Context, pos []string) error {
		return func(ctx context.Context, pos []string) error {
			name, err := oneName(pos, "user")
			if err != nil {
				return err
			}
			store, err := openStore(ctx, db)
			if err != nil {
				return err
			}
			defer store.Close()
			pw, err := readPassword(e.stdin, e.errOut)
			var done string
			if err == nil {
				done, err = save(ctx, store.Users, name, pw)
			}
			if err != nil {
				return errors.New(userError(err))
			}
			fmt.Fprintln(e.out, done)
			return nil
		}
	}
	add := e.leaf("add", "kiln user add NAME [--role admin|viewer] [--db PATH]", "add a user\n\n"+passwordHelp, true, func(fs *flag.FlagSet) {
		dbFlag(fs, &db)
		fs.StringVar(&role, "role", models.RoleViewer, "the user's `role`: admin (reads and changes) or viewer (reads)")
	}, withPassword(func(ctx context.Context, users models.UserStore, name, pw string) (string, error) {
		_, err := users.CreateUser(ctx, name, pw, role)
		return fmt.Sprintf("Added %s (%s).", name, role), err
	}))
	passwd := e.leaf("passwd", "kiln user passwd NAME [--db PATH]", "set a user's password (ends their sessions)\n\n"+passwordHelp, true, dbOnly,
		withPassword(func(ctx context.Context, users models.UserStore, name, pw string) (string, error) {
			return fmt.Sprintf("Password of %s changed; their sessions have ended.", name), users.SetPassword(ctx, name, pw)
		}))
	return e.group("user", "kiln user list|add|passwd ...", "manage who may log in to the dashboard", list, add, passwd)
}

// dbFlag declares --db, the database a command opens, as kiln serving reads it.
func dbFlag(fs *flag.FlagSet, db *string) {
	fs.StringVar(db, "db", defaultDB, "the database, as for kiln: a SQLite `path` or a postgres:// URL")
}

// openStore opens the database of a command that reads or changes it, migrating it as kiln
// does when it starts.
func openStore(ctx context.Context, dsn string) (*models.Store, error) {
	return models.Open(ctx, dsn, slog.New(slog.DiscardHandler))
}

// noArgs refuses positional arguments a command doesn't take.
func noArgs(pos []string) error {
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	return nil
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
