package postgres

// PostgreSQL lets many nodes claim at once: FOR UPDATE SKIP LOCKED hands each claimer rows no
// other transaction holds, so no job is claimed twice and no claimer waits for another. Claims
// and finishes write their events in the same statement (a data-modifying WITH), one round trip
// each.

import "github.com/kilnhq/kiln/models/driver"

const (
	claimSQL = `WITH claimed AS (
	UPDATE jobs SET state = 'processing', attempt = attempt + 1, runs = runs + 1, started_at = $1, lease_until = $2,
		server_id = $3, progress = 0, finished_at = NULL
	WHERE id IN (
		SELECT id FROM jobs WHERE state = 'enqueued' AND queue = $4
			AND NOT EXISTS (SELECT 1 FROM queue_settings WHERE name = $4 AND paused = TRUE)
		ORDER BY priority DESC, run_at, id LIMIT $5
		FOR UPDATE SKIP LOCKED)
	RETURNING ` + driver.ClaimColumns + `),
events AS (
	INSERT INTO job_events (job_id, from_state, to_state, at, attempt, server_id, reason, error, duration)
	SELECT id, 'enqueued', 'processing', $1, attempt, $3, '', '', 0 FROM claimed)
SELECT ` + driver.ClaimColumns + ` FROM claimed`

	finishSQL = `WITH f AS (
	SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id bigint, state text, error text, finished_at timestamptz,
		result text, run_at timestamptz, refund int, server text, attempt int, run int, at timestamptz, reason text,
		duration bigint)),
done AS (
	UPDATE jobs SET state = f.state, lease_until = NULL, last_error = f.error, finished_at = f.finished_at,
		progress = CASE WHEN f.state = 'succeeded' THEN 100 ELSE jobs.progress END,
		result = CASE WHEN f.state = 'succeeded' THEN f.result ELSE jobs.result END,
		run_at = COALESCE(f.run_at, jobs.run_at), attempt = jobs.attempt - f.refund
	FROM f
	WHERE jobs.id = f.id AND jobs.state = 'processing' AND jobs.server_id = f.server AND jobs.runs = f.run
	RETURNING jobs.id, jobs.queue),
events AS (
	INSERT INTO job_events (job_id, from_state, to_state, at, attempt, server_id, reason, error, duration)
	SELECT f.id, 'processing', f.state, f.at, f.attempt, f.server, f.reason, f.error, f.duration FROM f JOIN done ON done.id = f.id)
SELECT id, queue FROM done`

	promoteSQL = `UPDATE jobs SET state = 'enqueued'
WHERE id IN (
	SELECT id FROM jobs WHERE state = 'scheduled' AND run_at <= ?
	ORDER BY run_at, id LIMIT ?
	FOR UPDATE SKIP LOCKED)
RETURNING id, queue, attempt`

	extendLeasesSQL = `UPDATE jobs SET lease_until = ?
WHERE id IN (SELECT id FROM jobs WHERE state = 'processing' AND server_id = ? FOR UPDATE SKIP LOCKED)`

	rescueSQL = `SELECT id, server_id, attempt, queue, rescues, runs, lease_until < ? AS expired FROM jobs
WHERE state = 'processing' AND (lease_until < ? OR (? AND server_id <> ? AND NOT EXISTS (
	SELECT 1 FROM servers WHERE servers.id = jobs.server_id AND servers.heartbeat_at >= ?)))
ORDER BY id LIMIT ?
FOR UPDATE SKIP LOCKED`
)
