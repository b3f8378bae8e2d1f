package sqlite

// A job enqueued with a free worker waiting for it is stored already claimed, in the
// transaction that looks whether it may be: unless its queue is paused, its kind has limits or
// another of its jobs waits. Its tags and count change are the core's (Record).

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/kilnhq/kiln/models/driver"
)

const (
	// jobWaitsSQL says whether a job of queue $1 waits, the queue is paused, or kind $2 has
	// limits. It asks for the next job the claim would take, in the claim index's order, so
	// that the database reads that index whatever its statistics say (PostgreSQL, whose
	// statistics last saw a backlog, chose a full scan for a plain EXISTS: 17 ms at 100,000
	// jobs).
	jobWaitsSQL = `SELECT (SELECT id FROM jobs WHERE state = 'enqueued' AND queue = $1
		ORDER BY priority DESC, run_at, id LIMIT 1) IS NOT NULL
	OR EXISTS (SELECT 1 FROM queue_settings WHERE name = $1 AND paused = TRUE)
	OR EXISTS (SELECT 1 FROM kind_limits WHERE kind = $2)`

	// insertClaimedSQL: $1 kind, $2 queue, $3 priority, $4 args, $5 max attempts, $6 run at,
	// $7 created (and started) at, $8 lease until, $9 server, $10 recurring id, $11 timeout,
	// $12 tags, $13 note.
	insertClaimedSQL = `INSERT INTO jobs (kind, queue, priority, args, state, attempt, max_attempts, run_at, created_at,
	started_at, lease_until, server_id, last_error, continue_on, recurring_id, progress, timeout, result, runs, tags, note)
VALUES ($1, $2, $3, $4, 'processing', 1, $5, $6, $7, $7, $8, $9, '', '', $10, 0, $11, '', 1, $12, $13)
RETURNING id`

	// insertJobSQL stores one job of InsertJobs, every column of driver.InsertRow.
	insertJobSQL = `INSERT INTO jobs (kind, queue, priority, args, state, attempt, max_attempts, run_at, created_at, started_at,
	finished_at, lease_until, server_id, last_error, parent_id, continue_on, recurring_id, rescues, runs, progress, timeout, result, tags, note)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`
)

// EnqueueClaimed implements driver.HotPath: the look, then the insert (its note on its row)
// and p.Record, or p.Otherwise, in one transaction. It always looks (p.Idle aside): SQLite's
// index holds no dead entries to walk.
func (h *hotPath) EnqueueClaimed(ctx context.Context, db *gorm.DB, p driver.EnqueueClaimedParams) (id int64, err error) {
	err = db.WithContext(ctx).Transaction(func(gtx *gorm.DB) error {
		id = 0
		ctx, gtx := driver.RunToEnd(ctx, gtx)
		tx, err := driver.SQLTx(gtx)
		if err != nil {
			return err
		}
		var blocked bool
		if err := tx.StmtContext(ctx, h.jobWaits).QueryRowContext(ctx, p.Queue, p.Kind).Scan(&blocked); err != nil {
			return fmt.Errorf("look for waiting jobs: %w", err)
		}
		if blocked {
			if err := p.Otherwise(gtx); err != nil || p.Also == nil {
				return err
			}
			return p.Also(gtx, 0)
		}
		err = tx.StmtContext(ctx, h.insertClaimed).QueryRowContext(ctx, p.Kind, p.Queue, p.Priority, p.Args,
			p.MaxAttempts, p.RunAt, p.CreatedAt, p.LeaseUntil, p.ServerID, p.RecurringID, p.Timeout, p.Tags, p.Note).Scan(&id)
		if err != nil { // the row tells the enqueue, its note and the claim (History)
			return err
		}
		if err := p.Record(gtx, id); err != nil || p.Also == nil {
			return err
		}
		return p.Also(gtx, id)
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

// InsertJobs implements driver.HotPath: the statement of one row, prepared once, run for each.
// GORM's multi-row INSERTs had a text of their own for each number of rows, which SQLite parsed
// and planned at every call: a third of the SQLite time of one-job POSTs, whose group commits
// insert a few rows each (kiln bench --api: 0.72 s of 2.2 s in sqlite3_prepare_v2). A row is a
// step of a statement already planned, in the transaction's one write lock.
func (h *hotPath) InsertJobs(gtx *gorm.DB, p driver.InsertParams) error {
	tx, err := driver.SQLTx(gtx)
	if err != nil {
		return err
	}
	ctx := gtx.Statement.Context
	if ctx == nil {
		ctx = context.Background()
	}
	stmt := tx.StmtContext(ctx, h.insertJob)
	defer stmt.Close()
	for i := range p.Rows {
		r := &p.Rows[i]
		res, err := stmt.ExecContext(ctx, r.Kind, r.Queue, r.Priority, r.Args, r.State, r.Attempt, r.MaxAttempts, r.RunAt, r.CreatedAt,
			r.StartedAt, r.FinishedAt, r.LeaseUntil, r.ServerID, r.LastError, r.ParentID, r.ContinueOn, r.RecurringID, r.Rescues, r.Runs,
			r.Progress, int64(r.Timeout), r.Result, r.Tags, r.Note)
		if err != nil {
			return fmt.Errorf("insert job %d of %d: %w", i+1, len(p.Rows), err)
		}
		if r.ID, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("insert job %d of %d: %w", i+1, len(p.Rows), err)
		}
	}
	return nil
}
