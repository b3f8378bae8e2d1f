-- Workflows: a run of named steps, each a job, that wait for the steps they depend on.
-- workflows holds each run and how far it is (steps_left not yet in a final state, steps_failed
-- failed or cancelled); workflow_steps names each step's job and how many of its dependencies
-- are still to finish (deps_left) or finished without succeeding (deps_failed); job_deps is the
-- graph, one row per edge, read by the parent's id when it finishes.

-- +goose Up
CREATE TABLE IF NOT EXISTS workflows (
    id bigserial PRIMARY KEY,
    name varchar(200) NOT NULL,
    state varchar(20) NOT NULL,
    steps_total bigint NOT NULL,
    steps_left bigint NOT NULL,
    steps_failed bigint DEFAULT 0 NOT NULL,
    created_by varchar(128) DEFAULT '' NOT NULL,
    created_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone
);
CREATE INDEX IF NOT EXISTS idx_workflows_state_id ON workflows (state, id);
CREATE TABLE IF NOT EXISTS workflow_steps (
    job_id bigint PRIMARY KEY,
    workflow_id bigint NOT NULL,
    step varchar(100) NOT NULL,
    deps_left bigint DEFAULT 0 NOT NULL,
    deps_failed bigint DEFAULT 0 NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_workflow_steps_workflow ON workflow_steps (workflow_id, step);
CREATE TABLE IF NOT EXISTS job_deps (
    parent_id bigint NOT NULL,
    job_id bigint NOT NULL,
    PRIMARY KEY (parent_id, job_id)
);

-- +goose Down
DROP TABLE IF EXISTS job_deps;
DROP TABLE IF EXISTS workflow_steps;
DROP TABLE IF EXISTS workflows;
