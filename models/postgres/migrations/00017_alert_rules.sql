-- Alert rules and the alerts they open. A rule names its channels by name (a JSON array): the
-- channels are another table's, and a delivery to a channel that is gone fails on its own. One
-- alert of a rule and subject is open at a time (the partial unique index), whichever node
-- evaluates. alert_evaluation is the lease row evaluations take turns on. Failed jobs are found
-- by when they finished through an index that only failed jobs enter (state first, so that
-- SQLite's planner prefers it to idx_jobs_state_id), so the burn-down of jobs
-- that succeed writes nothing more.

-- +goose Up
CREATE TABLE alert_rules (
    id bigserial PRIMARY KEY,
    name varchar(200) NOT NULL,
    watch varchar(30) NOT NULL,
    scope varchar(20) DEFAULT '' NOT NULL,
    target varchar(200) DEFAULT '' NOT NULL,
    threshold bigint DEFAULT 1 NOT NULL,
    within bigint DEFAULT 0 NOT NULL,
    grace bigint DEFAULT 0 NOT NULL,
    longer_than bigint DEFAULT 0 NOT NULL,
    channels text DEFAULT '[]' NOT NULL,
    repeat_every bigint DEFAULT 0 NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    created_by varchar(64) DEFAULT '' NOT NULL,
    created_at timestamp with time zone NOT NULL,
    checked_until timestamp with time zone NOT NULL
);
CREATE UNIQUE INDEX idx_alert_rules_name ON alert_rules (name);
CREATE TABLE alerts (
    id bigserial PRIMARY KEY,
    rule_id bigint NOT NULL,
    subject varchar(200) NOT NULL,
    state varchar(20) NOT NULL,
    opened_at timestamp with time zone NOT NULL,
    last_notified_at timestamp with time zone NOT NULL,
    resolved_at timestamp with time zone,
    count bigint DEFAULT 0 NOT NULL,
    job_ids text DEFAULT '[]' NOT NULL,
    last_job_id bigint DEFAULT 0 NOT NULL,
    messages bigint DEFAULT 0 NOT NULL,
    acknowledged_by varchar(200) DEFAULT '' NOT NULL,
    acknowledged_at timestamp with time zone,
    silenced_until timestamp with time zone
);
CREATE UNIQUE INDEX idx_alerts_open ON alerts (rule_id, subject) WHERE state = 'open';
CREATE INDEX idx_alerts_state_id ON alerts (state, id);
CREATE TABLE alert_evaluation (
    id bigint PRIMARY KEY,
    evaluated_at timestamp with time zone NOT NULL
);
INSERT INTO alert_evaluation (id, evaluated_at) VALUES (1, '1970-01-01 00:00:00+00');
CREATE INDEX idx_jobs_failed_finished ON jobs (state, finished_at) WHERE state = 'failed';
-- A recurring entry's newest jobs, read newest first (its last success, the runs of a missed
-- occurrence): the index on recurring_id gains id, as SQLite's has it (its rowid), for the same
-- writes.
DROP INDEX idx_jobs_recurring_id;
CREATE INDEX idx_jobs_recurring_id ON jobs (recurring_id, id);

-- +goose Down
DROP INDEX idx_jobs_recurring_id;
CREATE INDEX idx_jobs_recurring_id ON jobs (recurring_id);
DROP INDEX idx_jobs_failed_finished;
DROP TABLE alert_evaluation;
DROP TABLE alerts;
DROP TABLE alert_rules;
