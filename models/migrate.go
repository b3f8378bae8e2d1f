package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pressly/goose/v3"
)

// The schema is kept by numbered SQL migrations, one directory per driver (models/sqlite/migrations,
// models/postgres/migrations), embedded in the binary and applied by goose. A database records
// the migrations applied to it in versionTable; its version is the highest one. The schema is
// the migrations' alone: the domain types carry only what GORM needs to query (column names,
// keys), and a column DEFAULT that is also a Go default (DefaultQueue, DefaultMaxAttempts)
// repeats the constant, checked by TestMigrationDefaultsAreTheConstants.

// versionTable is goose's record of the migrations applied.
const versionTable = "kiln_schema_migrations"

// ErrSchemaTooNew is wrapped by the error of opening a database whose schema is newer than this
// build of Kiln knows: a newer Kiln migrated it.
var ErrSchemaTooNew = errors.New("models: database schema is newer than this Kiln")

// ErrSchemaDamaged is wrapped by the error of opening a database whose record of migrations has
// lost rows: which migrations it has can't be known.
var ErrSchemaDamaged = errors.New("models: the database's record of migrations is damaged")

// Migration is one migration and whether the database has it.
type Migration struct {
	Version   int64
	Name      string    // the file, e.g. 00001_initial.sql
	AppliedAt time.Time // zero when pending
}

// SchemaStatus is where a database's schema stands.
type SchemaStatus struct {
	Current    int64 // the database's version (0: none applied)
	Latest     int64 // the newest version this build knows
	Migrations []Migration
	// Legacy: the database was made before versioned migrations (by AutoMigrate) and is not
	// stamped yet; Migrate stamps it at version 1.
	Legacy bool
}

func (s *conn) provider(db *sql.DB) (*goose.Provider, error) {
	fsys, dialect := s.drv.Migrations()
	p, err := goose.NewProvider(goose.Dialect(dialect), db, fsys, goose.WithTableName(versionTable), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, fmt.Errorf("models: migrations: %w", err)
	}
	return p, nil
}

// Migrate brings the schema up to date; Open does it. A database made before versioned
// migrations is upgraded as that Kiln would have and stamped at version 1 first (stamped
// reports it); one whose schema is newer than this build knows is refused (ErrSchemaTooNew).
// Processes that start at once on one database take turns (the driver's migration lock: an
// advisory lock per schema on PostgreSQL, a lock file on SQLite), so no two run the same
// migration.
func (s *Store) Migrate(ctx context.Context) (applied []Migration, stamped bool, err error) {
	err = s.drv.WithMigrationLock(ctx, s.db, func() error {
		applied, stamped, err = s.migrate(ctx)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return applied, stamped, s.initJobCounts(s.db.WithContext(ctx))
}

func (s *conn) migrate(ctx context.Context) ([]Migration, bool, error) {
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, false, fmt.Errorf("models: migrate: %w", err)
	}
	st, err := s.schemaStatus(ctx, sqlDB)
	if err != nil {
		return nil, false, err
	}
	if st.Current > st.Latest {
		return nil, false, fmt.Errorf("%w: the database is at schema version %d and this Kiln knows versions up to %d; run the newer Kiln that migrated it (or restore a backup made before)", ErrSchemaTooNew, st.Current, st.Latest)
	}
	if st.Legacy {
		if err := upgradeLegacy(s.db.WithContext(ctx)); err != nil {
			return nil, false, err
		}
	}
	p, err := s.provider(sqlDB)
	if err != nil {
		return nil, false, err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("models: migrate: %w", err)
	}
	after, err := s.schemaStatus(ctx, sqlDB)
	if err != nil {
		return nil, false, err
	}
	when := map[int64]time.Time{}
	for _, m := range after.Migrations {
		when[m.Version] = m.AppliedAt
	}
	out := make([]Migration, 0, len(results))
	for _, r := range results {
		out = append(out, Migration{Version: r.Source.Version, Name: baseName(r.Source.Path), AppliedAt: when[r.Source.Version]})
	}
	return out, st.Legacy, nil
}

// SchemaStatus reports the database's schema version and each migration this build knows.
func (s *Store) SchemaStatus(ctx context.Context) (*SchemaStatus, error) {
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, fmt.Errorf("models: schema status: %w", err)
	}
	return s.schemaStatus(ctx, sqlDB)
}

func (s *conn) schemaStatus(ctx context.Context, sqlDB *sql.DB) (*SchemaStatus, error) {
	p, err := s.provider(sqlDB)
	if err != nil {
		return nil, err
	}
	st := &SchemaStatus{}
	for _, src := range p.ListSources() {
		st.Latest = max(st.Latest, src.Version)
	}
	versioned, err := s.hasTable(ctx, versionTable)
	if err != nil {
		return nil, err
	}
	applied := map[int64]time.Time{}
	if versioned {
		// As goose reads it: the database's version is the highest recorded, and a version is
		// applied when its latest row says so.
		var rows []struct {
			VersionID int64
			IsApplied bool
			At        time.Time
		}
		q := "SELECT version_id, is_applied, " + s.sql.MigrationTime + " AS at FROM " + versionTable + " ORDER BY id"
		if err := s.db.WithContext(ctx).Raw(q).Scan(&rows).Error; err != nil {
			return nil, fmt.Errorf("models: schema status: %w", err)
		}
		if len(rows) == 0 || rows[0].VersionID != 0 {
			return nil, fmt.Errorf("%w: %s has lost its first row (version 0), so which migrations the database has can't be known; restore the database from a backup, or ask for help with the issue tracker", ErrSchemaDamaged, versionTable)
		}
		for _, r := range rows[1:] {
			st.Current = max(st.Current, r.VersionID)
			if r.IsApplied {
				applied[r.VersionID] = r.At.UTC()
			} else {
				delete(applied, r.VersionID)
			}
		}
	} else if st.Legacy, err = s.hasTable(ctx, "jobs"); err != nil {
		return nil, err
	}
	for _, src := range p.ListSources() {
		st.Migrations = append(st.Migrations, Migration{Version: src.Version, Name: baseName(src.Path), AppliedAt: applied[src.Version]})
	}
	return st, nil
}

func (s *conn) hasTable(ctx context.Context, name string) (bool, error) {
	var n int64
	if err := s.db.WithContext(ctx).Raw(s.sql.HasTable, name).Scan(&n).Error; err != nil {
		return false, fmt.Errorf("models: look for table %s: %w", name, err)
	}
	return n > 0, nil
}

func baseName(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			return path[i+1:]
		}
	}
	return path
}
