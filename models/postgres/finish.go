package postgres

// The finish: a batch of attempt outcomes, applied to the jobs still processing in that run.

const (
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
)
