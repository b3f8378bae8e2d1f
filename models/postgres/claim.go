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
)
