package driver

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// HotPath is what a busy server runs most: claims, finishes and the insert of a job straight to
// a free worker. Each method is one operation with its params; how many statements and
// transactions it takes is the driver's (PostgreSQL: one statement that also writes the counts;
// SQLite: the statement, then the core's bookkeeping through the params' Record, in one
// transaction). A driver prepares its statements once, on the writer pool (Driver.HotPath).
type HotPath interface {
	// Claim moves up to p.Limit enqueued jobs of p.Queue (unless it is paused, and but jobs of
	// kinds with limits) to processing for p.ServerID, with their count changes, and returns
	// them in any order. Waiting for a connection heeds ctx; once sent, the claim runs to its
	// end and its rows are read: a claim committed but never read would leave its jobs
	// processing until their leases ran out.
	Claim(ctx context.Context, db *gorm.DB, p ClaimParams) ([]ClaimedJob, error)
	// ClaimCandidates returns, in the queue's order, up to p.Limit enqueued jobs of p.Queue
	// that the capped claim may take (unless the queue is paused), locked against other
	// nodes' capped claims where several claim at once. It runs in the capped claim's
	// transaction tx.
	ClaimCandidates(tx *gorm.DB, p CandidateParams) ([]Candidate, error)
	// ClaimLimited moves the jobs p.IDs that are still enqueued to processing for p.ServerID
	// and returns them: the capped claim's last step, in its transaction tx. It writes no
	// counts and no rates: the core writes both after it, in the same transaction.
	ClaimLimited(tx *gorm.DB, p ClaimLimitedParams) ([]ClaimedJob, error)
	// EnqueueClaimed stores a new job already claimed, unless its queue is paused or has a
	// waiting job or its kind has limits: then it stores it waiting (p.Otherwise), and returns
	// id 0. Waiting for a connection heeds ctx; once sent, the insert runs to its end, so that a
	// job stored is never taken for one that was not.
	EnqueueClaimed(ctx context.Context, db *gorm.DB, p EnqueueClaimedParams) (id int64, err error)
	// InsertJobs stores p.Rows, in the caller's transaction tx, and sets their IDs.
	InsertJobs(tx *gorm.DB, p InsertParams) error
	// Finish applies a batch of outcomes to the jobs still processing in that run, with
	// their events (but a success's, which the row tells), count changes and stats, in tx. It
	// returns each job it changed.
	Finish(tx *gorm.DB, p FinishParams) ([]Finished, error)
	// Close releases the prepared statements.
	Close() error
}

// ClaimColumns are what a claim returns of each job claimed, in the order ClaimedJob.scan reads
// them.
const ClaimColumns = `id, kind, queue, priority, args, attempt, max_attempts, run_at, created_at, last_error,
	unique_key, parent_id, continue_on, recurring_id, timeout, result, rescues, runs, tags`

// ClaimedJob is a job as a claim returns it (ClaimColumns); the claim itself says the rest
// (its state, server, start and lease).
type ClaimedJob struct {
	ID                   int64
	Kind, Queue          string
	Priority             int
	Args                 string
	Attempt, MaxAttempts int
	RunAt, CreatedAt     time.Time
	LastError            string
	UniqueKey            *string
	ParentID             *int64
	ContinueOn           string
	RecurringID          *int64
	Timeout              time.Duration
	Result               string
	Rescues, Runs        int
	Tags                 string
}

// scan reads one row of ClaimColumns.
func (j *ClaimedJob) scan(rows *sql.Rows) error {
	return rows.Scan(&j.ID, &j.Kind, &j.Queue, &j.Priority, &j.Args, &j.Attempt, &j.MaxAttempts, &j.RunAt,
		&j.CreatedAt, &j.LastError, &j.UniqueKey, &j.ParentID, &j.ContinueOn, &j.RecurringID, &j.Timeout, &j.Result,
		&j.Rescues, &j.Runs, &j.Tags)
}

// ScanClaimed reads every row of a claim (ClaimColumns) and closes rows.
func ScanClaimed(rows *sql.Rows) ([]ClaimedJob, error) {
	defer rows.Close()
	var jobs []ClaimedJob
	for rows.Next() {
		jobs = append(jobs, ClaimedJob{})
		if err := jobs[len(jobs)-1].scan(rows); err != nil {
			return nil, err
		}
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	return jobs, rows.Err()
}

// ClaimParams says what a worker pool asks for.
type ClaimParams struct {
	Queue    string
	ServerID string
	Limit    int
	// StartedAt is the claim's time; LeaseUntil the end of the claimed jobs' lease.
	StartedAt, LeaseUntil time.Time
	// Record writes, in the claim's transaction tx, the count changes of the jobs claimed: a
	// driver whose claim statement does not write them itself calls it, when it claimed jobs.
	Record func(tx *gorm.DB, claimed []ClaimedJob) error
}

// CandidateParams says where the capped claim looks for jobs.
type CandidateParams struct {
	Queue string
	// Skip are the kinds with no free slot; Taken the jobs already picked.
	Skip  []string
	Taken []int64
	Limit int
}

// Candidate is a job the capped claim may take.
type Candidate struct {
	ID   int64
	Kind string
}

// ClaimLimitedParams are the jobs the capped claim picked, and the claim.
type ClaimLimitedParams struct {
	IDs                   []int64
	ServerID              string
	StartedAt, LeaseUntil time.Time
}

// RunToEnd lets the statements of a short write transaction run to their end once started: a
// cancellable context costs a goroutine and two channel handoffs per statement and per row in
// go-sqlite3, which watches the context while SQLite works. Cancelling ctx still rolls back the
// transaction as a whole, as database/sql watches it from BeginTx on.
func RunToEnd(ctx context.Context, tx *gorm.DB) (context.Context, *gorm.DB) {
	ctx = context.WithoutCancel(ctx)
	return ctx, tx.WithContext(ctx)
}

// SQLTx is the database/sql transaction under a GORM transaction.
func SQLTx(tx *gorm.DB) (*sql.Tx, error) {
	t, ok := tx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		return nil, fmt.Errorf("models: %T is not a transaction", tx.Statement.ConnPool)
	}
	return t, nil
}

// WriterConn takes a connection of db's pool, waiting no longer than ctx allows, for a statement
// that is then sent without ctx: once sent it must run to the end.
func WriterConn(ctx context.Context, db *gorm.DB) (*sql.Conn, error) {
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	return sqlDB.Conn(ctx)
}

// Prepare prepares each statement of stmts (a pointer to where it goes, and its text) on db,
// closing those it prepared if one fails.
func Prepare(ctx context.Context, db *sql.DB, stmts map[**sql.Stmt]string) error {
	for st, q := range stmts {
		var err error
		if *st, err = db.PrepareContext(ctx, q); err != nil {
			for other := range stmts {
				if *other != nil {
					_ = (*other).Close()
				}
			}
			return fmt.Errorf("models: prepare %.40q: %w", q, err)
		}
	}
	return nil
}

// CloseStmts closes the prepared statements that are set.
func CloseStmts(stmts ...*sql.Stmt) error {
	var first error
	for _, st := range stmts {
		if st == nil {
			continue
		}
		if err := st.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
