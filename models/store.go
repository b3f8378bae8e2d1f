package models

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names the database behind a Store.
type Dialect string

// The supported dialects.
const (
	DialectSQLite   Dialect = "sqlite"
	DialectPostgres Dialect = "postgres"
)

// sqliteParams are the connection settings every SQLite database is opened with: WAL so readers
// never block the writer, a busy timeout instead of immediate "database is locked", foreign keys,
// no fsync per commit (safe in WAL), and BEGIN IMMEDIATE so read-then-write transactions take the
// write lock up front instead of failing when they try to upgrade.
var sqliteParams = [][2]string{
	{"_journal_mode", "WAL"},
	{"_busy_timeout", "5000"},
	{"_foreign_keys", "on"},
	{"_synchronous", "NORMAL"},
	{"_txlock", "immediate"},
}

// Store is Kiln's storage on SQLite or PostgreSQL, and the queries.
//
// SQLite allows one writer at a time. Writers that find the lock taken sleep in SQLite's busy
// handler (1 ms, 2 ms, 5 ms...) while the lock may already be free again, so Kiln gives SQLite
// one writer connection (db), where writes queue in Go and follow each other at once, and a pool
// of query-only reader connections (rdb), which WAL lets read while the writer writes. On
// PostgreSQL both are the same pool.
type Store struct {
	db      *gorm.DB // writes and transactions
	rdb     *gorm.DB // reads that are not part of a transaction
	dialect Dialect
	hot     hotStmts
	ckpt    *checkpointer // SQLite only

	searchWindow int64 // see DefaultSearchWindow

	// PostgreSQL: the URL, for the LISTEN connection, and this store's notifications.
	dsn, channel, origin string
}

// sqliteReaders is the size of SQLite's reader pool.
const sqliteReaders = 8

// Open connects to the database named by dsn and migrates it to the current schema.
// A dsn starting with postgres:// or postgresql:// opens PostgreSQL; anything else is a SQLite
// path (data/kiln.db) or URI (file:data/kiln.db?...), whose directory is created if missing.
func Open(ctx context.Context, dsn string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s, err := Connect(ctx, dsn, log)
	if err != nil {
		return nil, err
	}
	applied, err := s.Migrate(ctx)
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	for _, m := range applied {
		log.Info("models: migrated the database", "version", m.Version, "migration", m.Name)
	}
	if err := s.prepareHot(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// Connect connects to the database named by dsn (as Open) without touching its schema: for
// looking at the schema (SchemaStatus) and migrating it by hand (Migrate). Only a Store from
// Open serves jobs.
func Connect(ctx context.Context, dsn string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := &gorm.Config{
		Logger: newGormLogger(log),
		// Each of our writes is one statement or an explicit transaction.
		SkipDefaultTransaction: true,
		// PostgreSQL keeps microseconds; so do we, everywhere.
		NowFunc: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
		// Not PrepareStmt: although statement compilation is ~17% of the burn-down's CPU, GORM's
		// statement cache measured slower here (8.8k vs 9.5k jobs/s), mostly re-preparing per
		// transaction. Hand-prepared statements on the hot paths are the better fix.
	}
	s := &Store{searchWindow: DefaultSearchWindow}
	var err error
	if isPostgresDSN(dsn) {
		s.dialect = DialectPostgres
		if s.db, err = gorm.Open(postgres.Open(dsn), cfg); err == nil {
			s.rdb = s.db
			err = sizePostgresPool(s.db)
		}
	} else {
		s.dialect = DialectSQLite
		s.db, s.rdb, s.ckpt, err = openSQLite(dsn, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("models: open %s: %w", s.dialect, err)
	}
	if err := s.Ping(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("models: open %s: %w", s.dialect, err)
	}
	if s.dialect == DialectPostgres {
		var schema string
		if err := s.db.WithContext(ctx).Raw("SELECT current_schema()").Scan(&schema).Error; err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("models: open %s: %w", s.dialect, err)
		}
		s.dsn, s.channel, s.origin = dsn, notifyChannel(schema), newOrigin()
	}
	return s, nil
}

// openSQLite opens the writer (one connection), the reader pool (query-only connections) and
// the checkpointer.
func openSQLite(dsn string, cfg *gorm.Config) (writer, reader *gorm.DB, ckpt *checkpointer, err error) {
	uri, err := SQLiteDSN(dsn)
	if err != nil {
		return nil, nil, nil, err
	}
	if writer, err = gorm.Open(sqlite.New(sqlite.Config{DriverName: writerDriver(), DSN: uri}), cfg); err != nil {
		return nil, nil, nil, err
	}
	wdb, err := writer.DB()
	if err != nil {
		return nil, nil, nil, err
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	if reader, err = gorm.Open(sqlite.Open(uri+"&_query_only=true"), cfg); err != nil {
		_ = wdb.Close()
		return nil, nil, nil, err
	}
	rdb, err := reader.DB()
	if err != nil {
		_ = wdb.Close()
		return nil, nil, nil, err
	}
	rdb.SetMaxOpenConns(sqliteReaders)
	rdb.SetMaxIdleConns(sqliteReaders)
	if ckpt, err = startCheckpointer(uri); err != nil {
		_ = wdb.Close()
		_ = rdb.Close()
		return nil, nil, nil, err
	}
	return writer, reader, ckpt, nil
}

// postgresConns bounds a node's PostgreSQL connections. database/sql keeps only 2 idle
// connections by default: with workers, the completer, the fetchers and the dashboard at once,
// every other statement opened a new connection (a new server process, several milliseconds),
// and job code's simple statements took 8 ms each.
const postgresConns = 25

func sizePostgresPool(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	sqlDB.SetMaxOpenConns(postgresConns)
	sqlDB.SetMaxIdleConns(postgresConns)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	return nil
}

func isPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// SQLiteDSN turns a path or file: URI into the URI Kiln opens, adding each of Kiln's connection
// settings the caller did not set, and creates the database's directory.
func SQLiteDSN(dsn string) (string, error) {
	path, rawQuery, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	if path == "" {
		return "", Errorf(EINVALID, "empty SQLite database path")
	}
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", Errorf(EINVALID, "SQLite DSN %q: %v", dsn, err)
	}
	if path != ":memory:" && query.Get("mode") != "memory" {
		file, err := url.PathUnescape(path) // the file SQLite will open: it decodes a URI's %XX
		if err != nil {
			return "", Errorf(EINVALID, "SQLite DSN %q: %v", dsn, err)
		}
		if err := prepareSQLiteFiles(file); err != nil {
			return "", err
		}
	}
	for _, p := range sqliteParams {
		if !query.Has(p[0]) {
			query.Set(p[0], p[1])
		}
	}
	return "file:" + path + "?" + query.Encode(), nil
}

// prepareSQLiteFiles makes the database private to its owner before SQLite opens it: it holds
// session keys and password hashes. A missing directory is created 0700 and a missing database
// file 0600; SQLite gives the WAL and shared-memory files it creates the database file's mode.
// An existing database (and its WAL and SHM) readable by others is narrowed to 0600.
func prepareSQLiteFiles(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("models: create database directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("models: create database file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("models: create database file: %w", err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
			return fmt.Errorf("models: make %s private to its owner (it holds password hashes and session keys): %w; run Kiln as the file's owner, or chmod 600 it", p, err)
		}
	}
	return nil
}

// Dialect reports which database the store talks to.
func (s *Store) Dialect() Dialect { return s.dialect }

// dialectSQL picks the statement written for the store's dialect.
func (s *Store) dialectSQL(sqlite, postgres string) string {
	if s.dialect == DialectPostgres {
		return postgres
	}
	return sqlite
}

// DB returns the underlying GORM handle, for packages that extend the store (jobs) and for tests.
func (s *Store) DB() *gorm.DB { return s.db }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("models: ping: %w", err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("models: ping: %w", err)
	}
	return nil
}

// Size returns the database's size on disk in bytes (SQLite: the main file's pages; PostgreSQL:
// the whole database).
func (s *Store) Size(ctx context.Context) (int64, error) {
	q := "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
	if s.dialect == DialectPostgres {
		q = "SELECT pg_database_size(current_database())"
	}
	var n int64
	if err := s.rdb.WithContext(ctx).Raw(q).Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("models: database size: %w", err)
	}
	return n, nil
}

// Close closes the database connections.
func (s *Store) Close() error {
	s.hot.close()
	if s.ckpt != nil {
		if err := s.ckpt.close(); err != nil {
			return fmt.Errorf("models: close: %w", err)
		}
	}
	pools := []*gorm.DB{s.db}
	if s.rdb != nil && s.rdb != s.db {
		pools = append(pools, s.rdb)
	}
	for _, p := range pools {
		sqlDB, err := p.DB()
		if err != nil {
			return fmt.Errorf("models: close: %w", err)
		}
		if err := sqlDB.Close(); err != nil {
			return fmt.Errorf("models: close: %w", err)
		}
	}
	return nil
}

// newGormLogger routes GORM's messages through slog: slow queries (over 200 ms) as warnings,
// errors other than "record not found" as errors; parameters are never logged.
func newGormLogger(log *slog.Logger) logger.Interface {
	return logger.NewSlogLogger(log, logger.Config{
		SlowThreshold:             200 * time.Millisecond,
		LogLevel:                  logger.Warn,
		IgnoreRecordNotFoundError: true,
		ParameterizedQueries:      true,
	})
}
