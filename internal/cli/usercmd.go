package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/postgres"
	"github.com/kilnhq/kiln/models/sqlite"
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
	var (
		db, role string
		create   bool
	)
	dbOnly := func(fs *flag.FlagSet) { storeFlags(fs, &db, &create) }
	list := e.leaf("list", "kiln user list [--db PATH]", "list who may log in", true, dbOnly, func(ctx context.Context, pos []string) error {
		if err := noArgs(pos); err != nil {
			return err
		}
		store, err := e.openStore(ctx, db, create)
		if err != nil {
			return err
		}
		defer store.Close()
		users, err := store.Users.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tROLE\tSIGNS IN WITH\tCREATED\tLAST LOGIN")
		for _, u := range users {
			last := "never"
			if u.LastLoginAt != nil {
				last = u.LastLoginAt.Format("2006-01-02 15:04 MST")
			}
			with := "password"
			if u.OIDCIssuer != "" { // single sign-on: its role comes from the role map at each login
				with = "sso " + u.OIDCIssuer
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Username, u.Role, with, u.CreatedAt.Format("2006-01-02 15:04 MST"), last)
		}
		return tw.Flush()
	})
	passwordHelp := "The password is asked for twice on a terminal, or read as one line from standard input:\n  echo \"$PASSWORD\" | kiln user add ada --role admin"
	// withPassword runs save with the named user's password, read from standard input.
	withPassword := func(action string, save func(ctx context.Context, users models.UserStore, name, pw string) (string, error)) func(ctx context.Context, pos []string) error {
		return func(ctx context.Context, pos []string) error {
			name, err := oneName(pos, "user")
			if err != nil {
				return err
			}
			store, err := e.openStore(ctx, db, create)
			if err != nil {
				return err
			}
			defer store.Close()
			pw, err := readPassword(e.stdin, e.errOut)
			var done string
			if err == nil {
				done, err = save(cliAudit(ctx, action, "user "+name), store.Users, name, pw)
			}
			if err != nil {
				return errors.New(userError(err))
			}
			fmt.Fprintln(e.out, done)
			return nil
		}
	}
	add := e.leaf("add", "kiln user add NAME [--role viewer|operator|admin] [--db PATH]", "add a user\n\n"+passwordHelp, true, func(fs *flag.FlagSet) {
		storeFlags(fs, &db, &create)
		fs.StringVar(&role, "role", models.RoleViewer, "the user's `role`: viewer (reads), operator (also retries, cancels, pauses; runs no code) or admin (everything)")
	}, withPassword("kiln user add", func(ctx context.Context, users models.UserStore, name, pw string) (string, error) {
		_, err := users.CreateUser(ctx, name, pw, role)
		return fmt.Sprintf("Added %s (%s).", name, role), err
	}))
	passwd := e.leaf("passwd", "kiln user passwd NAME [--db PATH]", "set a user's password (ends their sessions)\n\n"+passwordHelp, true, dbOnly,
		withPassword("kiln user passwd", func(ctx context.Context, users models.UserStore, name, pw string) (string, error) {
			return fmt.Sprintf("Password of %s changed; their sessions have ended.", name), users.SetPassword(ctx, name, pw)
		}))
	remove := e.leaf("remove", "kiln user remove NAME [--db PATH]", "remove a user: their sessions end and their API tokens are revoked, at once", true, dbOnly,
		func(ctx context.Context, pos []string) error {
			name, err := oneName(pos, "user")
			if err != nil {
				return err
			}
			store, err := e.openStore(ctx, db, create)
			if err != nil {
				return err
			}
			defer store.Close()
			if err := store.Users.DeleteUser(cliAudit(ctx, "kiln user remove", "user "+name), name); err != nil {
				return errors.New(userError(err))
			}
			fmt.Fprintf(e.out, "Removed %s; their sessions have ended and their API tokens are revoked.\n", name)
			return nil
		})
	setRole := e.leaf("role", "kiln user role NAME viewer|operator|admin [--db PATH]", "change a user's role: their sessions and API tokens take it at their next request", true, dbOnly,
		func(ctx context.Context, pos []string) error {
			if len(pos) != 2 {
				return fmt.Errorf("%w: give the user's name and the role (viewer, operator or admin)", errUsage)
			}
			name, newRole := pos[0], pos[1]
			store, err := e.openStore(ctx, db, create)
			if err != nil {
				return err
			}
			defer store.Close()
			before, err := store.Users.SetUserRole(cliAudit(ctx, "kiln user role", "user "+name), name, newRole)
			if err != nil {
				return errors.New(userError(err))
			}
			fmt.Fprintf(e.out, "%s is now %s (was %s).\n", name, newRole, before)
			return nil
		})
	return e.group("user", "kiln user list|add|passwd|role|remove ...", "manage who may log in to the dashboard", list, add, passwd, setRole, remove)
}

// dbFlag declares --db, the database a command opens, as kiln serving reads it.
func dbFlag(fs *flag.FlagSet, db *string) {
	fs.StringVar(db, "db", defaultDB, "the database, as for kiln: a SQLite `path` or a postgres:// URL")
}

// storeFlags declares --db and --create, for a command that opens the database to read or
// change its rows (kiln user, kiln token).
func storeFlags(fs *flag.FlagSet, db *string, create *bool) {
	dbFlag(fs, db)
	fs.BoolVar(create, "create", false, "make the SQLite database if there is none at --db (kiln makes it when it first serves)")
}

// openStore opens the database of a command that reads or changes its rows, migrating it as
// kiln does when it starts, and says on standard error which one it opened. It makes no new
// SQLite file unless create: run from another directory, the default data/kiln.db would be a
// new, empty database, and a token made there would open nothing on the server.
func (e *cliEnv) openStore(ctx context.Context, dsn string, create bool) (*models.Store, error) {
	shown := redactPassword(dsn)
	if path := sqlite.FilePath(dsn); !postgres.Handles(dsn) && path != "" {
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) && !create {
			return nil, fmt.Errorf("there is no database at %s: give --db (or KILN_DB) as kiln serves with, or --create to make a new one", path)
		}
		shown = path
	}
	fmt.Fprintln(e.errOut, "database:", shown)
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
