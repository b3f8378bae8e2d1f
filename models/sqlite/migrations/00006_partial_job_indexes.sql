-- Most jobs have no parent, no recurring entry and no unique key. Their indexes hold only the
-- jobs that do, as on PostgreSQL. SQLite touches an index on an update only when its columns
-- change, so here this spares the entries an insert wrote.
-- Every query on these columns compares them with a value, which implies NOT NULL, so the
-- indexes serve them as before; ON CONFLICT (unique_key) names the predicate.

-- +goose Up
DROP INDEX "idx_jobs_parent_id";
CREATE INDEX "idx_jobs_parent_id" ON "jobs"("parent_id") WHERE parent_id IS NOT NULL;
DROP INDEX "idx_jobs_recurring_id";
CREATE INDEX "idx_jobs_recurring_id" ON "jobs"("recurring_id") WHERE recurring_id IS NOT NULL;
DROP INDEX "idx_jobs_unique_key";
CREATE UNIQUE INDEX "idx_jobs_unique_key" ON "jobs"("unique_key") WHERE unique_key IS NOT NULL;

-- +goose Down
DROP INDEX "idx_jobs_parent_id";
CREATE INDEX "idx_jobs_parent_id" ON "jobs"("parent_id");
DROP INDEX "idx_jobs_recurring_id";
CREATE INDEX "idx_jobs_recurring_id" ON "jobs"("recurring_id");
DROP INDEX "idx_jobs_unique_key";
CREATE UNIQUE INDEX "idx_jobs_unique_key" ON "jobs"("unique_key");
