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
			AND NOT EXISTS (SELECT 1 FROM kind_limits WHERE kind_limits.kind = jobs.kind)
	ORDER BY priority DESC, run_at, id LIMIT $5)
RETURNING ` + driver.ClaimColumns
)
