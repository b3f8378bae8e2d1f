package models

// SQLite has one writer at a time (BEGIN IMMEDIATE), so a plain UPDATE ... WHERE id IN (SELECT
// ... LIMIT n) RETURNING claims a batch atomically. A paused queue is checked in the same
// statement, so a pause holds exactly, on every server, from its commit on. The state literals match the partial index
// idx_jobs_claim (WHERE state = 'enqueued'), which SQLite only uses for a literal.
const (
	sqliteClaimSQL = `UPDATE jobs SET state = 'processing', attempt = attempt + 1, started_at = ?, lease_until = ?,
	server_id = ?, progress = 0, finished_at = NULL
WHERE id IN (
	SELECT id FROM jobs WHERE state = 'enqueued' AND queue = ?
		AND NOT EXISTS (SELECT 1 FROM queue_settings WHERE name = ? AND paused = TRUE)
	ORDER BY priority DESC, run_at, id LIMIT ?)
RETURNING *`

	sqlitePromoteSQL = `UPDATE jobs SET state = 'enqueued'
WHERE id IN (
	SELECT id FROM jobs WHERE state = 'scheduled' AND run_at <= ?
	ORDER BY run_at, id LIMIT ?)
RETURNING id, queue, attempt`

	sqliteExpiredSQL = `SELECT id, server_id, attempt, max_attempts, queue FROM jobs
WHERE state = 'processing' AND lease_until < ? ORDER BY id LIMIT ?`
)
