package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/postgres"
	"github.com/kilnhq/kiln/models/sqlite"
	"github.com/peterbourgon/ff/v3/ffcli"
)

// pgDumpHowTo is what kiln backup says about a PostgreSQL database.
const pgDumpHowTo = `kiln backup copies SQLite databases. Back up PostgreSQL with its own tools, while Kiln runs:

  pg_dump --format=custom --file=kiln.dump "%s"

and restore into an empty database, with every node stopped:

  pg_restore --no-owner --dbname="postgres://USER:PASSWORD@HOST:5432/NEWDB" kiln.dump

(or take base backups with point-in-time recovery, as for any PostgreSQL database).
`

// backupCommand copies a running SQLite database, checked.
func (e *cliEnv) backupCommand() *ffcli.Command {
	var db, to string
	return e.leaf("backup", "kiln backup --to FILE [--db PATH]", `copy a running SQLite database into FILE, checked

Copies a SQLite database into FILE, consistently, while Kiln runs on it (SQLite's VACUUM INTO:
the database as of one moment, compacted), then opens the copy read-only and checks it
(PRAGMA integrity_check, its schema version, its jobs). FILE must not exist; it is made
readable by its owner only, since it holds users, sessions, token hashes and sealed secrets.
To restore, stop Kiln and put the copy in place of the database (see the README, "Backup and
restore"). A PostgreSQL database is backed up with pg_dump; this command says how.`, true, func(fs *flag.FlagSet) {
		dbFlag(fs, &db)
		fs.StringVar(&to, "to", "", "where to write the copy: a `file` that doesn't exist yet (required)")
	}, func(ctx context.Context, pos []string) error {
		if err := noArgs(pos); err != nil {
			return err
		}
		if postgres.Handles(db) {
			fmt.Fprintf(e.errOut, pgDumpHowTo, redactPassword(db))
			return errReported
		}
		if to == "" {
			return fmt.Errorf("%w: --to FILE is required: where to write the copy", errUsage)
		}
		path := sqlite.FilePath(db)
		if path == "" {
			return fmt.Errorf("%w: an in-memory database has nothing to back up", errUsage)
		}
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("there is no database at %s", path)
		}
		store, err := models.Connect(ctx, db, slog.New(slog.DiscardHandler))
		if err != nil {
			return err
		}
		defer store.Close()
		r, err := store.Backup(ctx, to)
		var merr *models.Error
		switch {
		case errors.As(err, &merr):
			return fmt.Errorf("%w: %s", errUsage, merr.Message)
		case err != nil:
			return err
		}
		fmt.Fprintf(e.out, "Backed up %s to %s in %s: %s, schema version %d, integrity ok.\n",
			path, r.Path, r.Took.Round(1e6), bytesText(r.Bytes), r.Version)
		fmt.Fprintf(e.out, "It holds %d jobs; %d of them waiting, scheduled or running, which a Kiln started on the copy runs.\n", r.Jobs, r.Unfinished)
		return nil
	})
}

// bytesText writes a size briefly: 512 B, 3.4 MiB, 1.2 GiB.
func bytesText(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	}
}

// redactPassword hides the password of a database URL, for printing it.
func redactPassword(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://..."
	}
	q := u.Query()
	for _, k := range []string{"password", "sslpassword"} {
		if q.Has(k) {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.Redacted()
}
