-- Most jobs have no parent, no recurring entry and no unique key. Their indexes hold only the
-- jobs that do: every claim and finish writes a new version of the job's row, and each full
-- index got an entry for it, a NULL, always on the same last page. Measured with kiln bench on
-- PostgreSQL (2,000 workers, pg_stat_statements): a claim 14.2-15.3 -> 12.1 us per job.
-- Every query on these columns compares them with a value, which implies NOT NULL, so the
-- indexes serve them as before; ON CONFLICT (unique_key) names the predicate.

-- +goose Up
DROP INDEX idx_jobs_parent_id;
CREATE INDEX idx_jobs_parent_id ON jobs (parent_id) WHERE parent_id IS NOT NULL;
DROP INDEX idx_jobs_recurring_id;
CREATE INDEX idx_jobs_recurring_id ON jobs (recurring_id) WHERE recurring_id IS NOT NULL;
DROP INDEX idx_jobs_unique_key;
CREATE UNIQUE INDEX idx_jobs_unique_key ON jobs (unique_key) WHERE unique_key IS NOT NULL;

-- +goose Down
DROP INDEX idx_jobs_parent_id;
CREATE INDEX idx_jobs_parent_id ON jobs (parent_id);
DROP INDEX idx_jobs_recurring_id;
CREATE INDEX idx_jobs_recurring_id ON jobs (recurring_id);
DROP INDEX idx_jobs_unique_key;
CREATE UNIQUE INDEX idx_jobs_unique_key ON jobs (unique_key);
