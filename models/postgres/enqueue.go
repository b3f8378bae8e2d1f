package postgres

import (
	"context"
	"database/sql"
	"errors"

	"gorm.io/gorm"

	"github.com/kilnhq/kiln/models/driver"
)

// A job enqueued with a free worker waiting for it is stored already claimed, in one statement
// (no BEGIN or COMMIT): unless its queue is paused, its kind has limits or another of its jobs
// waits, the insert (its note on its row), its tags and its count change are one round trip. With $14 (Idle) the look for a waiting job is skipped.

// enqueueClaimedSQL: $1 kind, $2 queue, $3 priority, $4 args, $5 max attempts, $6 run at,
// $7 created (and started) at, $8 lease until, $9 server, $10 recurring id, $11 timeout,
// $12 tags, $13 note, $14 idle.
const enqueueClaimedSQL = `WITH ins AS (
	INSERT INTO jobs (kind, queue, priority, args, state, attempt, max_attempts, run_at, created_at,
		started_at, lease_until, server_id, last_error, continue_on, recurring_id, progress, timeout, result, runs, tags, note)
	SELECT $1::text, $2::text, $3::bigint, $4::text, 'processing', 1, $5::bigint, $6::timestamptz, $7::timestamptz,
		$7::timestamptz, $8::timestamptz, $9::text, '', '', $10::bigint, 0, $11::bigint, '', 1, $12::text, $13::text
	WHERE NOT EXISTS (SELECT 1 FROM queue_settings WHERE name = $2::text AND paused = TRUE)
		AND NOT EXISTS (SELECT 1 FROM kind_limits WHERE kind = $1::text)
		AND ($14::boolean OR (SELECT id FROM jobs WHERE state = 'enqueued' AND queue = $2::text
			ORDER BY priority DESC, run_at, id LIMIT 1) IS NULL)
	RETURNING id),
counts AS (
	INSERT INTO job_queue_count_deltas (queue, kind, state, delta) SELECT $2::text, $1::text, 'processing', 1 FROM ins),
tags AS (
	INSERT INTO job_tags (tag, job_id)
	SELECT t, id FROM ins, unnest(string_to_array(trim(both ',' from $12::text), ',')) AS t WHERE t <> '')
SELECT id FROM ins`

// EnqueueClaimed runs enqueueClaimedSQL; when it stores nothing, p.Otherwise in a transaction.
func (h *hotPath) EnqueueClaimed(ctx context.Context, db *gorm.DB, p driver.EnqueueClaimedParams) (int64, error) {
	if p.Also != nil {
		return h.enqueueClaimedTx(ctx, db, p)
	}
	conn, err := driver.WriterConn(ctx, db)
	if err != nil {
		return 0, err
	}
	var id int64
	err = conn.QueryRowContext(context.WithoutCancel(ctx), enqueueClaimedSQL, p.Kind, p.Queue, p.Priority, p.Args,
		p.MaxAttempts, p.RunAt, p.CreatedAt, p.LeaseUntil, p.ServerID, p.RecurringID, p.Timeout, p.Tags, p.Note, p.Idle).Scan(&id)
	_ = conn.Close()
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	// Paused, limited, or a job of its queue waits.
	return 0, db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, tx = driver.RunToEnd(ctx, tx)
		return p.Otherwise(tx)
	})
}

// enqueueClaimedTx is EnqueueClaimed in a transaction, with p.Also after the insert or
// p.Otherwise.
func (*hotPath) enqueueClaimedTx(ctx context.Context, db *gorm.DB, p driver.EnqueueClaimedParams) (int64, error) {
	var id int64
	err := db.WithContext(ctx).Transaction(func(gtx *gorm.DB) error {
		id = 0
		ctx, gtx := driver.RunToEnd(ctx, gtx)
		tx, err := driver.SQLTx(gtx)
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, enqueueClaimedSQL, p.Kind, p.Queue, p.Priority, p.Args, p.MaxAttempts, p.RunAt,
			p.CreatedAt, p.LeaseUntil, p.ServerID, p.RecurringID, p.Timeout, p.Tags, p.Note, p.Idle).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) { // paused, limited, or a job of its queue waits
			id = 0
			if err := p.Otherwise(gtx); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		return p.Also(gtx, id)
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}
