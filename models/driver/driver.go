// Package driver is what differs between the databases Kiln runs on, in the manner of River's
// riverdriver. models holds everything that is the same on both (the domain types, GORM for the
// simple reads and writes, the engine's transactions); a Driver gives the rest: how to connect,
// the hot path (HotPath: one method per operation, each with its params struct, its SQL and its
// transactions), the SQL of maintenance, row and table locks, the clock heartbeats are compared
// on, notifications between nodes, and the numbered migrations. Kiln has two drivers,
// models/sqlite and models/postgres, and every models test runs against both.
package driver

import (
	"context"
	"database/sql"
	"io/fs"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Conns are a store's connections.
type Conns struct {
	// Writer takes every write and transaction; Reader the reads outside transactions (it may
	// be Writer).
	Writer, Reader *gorm.DB
	// Close releases what the driver keeps besides the two pools (may be nil).
	Close func() error
}

// SQL are the statements models runs as they are, outside the hot path (HotPath). Placeholders
// are $n (bound by position) or ?.
type SQL struct {
	// Promote moves scheduled jobs whose run_at has come (?) to enqueued, at most ? of them,
	// returning id, queue and attempt.
	Promote string
	// ExtendLeases sets lease_until (?) of every processing job of server ?.
	ExtendLeases string
	// Rescue selects the processing jobs to take back, from these arguments: the asking
	// server's id, a claim time, and a JSON array of job ids (its own jobs claimed before that
	// time and not among those ids are taken); whether to take other servers' jobs, and its id
	// again; now, and whether to ignore leases (else only jobs whose lease ended before now);
	// the heartbeat time before which a server is silent (only silent or unregistered servers'
	// jobs are taken); the limit. See models.RescueJobs.
	Rescue string
	// Size returns the database's size on disk, in bytes.
	Size string
	// HasTable counts the tables named ? in the store's schema.
	HasTable string
	// MigrationTime is an SQL expression of goose's tstamp column as an instant (goose writes
	// it in the session's time zone on PostgreSQL, in UTC on SQLite).
	MigrationTime string
}

// Driver is one database. A Driver value belongs to one store: Connect may keep what it learns
// (the schema, for notifications).
type Driver interface {
	// Name is the dialect's name: "sqlite" or "postgres".
	Name() string
	// Connect opens the connections to dsn.
	Connect(ctx context.Context, dsn string, cfg *gorm.Config) (Conns, error)
	// SQL returns the driver's statements.
	SQL() SQL
	// HotPath prepares the statements of the hot path on db, the writer pool.
	HotPath(ctx context.Context, db *sql.DB) (HotPath, error)
	// Migrations returns the numbered migrations (00001_initial.sql, ...) and goose's name of
	// the dialect.
	Migrations() (fs.FS, string)
	// WithMigrationLock runs fn while no other node migrates the same schema.
	WithMigrationLock(ctx context.Context, db *gorm.DB, fn func() error) error
	// LockRows makes tx's next read lock the rows it reads: "UPDATE" or "SHARE", either
	// followed by " "+SkipLocked to leave out the rows another transaction holds. A database
	// with one writer at a time needs no row locks.
	LockRows(tx *gorm.DB, strength string) *gorm.DB
	// IDIn is the condition that column (a trusted name) holds one of ids, with the ids bound as
	// one parameter however many they are.
	IDIn(column string, ids []int64) clause.Expr
	// InsertRows stores p's rows in p.Table, in the caller's transaction tx, with a statement of
	// a fixed text, whatever their number.
	InsertRows(tx *gorm.DB, p InsertRowsParams) error
	// PrepareInsertRows prepares, on db (the writer pool, outside any transaction), the
	// statement InsertRows runs for p's table and columns; a driver that gains nothing by it
	// does nothing.
	PrepareInsertRows(ctx context.Context, db *sql.DB, p InsertRowsParams) error
	// LockJobs keeps other transactions from writing jobs until tx ends (for counting them).
	LockJobs(tx *gorm.DB) error
	// LockAudit keeps other transactions from appending to the audit trail, or pruning it,
	// until tx ends: each entry's hash covers the one before, so two appends at once would
	// fork the chain.
	LockAudit(tx *gorm.DB) error
	// Now is the time heartbeats are written with: a value or an SQL expression.
	Now() any
	// Ago is the time d before Now, as Now writes it.
	Ago(d time.Duration) any
	// ILike is the operator of a LIKE that ignores the case of ASCII letters (others match
	// as they are, on every database).
	ILike() string
	// JSONTime writes t as the Finish statement reads times from JSON.
	JSONTime(t time.Time) string
	// Shared reports whether several Kiln nodes on several machines may share the database.
	Shared() bool
	// Notify tells the other nodes, when tx commits, that jobs of queues are ready.
	Notify(tx *gorm.DB, queues []string) error
	// StorageFull reports whether err says the database's disk (or quota) is full.
	StorageFull(err error) bool
	// Unreachable reports whether err says the connection to the database failed (rather than
	// the statement).
	Unreachable(err error) bool
	// Refused reports whether err says the database refuses the data it was given (a value it
	// can't store, a constraint, a limit), so that trying again can't succeed; a lost
	// connection, a full disk, a lock or a deadlock are not refusals.
	Refused(err error) bool
	// Backup copies the database, consistently while others write to it, into the empty file
	// to. ErrNoFileBackup: the database is not a file Kiln can copy.
	Backup(ctx context.Context, db *gorm.DB, to string) error
	// CheckBackup opens a copy Backup made, read-only, and checks it.
	CheckBackup(ctx context.Context, path string) (BackupCheck, error)
	// Listen calls wake with the queue of every job another node makes ready, until ctx ends
	// or the connection fails (its error is returned). It calls connected once it listens.
	// ErrNoListen: the driver has no notifications (polling is all there is).
	Listen(ctx context.Context, wake func(queue string), connected func()) error
}

// BackupCheck is what CheckBackup found in a copy.
type BackupCheck struct {
	// Integrity is "ok", or the problems the database's own check found.
	Integrity string
	// Version is the copy's schema version.
	Version int64
	// Jobs are the jobs in the copy; Unfinished those waiting, scheduled, running or awaiting a
	// parent, which a Kiln started on the copy will run.
	Jobs, Unfinished int64
}

// ErrNoFileBackup is Backup's answer on a database that is not a file (PostgreSQL: pg_dump
// backs it up).
var ErrNoFileBackup = errNoFileBackup{}

type errNoFileBackup struct{}

func (errNoFileBackup) Error() string { return "driver: this database is backed up by its own tools" }

// ErrNoListen is Listen's answer on a database without notifications.
var ErrNoListen = errNoListen{}

type errNoListen struct{}

func (errNoListen) Error() string { return "driver: this database has no notifications" }

// SkipLocked, after a strength given to Driver.LockRows, leaves out of the read the rows that
// another transaction has locked, instead of waiting for it.
const SkipLocked = "SKIP LOCKED"
