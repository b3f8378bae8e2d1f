package sqlite

// SQLite has one writer at a time (BEGIN IMMEDIATE), so a plain UPDATE ... WHERE id IN (SELECT
// ... LIMIT n) RETURNING claims a batch atomically. A paused queue is checked in the same
// statement, so a pause holds exactly, on every server, from its commit on. The state literals
// match the partial indexes (WHERE state = 'enqueued'), which SQLite only uses for a literal.
// ($n placeholders bind by position in SQLite too, so the statements read like PostgreSQL's.)

import "github.com/kilnhq/kiln/models/driver"

const (
	claimSQL = `UPDATE jobs SET state = 'processing', attempt = attempt + 1, runs = runs + 1, started_at = $1, lease_until = $2,
	server_id = $3, progress = 0, finished_at = NULL
WHERE id IN (
	SELECT id FROM jobs WHERE state = 'enqueued' AND queue = $4
		AND NOT EXISTS (SELECT 1 FROM queue_settings WHERE name = $4 AND paused = TRUE)
	ORDER BY priority DESC, run_at, id LIMIT $5)
RETURNING ` + driver.ClaimColumns

	// claimEventsSQL records the claim of the jobs whose ids $2 lists (a JSON array).
	claimEventsSQL = `INSERT INTO job_events (job_id, from_state, to_state, at, attempt, server_id, reason, error, duration)
SELECT id, 'enqueued', 'processing', $1, attempt, server_id, '', '', 0 FROM jobs
WHERE id IN (SELECT value FROM json_each($2))`

	// finishSQL applies a batch of outcomes ($1, a JSON array of finishRow) to the jobs
	// still Processing in that run (on that server, with that run count), and returns the ids it
	// changed. Each
	// outcome's JSON text is made once (MATERIALIZED), not once per field read from it. The unary
	// pluses keep the planner off the state index: it must walk the batch and look each job up
	// by id, not walk every processing job and scan the batch for it.
	finishSQL = `WITH r AS MATERIALIZED (SELECT value AS v FROM json_each($1))
UPDATE jobs SET state = f.state, lease_until = NULL, last_error = f.error, finished_at = f.finished_at,
	progress = CASE WHEN f.state = 'succeeded' THEN 100 ELSE jobs.progress END,
	result = CASE WHEN f.state = 'succeeded' THEN f.result ELSE jobs.result END,
	run_at = COALESCE(f.run_at, jobs.run_at), attempt = jobs.attempt - f.refund
FROM (SELECT v->>'id' AS id, v->>'state' AS state, v->>'error' AS error, v->>'finished_at' AS finished_at,
		v->>'result' AS result, v->>'run_at' AS run_at, v->>'refund' AS refund, v->>'server' AS server,
		v->>'run' AS run
	FROM r) AS f
WHERE jobs.id = f.id AND +jobs.state = 'processing' AND +jobs.server_id = f.server AND jobs.runs = f.run
RETURNING jobs.id, jobs.queue`

	// finishEventsSQL records the outcomes in $1 (the applied ones only).
	finishEventsSQL = `WITH r AS MATERIALIZED (SELECT value AS v FROM json_each($1))
INSERT INTO job_events (job_id, from_state, to_state, at, attempt, server_id, reason, error, duration)
SELECT v->>'id', 'processing', v->>'state', v->>'at', v->>'attempt', v->>'server', v->>'reason', v->>'error', v->>'duration'
FROM r`

	promoteSQL = `UPDATE jobs SET state = 'enqueued'
WHERE id IN (
	SELECT id FROM jobs WHERE state = 'scheduled' AND run_at <= ?
	ORDER BY run_at, id LIMIT ?)
RETURNING id, queue, attempt`

	extendLeasesSQL = `UPDATE jobs SET lease_until = ? WHERE state = 'processing' AND server_id = ?`

	rescueSQL = `SELECT id, server_id, attempt, queue, rescues, runs, lease_until < ? AS expired FROM jobs
WHERE state = 'processing' AND (lease_until < ? OR (? AND server_id <> ? AND NOT EXISTS (
	SELECT 1 FROM servers WHERE servers.id = jobs.server_id AND servers.heartbeat_at >= ?)))
ORDER BY id LIMIT ?`
)
