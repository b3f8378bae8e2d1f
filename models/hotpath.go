package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Claims and finishes are most of what a busy server writes, so they skip GORM: their
// statements are prepared once per connection, read rows without reflection and record their
// events with set-based statements over the batch instead of one INSERT per job.

// scanClaimed reads one row of driver.ClaimColumns of a job claimed as p at now.
func scanClaimed(rows *sql.Rows, p ClaimParams, now time.Time) (*Job, error) {
	j := &Job{State: JobProcessing, ServerID: p.ServerID}
	err := rows.Scan(&j.ID, &j.Kind, &j.Queue, &j.Priority, &j.Args, &j.Attempt, &j.MaxAttempts, &j.RunAt,
		&j.CreatedAt, &j.LastError, &j.UniqueKey, &j.ParentID, &j.ContinueOn, &j.RecurringID, &j.Timeout, &j.Result, &j.Rescues, &j.Runs, &j.Tags)
	if err != nil {
		return nil, err
	}
	until := now.Add(p.Lease)
	j.StartedAt, j.LeaseUntil = &now, &until
	j.RunAt, j.CreatedAt = j.RunAt.UTC(), j.CreatedAt.UTC()
	return j, nil
}

// scanClaimedRows reads every row of a claim (driver.ClaimColumns) and closes rows.
func scanClaimedRows(rows *sql.Rows, p ClaimParams, now time.Time) ([]*Job, error) {
	defer rows.Close()
	var jobs []*Job
	for rows.Next() {
		j, err := scanClaimed(rows, p, now)
		if err != nil {
			return nil, fmt.Errorf("models: claim jobs: %w", err)
		}
		jobs = append(jobs, j)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("models: claim jobs: %w", err)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("models: claim jobs: %w", err)
	}
	return jobs, nil
}

// hotStmts are the prepared statements of claims and finishes. database/sql prepares each on a
// connection the first time a transaction there uses it, and keeps it.
type hotStmts struct {
	claim, finish, finishEvents *sql.Stmt
	// countDelta appends one counter change; jobWaits, insertClaimed and enqueuedEvent are an
	// enqueue's way straight to a free worker (InsertAndClaimJob).
	countDelta, jobWaits, insertClaimed, enqueuedEvent *sql.Stmt
	// kindStat and jobStat add to one row of the kinds' stats (addKindStats) and of the
	// overview's (addStats).
	kindStat, jobStat *sql.Stmt
}

const (
	countDeltaSQL = `INSERT INTO job_queue_count_deltas (queue, kind, state, delta) VALUES ($1, $2, $3, $4)`

	jobStatSQL = `INSERT INTO job_stats (period, bucket, node, succeeded, failed, rescued) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (period, bucket, node) DO UPDATE SET succeeded = job_stats.succeeded + excluded.succeeded,
	failed = job_stats.failed + excluded.failed, rescued = job_stats.rescued + excluded.rescued`

	kindStatSQL = `INSERT INTO kind_stats (bucket, kind, node, slot, succeeded, failed, total_ns, max_ns)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (bucket, kind, node, slot) DO UPDATE SET succeeded = kind_stats.succeeded + excluded.succeeded,
	failed = kind_stats.failed + excluded.failed, total_ns = kind_stats.total_ns + excluded.total_ns,
	max_ns = CASE WHEN excluded.max_ns > kind_stats.max_ns THEN excluded.max_ns ELSE kind_stats.max_ns END`

	// jobWaitsSQL says whether a job of queue $1 waits or the queue is paused. It asks for the
	// next job the claim would take, in the claim index's order, so that both databases read
	// that index whatever their statistics say: PostgreSQL, whose statistics last saw a backlog,
	// chose a full scan for a plain EXISTS (17 ms at 100,000 jobs), and would drop an ORDER BY
	// inside EXISTS.
	jobWaitsSQL = `SELECT (SELECT id FROM jobs WHERE state = 'enqueued' AND queue = $1
		ORDER BY priority DESC, run_at, id LIMIT 1) IS NOT NULL
	OR EXISTS (SELECT 1 FROM queue_settings WHERE name = $1 AND paused = TRUE)
	OR EXISTS (SELECT 1 FROM kind_limits WHERE kind = $2)`

	insertClaimedSQL = `INSERT INTO jobs (kind, queue, priority, args, state, attempt, max_attempts, run_at, created_at,
	started_at, lease_until, server_id, last_error, continue_on, recurring_id, progress, timeout, result, runs, tags)
VALUES ($1, $2, $3, $4, 'processing', 1, $5, $6, $7, $7, $8, $9, '', '', $10, 0, $11, '', 1, $12)
RETURNING id`

	// enqueuedEventSQL records the enqueue of a job stored claimed, when it has a note to keep.
	enqueuedEventSQL = `INSERT INTO job_events (job_id, from_state, to_state, at, attempt, server_id, reason, error, duration)
VALUES ($1, '', 'enqueued', $2, 0, '', $3, '', 0)`
)

func (s *conn) prepareHot(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	queries := map[**sql.Stmt]string{
		&s.hot.claim:         s.sql.Claim,
		&s.hot.finish:        s.sql.Finish,
		&s.hot.countDelta:    countDeltaSQL,
		&s.hot.kindStat:      kindStatSQL,
		&s.hot.jobStat:       jobStatSQL,
		&s.hot.jobWaits:      jobWaitsSQL,
		&s.hot.insertClaimed: insertClaimedSQL,
		&s.hot.enqueuedEvent: enqueuedEventSQL,
	}
	if s.sql.FinishEvents != "" {
		queries[&s.hot.finishEvents] = s.sql.FinishEvents
	}
	for stmt, q := range queries {
		if *stmt, err = sqlDB.PrepareContext(ctx, q); err != nil {
			return fmt.Errorf("models: prepare %.40q: %w", q, err)
		}
	}
	return nil
}

func (h *hotStmts) close() {
	for _, st := range []*sql.Stmt{h.claim, h.finish, h.finishEvents, h.countDelta, h.jobWaits, h.insertClaimed, h.enqueuedEvent, h.kindStat, h.jobStat} {
		if st != nil {
			_ = st.Close()
		}
	}
}

// runToEnd lets the statements of a short write transaction run to their end once started: a
// cancellable context costs a goroutine and two channel handoffs per statement and per row in
// go-sqlite3, which watches the context while SQLite works. Cancelling ctx still rolls back the
// transaction as a whole, as database/sql watches it from BeginTx on.
func runToEnd(ctx context.Context, tx *gorm.DB) (context.Context, *gorm.DB) {
	ctx = context.WithoutCancel(ctx)
	return ctx, tx.WithContext(ctx)
}

// txStmt is the prepared statement st in the database/sql transaction under tx, with tx's
// context: a write of the hot path that skips GORM inside a GORM transaction.
func txStmt(tx *gorm.DB, st *sql.Stmt) (*sql.Stmt, context.Context, error) {
	t, err := sqlTx(tx)
	if err != nil {
		return nil, nil, err
	}
	ctx := tx.Statement.Context
	return t.StmtContext(ctx, st), ctx, nil
}

// sqlTx is the database/sql transaction under a GORM transaction.
func sqlTx(tx *gorm.DB) (*sql.Tx, error) {
	t, ok := tx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		return nil, fmt.Errorf("models: %T is not a transaction", tx.Statement.ConnPool)
	}
	return t, nil
}

// jsonTime writes t as the dialect stores times, or nil for the zero time.
func (s *conn) jsonTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	v := s.drv.JSONTime(t.UTC().Truncate(time.Microsecond))
	return &v
}

// finishRow is one outcome as the finish statements read it from JSON.
type finishRow struct {
	ID         int64   `json:"id"`
	State      string  `json:"state"`
	Error      string  `json:"error"`
	FinishedAt *string `json:"finished_at"`
	Result     string  `json:"result"`
	RunAt      *string `json:"run_at"`
	Refund     int     `json:"refund"`
	Server     string  `json:"server"`
	Attempt    int     `json:"attempt"`
	Run        int     `json:"run"`
	At         *string `json:"at"`
	Reason     string  `json:"reason"`
	Duration   int64   `json:"duration"`
}

// jsonText makes s safe to carry through JSON into a text column: PostgreSQL's jsonb refuses
// NUL characters, which no text column can hold anyway.
func jsonText(s string) string {
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "")
}

func marshalRows(rows []finishRow) (string, error) {
	b, err := json.Marshal(rows)
	if err != nil {
		return "", fmt.Errorf("models: encode finished jobs: %w", err)
	}
	return string(b), nil
}
