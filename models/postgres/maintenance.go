package postgres

// Maintenance: promoting scheduled jobs, extending leases, finding jobs to rescue.

const (
	promoteSQL = `UPDATE jobs SET state = 'enqueued'
WHERE id IN (
	SELECT id FROM jobs WHERE state = 'scheduled' AND run_at <= ?
	ORDER BY run_at, id LIMIT ?
	FOR UPDATE SKIP LOCKED)
RETURNING id, queue, kind, attempt`
	extendLeasesSQL = `UPDATE jobs SET lease_until = ?
WHERE id IN (SELECT id FROM jobs WHERE state = 'processing' AND server_id = ? FOR UPDATE SKIP LOCKED)`
	rescueSQL = `SELECT id, server_id, attempt, queue, kind, rescues, runs, started_at, lease_until FROM jobs
WHERE state = 'processing' AND ((server_id = ? AND started_at < ? AND id NOT IN (SELECT jsonb_array_elements_text(?::jsonb)::bigint)) OR (? AND server_id <> ? AND (lease_until < ? OR ?) AND NOT EXISTS (
	SELECT 1 FROM servers WHERE servers.id = jobs.server_id AND servers.heartbeat_at >= ?)))
ORDER BY id LIMIT ?
FOR UPDATE SKIP LOCKED`
)
