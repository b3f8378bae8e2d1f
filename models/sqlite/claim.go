package sqlite

// Every way SQLite claims jobs. SQLite has one writer at a time (BEGIN IMMEDIATE), so a plain
// UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING claims a batch atomically. A paused
// queue is checked in the same statement, so a pause holds exactly, on every server, from its
// commit on. The state literals match the partial indexes (WHERE state = 'enqueued'), which
// SQLite only uses for a literal. ($n placeholders bind by position in SQLite too, so the
// statements read like PostgreSQL's.) While kinds have limits, the capped claim (models'
// claimLimited) picks jobs in its own transaction with ClaimCandidates, then claims them with
// ClaimLimited.

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/kilnhq/kiln/models/driver"
)

const (
	// claimSQL: $1 started at, $2 lease until, $3 server, $4 queue, $5 limit.
	claimSQL = `UPDATE jobs SET state = 'processing', attempt = attempt + 1, runs = runs + 1, started_at = $1, lease_until = $2,
	server_id = $3, progress = 0, finished_at = NULL
WHERE id IN (
	SELECT id FROM jobs WHERE state = 'enqueued' AND queue = $4
		AND NOT EXISTS (SELECT 1 FROM queue_settings WHERE name = $4 AND paused = TRUE)
			AND NOT EXISTS (SELECT 1 FROM kind_limits WHERE kind_limits.kind = jobs.kind)
	ORDER BY priority DESC, run_at, id LIMIT $5)
RETURNING ` + driver.ClaimColumns

	// claimLimitedSQL claims the jobs the capped claim picked that are still enqueued.
	claimLimitedSQL = `UPDATE jobs SET state = 'processing', attempt = attempt + 1, runs = runs + 1, started_at = ?, lease_until = ?,
			server_id = ?, progress = 0, finished_at = NULL WHERE id IN ? AND state = 'enqueued' RETURNING ` + driver.ClaimColumns
)

// Claim runs claimSQL and p.Record (the count changes) in one transaction.
func (h *hotPath) Claim(ctx context.Context, db *gorm.DB, p driver.ClaimParams) (jobs []driver.ClaimedJob, err error) {
	err = db.WithContext(ctx).Transaction(func(gtx *gorm.DB) error {
		jobs = nil
		ctx, gtx := driver.RunToEnd(ctx, gtx)
		tx, err := driver.SQLTx(gtx)
		if err != nil {
			return err
		}
		rows, err := tx.StmtContext(ctx, h.claim).QueryContext(ctx, p.StartedAt, p.LeaseUntil, p.ServerID, p.Queue, p.Limit)
		if err != nil {
			return err
		}
		if jobs, err = driver.ScanClaimed(rows); err != nil {
			return fmt.Errorf("read claimed job: %w", err)
		}
		if len(jobs) == 0 {
			return nil
		}
		return p.Record(gtx, jobs)
	})
	if err != nil {
		return nil, err
	}
	return jobs, nil
}

// ClaimCandidates implements driver.HotPath. It takes no row locks: the capped claim's
// transaction holds the database's only write lock.
func (*hotPath) ClaimCandidates(tx *gorm.DB, p driver.CandidateParams) ([]driver.Candidate, error) {
	q := tx.Table("jobs").Select("id, kind").
		Where("state = 'enqueued' AND queue = ? AND NOT EXISTS (SELECT 1 FROM queue_settings WHERE name = ? AND paused = ?)", p.Queue, p.Queue, true)
	if len(p.Skip) > 0 {
		q = q.Where("kind NOT IN ?", p.Skip)
	}
	if len(p.Taken) > 0 {
		q = q.Where("id NOT IN ?", p.Taken)
	}
	var out []driver.Candidate
	if err := q.Order("priority DESC, run_at, id").Limit(p.Limit).Scan(&out).Error; err != nil {
		return nil, err
	}
	return out, nil
}

// ClaimLimited implements driver.HotPath.
func (*hotPath) ClaimLimited(tx *gorm.DB, p driver.ClaimLimitedParams) ([]driver.ClaimedJob, error) {
	rows, err := tx.Raw(claimLimitedSQL, p.StartedAt, p.LeaseUntil, p.ServerID, p.IDs).Rows()
	if err != nil {
		return nil, err
	}
	return driver.ScanClaimed(rows)
}
