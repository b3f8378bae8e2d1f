package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"

	"github.com/peterbourgon/ff/v3"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/postgres"
	"github.com/kilnhq/kiln/models/sqlite"
)

const backupUsage = `Usage:
  kiln backup --to FILE [--db PATH]

Copies a SQLite database into FILE, consistently, while Kiln runs on it (SQLite's VACUUM INTO:
the database as of one moment, compacted), then opens the copy read-only and checks it
(PRAGMA integrity_check, its schema version, its jobs). FILE must not exist; it is made
readable by its owner only, since it holds users, sessions, token hashes and sealed secrets.
To restore, stop Kiln and put the copy in place of the database (see the README, "Backup and
restore"). A PostgreSQL database is backed up with pg_dump; this command says how.

Flags:
  --to FILE    where to write the copy (required)
  --db PATH    the database, as for kiln (env KILN_DB, default data/kiln.db)
`

// pgDumpHowTo is what kiln backup says about a PostgreSQL database.
const pgDumpHowTo = `kiln backup copies SQLite databases. Back up PostgreSQL with its own tools, while Kiln runs:

  pg_dump --format=custom --file=kiln.dump "%s"

and restore into an empty database, with every node stopped:

  pg_restore --no-owner --dbname="postgres://USER:PASSWORD@HOST:5432/NEWDB" kiln.dump

(or take base backups with point-in-time recovery, as for any PostgreSQL database).
`

// runBackupCommand runs "kiln backup" and returns the exit code.
func runBackupCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(stderr, backupUsage)
		return 0
	}
	fs := flag.NewFlagSet("kiln backup", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	db := fs.String("db", defaultDB, "database")
	to := fs.String("to", "", "where to write the copy")
	if err := ff.Parse(fs, args, ff.WithEnvVarPrefix(envPrefix), ff.WithIgnoreUndefined(true)); err != nil {
		fmt.Fprintf(stderr, "kiln backup: %v\n\n%s", err, backupUsage)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kiln backup: unexpected argument %q\n\n%s", fs.Arg(0), backupUsage)
		return 2
	}
	if postgres.Handles(*db) {
		fmt.Fprintf(stderr, pgDumpHowTo, redactPassword(*db))
		return 1
	}
	if *to == "" {
		fmt.Fprintf(stderr, "kiln backup: --to FILE is required: where to write the copy\n\n%s", backupUsage)
		return 2
	}
	path := sqlite.FilePath(*db)
	if path == "" {
		fmt.Fprintln(stderr, "kiln backup: an in-memory database has nothing to back up")
		return 2
	}
	if _, err := os.Stat(path); err != nil {
		fmt.Fprintf(stderr, "kiln backup: there is no database at %s\n", path)
		return 1
	}
	store, err := models.Connect(ctx, *db, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintln(stderr, "kiln backup:", err)
		return 1
	}
	defer store.Close()
	r, err := store.Backup(ctx, *to)
	var merr *models.Error
	switch {
	case errors.As(err, &merr):
		fmt.Fprintln(stderr, "kiln backup:", merr.Message)
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "kiln backup:", err)
		return 1
	}
	fmt.Fprintf(stdout, "Backed up %s to %s in %s: %s, schema version %d, integrity ok.\n",
		path, r.Path, r.Took.Round(1e6), bytesText(r.Bytes), r.Version)
	fmt.Fprintf(stdout, "It holds %d jobs; %d of them waiting, scheduled or running, which a Kiln started on the copy runs.\n", r.Jobs, r.Unfinished)
	return 0
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
