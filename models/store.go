package models

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/kilnhq/kiln/models/driver"
	"github.com/kilnhq/kiln/models/postgres"
	"github.com/kilnhq/kiln/models/sqlite"
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

// Store is Kiln's storage on SQLite or PostgreSQL: one handle on the database, which hands out
// a store per domain. Each field is the domain's interface (contract.go), so that a caller, or a
// test, can put another in its place. What differs between the two databases is the driver's
// (models/driver): its connections, its SQL for the hot path and for maintenance, locks, clock
// and notifications.
type Store struct {
	*conn

	Jobs       JobStore       // the life of jobs as the engine drives it
	JobQueries JobQueries     // jobs and their history, for people
	Kinds      KindLimitStore // the kinds' caps and rates
	Recurring  RecurringStore // recurring jobs
	Servers    ServerStore    // the registry of running nodes
	Queues     QueueStore     // queues paused, and their counts
	Tasks      TaskStore      // the app's tasks
	Users      UserStore      // who may log in
	Sessions   SessionStore   // logins
	Tokens     TokenStore     // API tokens
	Secrets    SecretStore    // the sealed secrets jobs refer to
	Settings   SettingStore   // the node-wide generated secrets
	Channels   ChannelStore   // where alerts' messages go
	Rules      RuleStore      // alert rules and the alerts they open
	Audit      AuditStore     // who changed what: the audit trail
	Workflows  WorkflowStore  // runs of steps that wait for each other
}

// The domain stores, each the implementation of one interface of contract.go over the shared
// connections.
type (
	jobStore       struct{ *conn }
	jobQueries     struct{ *conn }
	kindStore      struct{ *conn }
	recurringStore struct{ *conn }
	serverStore    struct{ *conn }
	queueStore     struct{ *conn }
	taskStore      struct{ *conn }
	userStore      struct{ *conn }
	sessionStore   struct{ *conn }
	tokenStore     struct{ *conn }
	secretStore    struct{ *conn }
	settingStore   struct{ *conn }
	channelStore   struct{ *conn }
	ruleStore      struct{ *conn }
	auditStore     struct{ *conn }
	workflowStore  struct{ *conn }
)

var (
	_ JobStore       = jobStore{}
	_ JobQueries     = jobQueries{}
	_ KindLimitStore = kindStore{}
	_ RecurringStore = recurringStore{}
	_ ServerStore    = serverStore{}
	_ QueueStore     = queueStore{}
	_ TaskStore      = taskStore{}
	_ UserStore      = userStore{}
	_ SessionStore   = sessionStore{}
	_ TokenStore     = tokenStore{}
	_ SecretStore    = secretStore{}
	_ SettingStore   = settingStore{}
	_ ChannelStore   = channelStore{}
	_ RuleStore      = ruleStore{}
	_ AuditStore     = auditStore{}
)

// newStore hands c's connections to a store per domain.
func newStore(c *conn) *Store {
	return &Store{conn: c,
		Jobs: jobStore{c}, JobQueries: jobQueries{c}, Kinds: kindStore{c}, Recurring: recurringStore{c},
		Servers: serverStore{c}, Queues: queueStore{c}, Tasks: taskStore{c}, Users: userStore{c},
		Sessions: sessionStore{c}, Tokens: tokenStore{c}, Secrets: secretStore{c}, Settings: settingStore{c},
		Channels: channelStore{c}, Rules: ruleStore{c}, Audit: auditStore{c}, Workflows: workflowStore{c}}
}

// conn is what every domain store shares: the connections, the driver and the caches.
type conn struct {
	db      *gorm.DB // writes and transactions
	rdb     *gorm.DB // reads that are not part of a transaction (SQLite: query-only connections)
	drv     driver.Driver
	sql     driver.SQL
	closeFn func() error   // the driver's own cleanup, or nil
	hot     hotStmts       // the core's statements of the hot path
	ops     driver.HotPath // the driver's: claims, finishes, inserts

	searchWindow int64 // see DefaultSearchWindow
	// statNode names the rows of job_stats this store adds to: 0 on a database of one node,
	// a random number on one that nodes share, so that nodes never wait for each other's row.
	statNode int
	// kindLimits is the last read of the kinds' caps on running jobs.
	kindLimits limitCache
	// fanOuts are the fan-outs to store on that finishes saw (StoreFanOuts).
	fanOuts *fanOutHints
	// tokens are the API tokens read within the last tokenCacheFor.
	tokens *tokenCache
	// planner is when this store last refreshed the planner's statistics.
	planner *plannerStats
}

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
	applied, stamped, err := s.Migrate(ctx)
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	if stamped {
		log.Info("models: the database was made before versioned migrations: stamped at version 1, its rows kept")
	}
	for _, m := range applied {
		if !stamped || m.Version > 1 {
			log.Info("models: migrated the database", "version", m.Version, "migration", m.Name)
		}
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
	var drv driver.Driver = sqlite.New()
	if postgres.Handles(dsn) {
		drv = postgres.New()
	}
	cfg := &gorm.Config{
		Logger: newGormLogger(log, drv.Unreachable),
		// Each of our writes is one statement or an explicit transaction.
		SkipDefaultTransaction: true,
		// PostgreSQL keeps microseconds; so do we, everywhere.
		NowFunc: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
		// Not PrepareStmt: although statement compilation is ~17% of the burn-down's CPU, GORM's
		// statement cache measured slower here (8.8k vs 9.5k jobs/s), mostly re-preparing per
		// transaction. Hand-prepared statements on the hot paths are the better fix.
	}
	conns, err := drv.Connect(ctx, dsn, cfg)
	if errors.Is(err, sqlite.ErrBadDSN) {
		return nil, Errorf(EINVALID, "%v", err)
	}
	if err != nil {
		return nil, fmt.Errorf("models: open %s: %w", drv.Name(), err)
	}
	s := newStore(&conn{db: conns.Writer, rdb: conns.Reader, drv: drv, sql: drv.SQL(), closeFn: conns.Close, searchWindow: DefaultSearchWindow,
		fanOuts: newFanOutHints(), tokens: newTokenCache(), planner: &plannerStats{}})
	if s.drv.Shared() {
		s.statNode = 1 + rand.IntN(1<<30)
	}
	if err := s.Ping(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("models: open %s: %w", drv.Name(), err)
	}
	return s, nil
}

// Dialect reports which database the store talks to.
func (s *Store) Dialect() Dialect { return Dialect(s.drv.Name()) }

// Shared reports whether nodes on several machines may share the store's database (PostgreSQL),
// and so tell each other of the jobs they make ready.
func (s *conn) Shared() bool { return s.drv.Shared() }

// ToolDB is the store's writer connection, for tools that keep tables of their own beside
// Kiln's and read Kiln's to check them (kiln chaos records its probes' runs there). Kiln's own
// tables are changed through the store's methods only.
func (s *Store) ToolDB() *gorm.DB { return s.db }

// StorageFull reports whether err says the database's disk (or quota) is full: nothing could be
// written, and nothing was.
func (s *Store) StorageFull(err error) bool { return s.drv.StorageFull(err) }

// Unreachable reports whether err says the connection to the database failed, rather than the
// statement.
func (s *Store) Unreachable(err error) bool { return s.drv.Unreachable(err) }

// Refused reports whether err says the database refuses what it was given, so that the same
// write can't succeed later (see driver.Driver.Refused).
func (s *Store) Refused(err error) bool { return s.drv.Refused(err) }

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
	var n int64
	if err := s.rdb.WithContext(ctx).Raw(s.sql.Size).Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("models: database size: %w", err)
	}
	return n, nil
}

// Close closes the database connections.
func (s *Store) Close() error {
	s.hot.close()
	if s.ops != nil {
		_ = s.ops.Close()
	}
	if s.closeFn != nil {
		if err := s.closeFn(); err != nil {
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

// gormSlowQuery is how long a statement runs before GORM's log calls it slow.
const gormSlowQuery = 200 * time.Millisecond

// newGormLogger routes GORM's messages through slog: slow queries (over 200 ms) as warnings,
// errors other than "record not found" as errors; parameters are never logged. A statement
// that failed because the connection did (unreachable says) is left to its caller's log: in an
// outage every statement fails, and one line each from Kiln is enough.
func newGormLogger(log *slog.Logger, unreachable func(error) bool) logger.Interface {
	return quietTrace{Interface: logger.NewSlogLogger(log, logger.Config{
		SlowThreshold:             gormSlowQuery,
		LogLevel:                  logger.Warn,
		IgnoreRecordNotFoundError: true,
		ParameterizedQueries:      true,
	}), level: logger.Warn, unreachable: unreachable}
}

// quietTrace skips GORM's trace of a statement that went well and fast. GORM's slog logger
// builds each statement's text (a dialect's Explain, with regular expressions) before it
// decides there is nothing to log: 38% of kiln bench's CPU on PostgreSQL was spent there.
// It passes on the inner logger's ParamsFilter, so statements it does log never carry their
// parameters (job arguments, secrets), and traces every statement at level Info (db.Debug()).
type quietTrace struct {
	logger.Interface
	level       logger.LogLevel
	unreachable func(error) bool
}

func (q quietTrace) LogMode(level logger.LogLevel) logger.Interface {
	return quietTrace{Interface: q.Interface.LogMode(level), level: level, unreachable: q.unreachable}
}

func (q quietTrace) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	if q.level < logger.Info && (err == nil || errors.Is(err, logger.ErrRecordNotFound)) && time.Since(begin) <= gormSlowQuery {
		return
	}
	if q.level < logger.Info && err != nil && q.unreachable != nil && q.unreachable(err) {
		return
	}
	q.Interface.Trace(ctx, begin, fc, err)
}

// ParamsFilter implements gorm.ParamsFilter with the inner logger's.
func (q quietTrace) ParamsFilter(ctx context.Context, sql string, params ...any) (string, []any) {
	if f, ok := q.Interface.(gorm.ParamsFilter); ok {
		return f.ParamsFilter(ctx, sql, params...)
	}
	return sql, params
}
