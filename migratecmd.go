package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"

	"github.com/peterbourgon/ff/v3"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/postgres"
	"github.com/kilnhq/kiln/models/sqlite"
)

const migrateUsage = `Usage:
  kiln migrate status    the database's schema version, and each migration: applied or pending
  kiln migrate up        apply the pending migrations (kiln also does this when it starts)

A database made by Kiln before versioned migrations is stamped at version 1 by "up" (or by
starting kiln), keeping its rows. A database migrated by a newer Kiln is refused.

Flags:
  --db PATH    the database, as for kiln (env KILN_DB, default data/kiln.db)
`

// runMigrateCommand runs "kiln migrate ..." and returns the exit code.
func runMigrateCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, migrateUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	verb := args[0]
	if verb != "status" && verb != "up" {
		fmt.Fprintf(stderr, "kiln migrate: unknown command %q\n\n%s", verb, migrateUsage)
		return 2
	}
	fs := flag.NewFlagSet("kiln migrate "+verb, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	db := fs.String("db", defaultDB, "database")
	if err := ff.Parse(fs, args[1:], ff.WithEnvVarPrefix(envPrefix), ff.WithIgnoreUndefined(true)); err != nil {
		fmt.Fprintf(stderr, "kiln migrate %s: %v\n\n%s", verb, err, migrateUsage)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kiln migrate %s: unexpected argument %q\n\n%s", verb, fs.Arg(0), migrateUsage)
		return 2
	}
	if verb == "status" && !postgres.Handles(*db) {
		if path := sqlite.FilePath(*db); path != "" {
			if _, err := os.Stat(path); err != nil {
				fmt.Fprintf(stderr, "kiln migrate status: there is no database at %s\n", path)
				return 1
			}
		}
	}
	store, err := models.Connect(ctx, *db, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintf(stderr, "kiln migrate %s: %v\n", verb, err)
		return 1
	}
	defer store.Close()
	if verb == "up" {
		applied, stamped, err := store.Migrate(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "kiln migrate up:", err)
			return 1
		}
		switch {
		case stamped:
			fmt.Fprintln(stdout, "The database was made before versioned migrations: stamped at version 1, its rows kept.")
		case len(applied) == 0:
			fmt.Fprintln(stdout, "Nothing to do: the schema is at the newest version this Kiln knows.")
		}
		for _, m := range applied {
			if !stamped || m.Version > 1 {
				fmt.Fprintf(stdout, "Applied %d (%s).\n", m.Version, m.Name)
			}
		}
	}
	st, err := store.SchemaStatus(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "kiln migrate %s: %v\n", verb, err)
		return 1
	}
	printSchemaStatus(stdout, store.Dialect(), st)
	if st.Current > st.Latest {
		return 1
	}
	return 0
}

func printSchemaStatus(w io.Writer, dialect models.Dialect, st *models.SchemaStatus) {
	switch {
	case st.Legacy:
		fmt.Fprintf(w, "Database (%s): made before versioned migrations; \"kiln migrate up\" or starting kiln stamps it at version 1.\n", dialect)
	case st.Current > st.Latest:
		fmt.Fprintf(w, "Database (%s): schema version %d, newer than this Kiln knows (%d); run the newer Kiln that migrated it.\n", dialect, st.Current, st.Latest)
	default:
		fmt.Fprintf(w, "Database (%s): schema version %d; this Kiln knows versions up to %d.\n", dialect, st.Current, st.Latest)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tMIGRATION\tAPPLIED")
	for _, m := range st.Migrations {
		applied := "pending"
		if !m.AppliedAt.IsZero() {
			applied = m.AppliedAt.Format("2006-01-02 15:04:05 MST")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", m.Version, m.Name, applied)
	}
	_ = tw.Flush()
}
