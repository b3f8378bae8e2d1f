-- Workflows pass results and fan out. A step with for_each is one job per item: each item's
-- row names its index (item; NULL for a step that is not a fan-out). A fan-out over a
-- dependency's result is one job until that result is known: its row keeps the template of
-- the list (for_each) until the finish of its last dependency expands it. templated marks a
-- step whose arguments use its dependencies' results (${steps.NAME.result...}), filled in when
-- it is released. start_job_id is the job that started a run (a workflow.start job, as a
-- recurring entry enqueues): a job rescued after starting its run finds it, and starts no
-- second one. job_deps is read by the waiting job too (its dependencies' results, a retry's
-- graph, the run's page): an index on job_id.

-- +goose Up
ALTER TABLE workflow_steps ADD COLUMN item integer;
ALTER TABLE workflow_steps ADD COLUMN for_each text DEFAULT '' NOT NULL;
ALTER TABLE workflow_steps ADD COLUMN templated boolean DEFAULT false NOT NULL;
ALTER TABLE workflows ADD COLUMN start_job_id integer;
CREATE UNIQUE INDEX IF NOT EXISTS idx_workflows_start_job ON workflows (start_job_id);
CREATE INDEX IF NOT EXISTS idx_job_deps_job ON job_deps (job_id);
-- A fan-out's first item is found by its step and index, among thousands of items.
DROP INDEX IF EXISTS idx_workflow_steps_workflow;
CREATE INDEX IF NOT EXISTS idx_workflow_steps_item ON workflow_steps (workflow_id, step, item);

-- +goose Down
DROP INDEX IF EXISTS idx_workflow_steps_item;
CREATE INDEX IF NOT EXISTS idx_workflow_steps_workflow ON workflow_steps (workflow_id, step);
DROP INDEX IF EXISTS idx_job_deps_job;
DROP INDEX IF EXISTS idx_workflows_start_job;
ALTER TABLE workflows DROP COLUMN start_job_id;
ALTER TABLE workflow_steps DROP COLUMN templated;
ALTER TABLE workflow_steps DROP COLUMN for_each;
ALTER TABLE workflow_steps DROP COLUMN item;
