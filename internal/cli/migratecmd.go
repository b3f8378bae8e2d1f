package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/postgres"
	"github.com/kilnhq/kiln/models/sqlite"
	"github.com/peterbourgon/ff/v3/ffcli"
)

// migrateCommand shows and applies the database's schema migrations.
func (e *cliEnv) migrateCommand() *ffcli.Command {
	var db string
	about := "\n\nA database made by Kiln before versioned migrations is stamped at version 1 by \"up\" (or by\nstarting kiln), keeping its rows. A database migrated by a newer Kiln is refused."
	verb := func(name, help string) *ffcli.Command {
		return e.leaf(name, "kiln migrate "+name+" [--db PATH]", help+about, true, func(fs *flag.FlagSet) { dbFlag(fs, &db) }, func(ctx context.Context, pos []string) error {
			if err := noArgs(pos); err != nil {
				return err
			}
			return e.migrate(ctx, name, db)
		})
	}
	return e.group("migrate", "kiln migrate status|up ...", "show or apply the database's schema migrations"+about,
		verb("status", "the database's schema version, and each migration: applied or pending"),
		verb("up", "apply the pending migrations (kiln also does this when it starts)"))
}

// migrate runs "kiln migrate status" or "up" on the database db.
func (e *cliEnv) migrate(ctx context.Context, verb, db string) error {
	if verb == "status" && !postgres.Handles(db) {
		if path := sqlite.FilePath(db); path != "" {
			if _, err := os.Stat(path); err != nil {
				return fmt.Errorf("there is no database at %s", path)
			}
		}
	}
	store, err := models.Connect(ctx, db, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer store.Close()
	if verb == "up" {
		applied, stamped, err := store.Migrate(ctx)
		if err != nil {
			return err
		}
		switch {
		case stamped:
			fmt.Fprintln(e.out, "The database was made before versioned migrations: stamped at version 1, its rows kept.")
		case len(applied) == 0:
			fmt.Fprintln(e.out, "Nothing to do: the schema is at the newest version this Kiln knows.")
		}
		for _, m := range applied {
			if !stamped || m.Version > 1 {
				fmt.Fprintf(e.out, "Applied %d (%s).\n", m.Version, m.Name)
			}
		}
	}
	st, err := store.SchemaStatus(ctx)
	if err != nil {
		return err
	}
	printSchemaStatus(e.out, store.Dialect(), st)
	if st.Current > st.Latest {
		return errReported // the status says why
	}
	return nil
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
