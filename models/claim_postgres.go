package models

// PostgreSQL lets many nodes claim at once: FOR UPDATE SKIP LOCKED hands each claimer rows no
// other transaction holds, so no job is claimed twice and no claimer waits for another.
const (
	postgresClaimSQL = `UPDATE jobs SET state = 'processing', attempt = attempt + 1, started_at = ?, lease_until = ?,
	server_id = ?, progress = 0, finished_at = NULL
WHERE id IN (
	SELECT id FROM jobs WHERE state = 'enqueued' AND queue = ?
		AND NOT EXISTS (SELECT 1 FROM queue_settings WHERE name = ? AND paused = TRUE)
	ORDER BY priority DESC, run_at, id LIMIT ?
	FOR UPDATE SKIP LOCKED)
RETURNING *`

	postgresPromoteSQL = `UPDATE jobs SET state = 'enqueued'
WHERE id IN (
	SELECT id FROM jobs WHERE state = 'scheduled' AND run_at <= ?
	ORDER BY run_at, id LIMIT ?
	FOR UPDATE SKIP LOCKED)
RETURNING id, queue, attempt`

	postgresExpiredSQL = `SELECT id, server_id, attempt, max_attempts, queue FROM jobs
WHERE state = 'processing' AND lease_until < ? ORDER BY id LIMIT ?
FOR UPDATE SKIP LOCKED`
)
