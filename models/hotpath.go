package models

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/kilnhq/kiln/models/driver"
)

// Claims and finishes are most of what a busy server writes, so they skip GORM: their
// statements are prepared once per connection, read rows without reflection and record their
// events with set-based statements over the batch instead of one INSERT per job.

// claimedJob is a job the driver claimed as p at now.
func claimedJob(c driver.ClaimedJob, p ClaimParams, now time.Time) *Job {
	until := now.Add(p.Lease)
	return &Job{ID: c.ID, Kind: c.Kind, Queue: c.Queue, Priority: c.Priority, Args: c.Args, State: JobProcessing,
		Attempt: c.Attempt, MaxAttempts: c.MaxAttempts, RunAt: c.RunAt.UTC(), CreatedAt: c.CreatedAt.UTC(),
		StartedAt: &now, LeaseUntil: &until, ServerID: p.ServerID, LastError: c.LastError, UniqueKey: c.UniqueKey,
		ParentID: c.ParentID, ContinueOn: c.ContinueOn, RecurringID: c.RecurringID, Rescues: c.Rescues, Runs: c.Runs,
		Timeout: c.Timeout, Result: c.Result, Tags: c.Tags}
}

// claimedJobs are the jobs the driver claimed as p at now, in the order they are to run.
func claimedJobs(claimed []driver.ClaimedJob, p ClaimParams, now time.Time) []*Job {
	if len(claimed) == 0 {
		return nil
	}
	jobs := make([]*Job, len(claimed))
	for i, c := range claimed {
		jobs[i] = claimedJob(c, p, now)
	}
	sortClaimed(jobs)
	return jobs
}

// hotStmts are the core's prepared statements of the hot path (the driver's are in its
// driver.HotPath). database/sql prepares each on a connection the first time a transaction there
// uses it, and keeps it.
type hotStmts struct {
	// countDelta appends one counter change.
	countDelta *sql.Stmt
	// kindStat and jobStat add to one row of the kinds' stats (addKindStats) and of the
	// overview's (addStats).
	kindStat, jobStat *sql.Stmt
	// auditTail reads the audit trail's last entry (appendAuditTx, once per group commit of
	// the API's audited enqueues).
	auditTail *sql.Stmt
}

const (
	auditTailSQL = `SELECT id, hash FROM audit_entries ORDER BY id DESC LIMIT 1`

	countDeltaSQL = `INSERT INTO job_queue_count_deltas (queue, kind, state, delta) VALUES ($1, $2, $3, $4)`

	jobStatSQL = `INSERT INTO job_stats (period, bucket, node, succeeded, failed, rescued) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (period, bucket, node) DO UPDATE SET succeeded = job_stats.succeeded + excluded.succeeded,
	failed = job_stats.failed + excluded.failed, rescued = job_stats.rescued + excluded.rescued`

	kindStatSQL = `INSERT INTO kind_stats (bucket, kind, node, slot, succeeded, failed, total_ns, max_ns)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (bucket, kind, node, slot) DO UPDATE SET succeeded = kind_stats.succeeded + excluded.succeeded,
	failed = kind_stats.failed + excluded.failed, total_ns = kind_stats.total_ns + excluded.total_ns,
	max_ns = CASE WHEN excluded.max_ns > kind_stats.max_ns THEN excluded.max_ns ELSE kind_stats.max_ns END`
)

func (s *conn) prepareHot(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	queries := map[**sql.Stmt]string{
		&s.hot.countDelta: countDeltaSQL,
		&s.hot.kindStat:   kindStatSQL,
		&s.hot.jobStat:    jobStatSQL,
		&s.hot.auditTail:  auditTailSQL,
	}
	if err := driver.Prepare(ctx, sqlDB, queries); err != nil {
		return err
	}
	if s.ops, err = s.drv.HotPath(ctx, sqlDB); err != nil {
		s.hot.close()
		return err
	}
	for _, m := range insertedModels {
		p, _, err := insertParams(s.db, m)
		if err == nil {
			err = s.drv.PrepareInsertRows(ctx, sqlDB, p)
		}
		if err != nil {
			s.hot.close()
			_ = s.ops.Close()
			return fmt.Errorf("models: prepare inserts into %s: %w", p.Table, err)
		}
	}
	return nil
}

func (h *hotStmts) close() {
	_ = driver.CloseStmts(h.countDelta, h.kindStat, h.jobStat, h.auditTail)
}

// runToEnd is driver.RunToEnd: the statements of a short write transaction run to their end.
func runToEnd(ctx context.Context, tx *gorm.DB) (context.Context, *gorm.DB) {
	return driver.RunToEnd(ctx, tx)
}

// txStmt is the prepared statement st in the database/sql transaction under tx, with tx's
// context: a write of the hot path that skips GORM inside a GORM transaction.
func txStmt(tx *gorm.DB, st *sql.Stmt) (*sql.Stmt, context.Context, error) {
	t, err := driver.SQLTx(tx)
	if err != nil {
		return nil, nil, err
	}
	ctx := tx.Statement.Context
	return t.StmtContext(ctx, st), ctx, nil
}

// jsonTime writes t as the dialect stores times, or nil for the zero time.
func (s *conn) jsonTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	v := s.drv.JSONTime(t.UTC().Truncate(time.Microsecond))
	return &v
}

// jsonText makes s safe to carry through JSON into a text column: PostgreSQL's jsonb refuses
// NUL characters, which no text column can hold anyway.
func jsonText(s string) string {
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "")
}
