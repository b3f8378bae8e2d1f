// Package sqlite is Kiln's SQLite driver (see models/driver): one file database, one writer
// connection and a pool of readers, WAL, background checkpoints, and SQLite's SQL.
package sqlite

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	"github.com/kilnhq/kiln/models/driver"
)

//go:embed migrations/*.sql
var migrations embed.FS

// params are the connection settings every SQLite database is opened with: WAL so readers never
// block the writer, a busy timeout instead of immediate "database is locked", foreign keys, no
// fsync per commit (safe in WAL), and BEGIN IMMEDIATE so read-then-write transactions take the
// write lock up front instead of failing when they try to upgrade.
var params = [][2]string{
	{"_journal_mode", "WAL"},
	{"_busy_timeout", strconv.Itoa(int(busyTimeout / time.Millisecond))},
	{"_foreign_keys", "on"},
	{"_synchronous", "NORMAL"},
	{"_txlock", "immediate"},
}

// busyTimeout is how long a connection waits for SQLite's lock before "database is locked".
const busyTimeout = 5 * time.Second

// readers is the size of the reader pool.
const readers = 8

// Driver is the SQLite driver.
//
// SQLite allows one writer at a time. Writers that find the lock taken sleep in SQLite's busy
// handler (1 ms, 2 ms, 5 ms...) while the lock may already be free again, so the driver gives
// SQLite one writer connection, where writes queue in Go and follow each other at once, and a
// pool of query-only reader connections, which WAL lets read while the writer writes.
type Driver struct {
	// path is the database file ("" for an in-memory database), for the migration lock.
	path string
	// inserts are InsertRows's statements, prepared on the writer pool (PrepareInsertRows).
	inserts stmtCache
}

// New returns a SQLite driver.
func New() *Driver { return &Driver{} }

var _ driver.Driver = (*Driver)(nil)

// Name implements driver.Driver.
func (*Driver) Name() string { return "sqlite" }

// Connect opens the writer (one connection), the reader pool (query-only connections) and the
// checkpointer, on a path (data/kiln.db) or file: URI (see DSN).
func (d *Driver) Connect(_ context.Context, dsn string, cfg *gorm.Config) (driver.Conns, error) {
	uri, err := DSN(dsn)
	if err != nil {
		return driver.Conns{}, err
	}
	d.path = FilePath(dsn)
	writer, err := openWhenFree(func() (*gorm.DB, error) {
		return gorm.Open(sqlite.New(sqlite.Config{DriverName: writerDriver(), DSN: uri}), cfg)
	})
	if err != nil {
		return driver.Conns{}, err
	}
	wdb, err := writer.DB()
	if err != nil {
		return driver.Conns{}, err
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	reader, err := openWhenFree(func() (*gorm.DB, error) { return gorm.Open(sqlite.Open(uri+"&_query_only=true"), cfg) })
	if err != nil {
		_ = wdb.Close()
		return driver.Conns{}, err
	}
	rdb, err := reader.DB()
	if err != nil {
		_ = wdb.Close()
		return driver.Conns{}, err
	}
	rdb.SetMaxOpenConns(readers)
	rdb.SetMaxIdleConns(readers)
	ckpt, err := startCheckpointer(uri)
	if err != nil {
		_ = wdb.Close()
		_ = rdb.Close()
		return driver.Conns{}, err
	}
	return driver.Conns{Writer: writer, Reader: reader, Close: ckpt.close}, nil
}

// openWhenFree opens a connection, again while SQLite answers "database is locked" at once, for
// up to the busy timeout. Nodes that open one new database together race to switch it to WAL,
// and SQLite refuses one of them without waiting in its busy handler: 2 of 160 runs of
// TestConcurrentStartsMigrateOnce (5 nodes) failed so on a loaded machine. A moment later the
// database is in WAL mode and the open succeeds.
func openWhenFree(open func() (*gorm.DB, error)) (*gorm.DB, error) {
	deadline := time.Now().Add(busyTimeout)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		db, err := open()
		var serr sqlite3.Error
		if err == nil || !errors.As(err, &serr) || serr.Code != sqlite3.ErrBusy || time.Now().After(deadline) {
			return db, err
		}
		time.Sleep(wait)
	}
}

// DSN turns a path or file: URI into the URI Kiln opens, adding each of Kiln's connection
// settings the caller did not set, and creates the database's directory.
func DSN(dsn string) (string, error) {
	path, rawQuery, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	if path == "" {
		return "", fmt.Errorf("%w: empty SQLite database path", ErrBadDSN)
	}
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", fmt.Errorf("%w: SQLite DSN %q: %v", ErrBadDSN, dsn, err)
	}
	if path != ":memory:" && query.Get("mode") != "memory" {
		file, err := url.PathUnescape(path) // the file SQLite will open: it decodes a URI's %XX
		if err != nil {
			return "", fmt.Errorf("%w: SQLite DSN %q: %v", ErrBadDSN, dsn, err)
		}
		if err := prepareFiles(file); err != nil {
			return "", err
		}
	}
	for _, p := range params {
		if !query.Has(p[0]) {
			query.Set(p[0], p[1])
		}
	}
	return "file:" + path + "?" + query.Encode(), nil
}

// ErrBadDSN is wrapped by the errors about a SQLite DSN that can't be read.
var ErrBadDSN = fmt.Errorf("sqlite: bad DSN")

// prepareFiles makes the database private to its owner before SQLite opens it: it holds session
// keys and password hashes. A missing directory is created 0700 and a missing database file
// 0600; SQLite gives the WAL and shared-memory files it creates the database file's mode, and
// the migration lock (WithMigrationLock) is created 0600. An existing database (and its WAL,
// SHM and lock) readable by others is narrowed to 0600: whoever can open the lock file, even
// read-only, can hold its lock and keep Kiln waiting at start.
func prepareFiles(path string) error {
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
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal", path + "-migrate"} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		if strings.HasSuffix(p, "-migrate") {
			// It holds nothing, but whoever could open it may still hold it open (and locked)
			// after a chmod: a new file, made 0600 by lockFile, leaves them the old one.
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("models: remove %s, which others could lock: %w", p, err)
			}
			continue
		}
		if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
			return fmt.Errorf("models: make %s private to its owner (it holds password hashes and session keys): %w; run Kiln as the file's owner, or chmod 600 it", p, err)
		}
	}
	return nil
}

// SQL implements driver.Driver.
func (*Driver) SQL() driver.SQL {
	return driver.SQL{
		Promote: promoteSQL, ExtendLeases: extendLeasesSQL, Rescue: rescueSQL,
		Size:          "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
		HasTable:      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
		MigrationTime: "tstamp",
	}
}

// Migrations implements driver.Driver.
func (*Driver) Migrations() (fs.FS, string) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the directory is embedded above: this can't fail
	}
	return sub, "sqlite3"
}

// WithMigrationLock runs fn holding an exclusive lock on the file <database>-migrate, waited
// for, so that processes starting at once on one database (kiln, kiln user, kiln migrate) take
// turns: goose reads which migrations are applied outside its transactions, and two processes
// could otherwise both apply the same one.
func (d *Driver) WithMigrationLock(ctx context.Context, _ *gorm.DB, fn func() error) error {
	if d.path == "" {
		return fn() // in memory: one process
	}
	unlock, err := lockFile(ctx, d.path+"-migrate")
	if err != nil {
		return fmt.Errorf("models: migrate: lock: %w", err)
	}
	defer unlock()
	return fn()
}

// FilePath is the file a SQLite dsn names, or "" for an in-memory database.
func FilePath(dsn string) string {
	path, rawQuery, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	if q, _ := url.ParseQuery(rawQuery); path == ":memory:" || q.Get("mode") == "memory" {
		return ""
	}
	file, err := url.PathUnescape(path)
	if err != nil {
		return ""
	}
	return file
}

// LockRows returns tx as is: a write transaction holds the database's only write lock.
func (*Driver) LockRows(tx *gorm.DB, _ string) *gorm.DB { return tx }

// LockJobs does nothing, for the same reason.
func (*Driver) LockJobs(*gorm.DB) error { return nil }

// LockAudit does nothing either: a write transaction (_txlock=immediate) holds the write lock
// from its first statement.
func (*Driver) LockAudit(*gorm.DB) error { return nil }

// Now is this machine's clock: one machine uses a SQLite database.
func (*Driver) Now() any { return time.Now().UTC().Truncate(time.Microsecond) }

// Ago implements driver.Driver.
func (*Driver) Ago(d time.Duration) any { return time.Now().UTC().Add(-d) }

// ILike is LIKE, which ignores ASCII case in SQLite.
func (*Driver) ILike() string { return "LIKE" }

// JSONTime writes t as go-sqlite3 writes a bound time.Time, so that they compare and sort alike.
func (*Driver) JSONTime(t time.Time) string { return t.Format(sqlite3.SQLiteTimestampFormats[0]) }

// Shared is false: a SQLite database serves the processes of one machine.
func (*Driver) Shared() bool { return false }

// Notify does nothing: one process owns a SQLite database, and its engine wakes itself.
func (*Driver) Notify(*gorm.DB, []string) error { return nil }

// Listen returns driver.ErrNoListen.
func (*Driver) Listen(context.Context, func(string), func()) error { return driver.ErrNoListen }
