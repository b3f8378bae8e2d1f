package postgres

// The finish: a batch of attempt outcomes, applied to the jobs still processing in that run,
// with their events (but a success's, which the row tells), the count changes and the overview's stats, in one statement. Releasing
// continuations, which most batches don't need, stays in the transaction around it: its probe
// for waiting jobs must be a statement of its own, to see a continuation committed while this
// statement waited for its parent's lock.
//
// The jobs are found by id. The state they must be in comes from f (materialized, so opaque to
// the planner), not a literal, so that the planner can't read them through the state index
// alone: statistics that saw few jobs processing made it hash-join the batch with every
// (processing, id) entry, and after a burst those are 200,000 dead ones until VACUUM: a one-job
// finish took 15 ms instead of 0.3, and the pickup p99 at 100 jobs/s went from 1.3 to 4.5 ms
// (kiln bench, 2,000 workers).

import (
	"fmt"

	"gorm.io/gorm"

	"github.com/kilnhq/kiln/models/driver"
)

const (
	// finishSQL: $1 the outcomes (driver.FinishRow, JSON), $2 when the batch finished, $3 the
	// stats rows' node.
	finishSQL = `WITH f AS MATERIALIZED (
	SELECT x.*, 'processing'::text AS running FROM jsonb_to_recordset($1::jsonb) AS x(id bigint, state text,
		error text, finished_at timestamptz, result text, run_at timestamptz, refund int, server text, attempt int,
		run int, at timestamptz, reason text, duration bigint)),
done AS (
	UPDATE jobs SET state = f.state, lease_until = NULL, last_error = f.error, finished_at = f.finished_at,
		progress = CASE WHEN f.state = 'succeeded' THEN 100 ELSE jobs.progress END,
		result = CASE WHEN f.state = 'succeeded' THEN f.result ELSE jobs.result END,
		run_at = COALESCE(f.run_at, jobs.run_at), attempt = jobs.attempt - f.refund
	FROM f
	WHERE jobs.id = f.id AND jobs.state = f.running AND jobs.server_id = f.server AND jobs.runs = f.run
	RETURNING jobs.id, jobs.queue, jobs.kind),
applied AS (SELECT f.*, done.queue, done.kind FROM f JOIN done ON done.id = f.id),
events AS (
	INSERT INTO job_events (job_id, from_state, to_state, at, attempt, server_id, reason, error, duration)
	SELECT id, 'processing', state, at, attempt, server, reason, error, duration FROM applied
	WHERE state <> 'succeeded'),
counts AS (
	INSERT INTO job_queue_count_deltas (queue, kind, state, delta)
	SELECT queue, kind, state, sum(d) FROM (
		SELECT queue, kind, 'processing' AS state, -1 AS d FROM applied
		UNION ALL SELECT queue, kind, state, 1 FROM applied) AS c
	GROUP BY queue, kind, state),
stats AS (
	INSERT INTO job_stats (period, bucket, node, succeeded, failed, rescued)
	SELECT p.period, date_trunc(p.unit, $2::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', $3::integer,
		count(*) FILTER (WHERE a.state = 'succeeded'), count(*) FILTER (WHERE a.state = 'failed'), 0
	FROM applied AS a CROSS JOIN (VALUES ('s', 'second'), ('h', 'hour')) AS p(period, unit)
	GROUP BY p.period, p.unit
	HAVING count(*) FILTER (WHERE a.state IN ('succeeded', 'failed')) > 0
	ORDER BY p.period DESC -- the second's row, then the hour's, as every writer of stats does
	ON CONFLICT (period, bucket, node) DO UPDATE SET succeeded = job_stats.succeeded + excluded.succeeded,
		failed = job_stats.failed + excluded.failed),
kinds AS (
	-- models.DurationSlot in SQL: slot s holds 2^(s/2) to 2^((s+1)/2) microseconds.
	INSERT INTO kind_stats (bucket, kind, node, slot, succeeded, failed, total_ns, max_ns)
	SELECT date_trunc('hour', $2::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', kind, $3::integer, slot,
		count(*) FILTER (WHERE state = 'succeeded'), count(*) FILTER (WHERE state = 'failed'), sum(d), max(d)
	FROM (SELECT kind, state, GREATEST(duration, 0) AS d,
			LEAST(` + slotsMax + `, floor(2 * ln(GREATEST(duration::float8 / 1000, 1)) / ln(2::float8))::integer) AS slot
		FROM applied WHERE state IN ('succeeded', 'failed')) AS k
	GROUP BY kind, slot
	ORDER BY kind COLLATE "C", slot -- as every writer of kind stats does (Go's byte order)
	ON CONFLICT (bucket, kind, node, slot) DO UPDATE SET succeeded = kind_stats.succeeded + excluded.succeeded,
		failed = kind_stats.failed + excluded.failed, total_ns = kind_stats.total_ns + excluded.total_ns,
		max_ns = GREATEST(kind_stats.max_ns, excluded.max_ns))
SELECT id, queue, state FROM applied`
	// slotsMax is the last duration slot, models.KindStatSlots - 1.
	slotsMax = "79"
)

// Finish runs finishSQL, which writes the events, counts and stats too: p.Record is not needed.
func (h *hotPath) Finish(tx *gorm.DB, p driver.FinishParams) ([]driver.Finished, error) {
	stx, err := driver.SQLTx(tx)
	if err != nil {
		return nil, err
	}
	ctx := tx.Statement.Context
	res, err := stx.StmtContext(ctx, h.finish).QueryContext(ctx, p.JSON, p.At.UTC(), p.Node)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	var done []driver.Finished
	for res.Next() {
		var (
			f     driver.Finished
			state string // the outcome's, which the caller knows
		)
		if err := res.Scan(&f.ID, &f.Queue, &state); err != nil {
			return nil, fmt.Errorf("read finished job: %w", err)
		}
		done = append(done, f)
	}
	if err := res.Close(); err != nil {
		return nil, err
	}
	return done, res.Err()
}
