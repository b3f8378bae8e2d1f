-- Alert rules and the alerts they open. A rule names its channels by name (a JSON array): the
-- channels are another table's, and a delivery to a channel that is gone fails on its own. One
-- alert of a rule and subject is open at a time (the partial unique index). alert_evaluation is
-- the lease row evaluations take turns on. Failed jobs are found by when they finished through
-- an index that only failed jobs enter (state first, so that SQLite's planner prefers it to
-- idx_jobs_state_id), so the burn-down of jobs that succeed writes nothing more.

-- +goose Up
CREATE TABLE "alert_rules" (
    "id" integer PRIMARY KEY AUTOINCREMENT,
    "name" text NOT NULL,
    "watch" text NOT NULL,
    "scope" text NOT NULL DEFAULT '',
    "target" text NOT NULL DEFAULT '',
    "threshold" integer NOT NULL DEFAULT 1,
    "within" integer NOT NULL DEFAULT 0,
    "grace" integer NOT NULL DEFAULT 0,
    "longer_than" integer NOT NULL DEFAULT 0,
    "channels" text NOT NULL DEFAULT '[]',
    "repeat_every" integer NOT NULL DEFAULT 0,
    "enabled" numeric NOT NULL DEFAULT true,
    "created_by" text NOT NULL DEFAULT '',
    "created_at" datetime NOT NULL,
    "checked_until" datetime NOT NULL
);
CREATE UNIQUE INDEX "idx_alert_rules_name" ON "alert_rules" ("name");
CREATE TABLE "alerts" (
    "id" integer PRIMARY KEY AUTOINCREMENT,
    "rule_id" integer NOT NULL,
    "subject" text NOT NULL,
    "state" text NOT NULL,
    "opened_at" datetime NOT NULL,
    "last_notified_at" datetime NOT NULL,
    "resolved_at" datetime,
    "count" integer NOT NULL DEFAULT 0,
    "job_ids" text NOT NULL DEFAULT '[]',
    "last_job_id" integer NOT NULL DEFAULT 0,
    "messages" integer NOT NULL DEFAULT 0,
    "acknowledged_by" text NOT NULL DEFAULT '',
    "acknowledged_at" datetime,
    "silenced_until" datetime
);
CREATE UNIQUE INDEX "idx_alerts_open" ON "alerts" ("rule_id", "subject") WHERE "state" = 'open';
CREATE INDEX "idx_alerts_state_id" ON "alerts" ("state", "id");
CREATE TABLE "alert_evaluation" (
    "id" integer PRIMARY KEY,
    "evaluated_at" datetime NOT NULL
);
INSERT INTO "alert_evaluation" ("id", "evaluated_at") VALUES (1, '1970-01-01 00:00:00+00:00');
CREATE INDEX "idx_jobs_failed_finished" ON "jobs" ("state", "finished_at") WHERE "state" = 'failed';

-- +goose Down
DROP INDEX "idx_jobs_failed_finished";
DROP TABLE "alert_evaluation";
DROP TABLE "alerts";
DROP TABLE "alert_rules";
