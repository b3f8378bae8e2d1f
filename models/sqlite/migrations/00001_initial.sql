-- Kiln's schema as it stood when migrations began: what GORM's AutoMigrate made. Every statement
-- is IF NOT EXISTS so that a database AutoMigrate made (before versioned migrations) takes this
-- migration as a no-op and is stamped at version 1; see legacy.go.

-- +goose Up
CREATE TABLE IF NOT EXISTS "tasks" (
    "id" integer PRIMARY KEY AUTOINCREMENT,
    "title" text NOT NULL,
    "description" text NOT NULL DEFAULT '',
    "due_at" datetime NOT NULL,
    "completed" numeric NOT NULL DEFAULT false,
    "completed_at" datetime,
    "completed_by" text NOT NULL DEFAULT '',
    "created_at" datetime,
    "updated_at" datetime
);
CREATE INDEX IF NOT EXISTS "idx_tasks_completed_due_at" ON "tasks"("completed","due_at");
CREATE TABLE IF NOT EXISTS "jobs" (
    "id" integer PRIMARY KEY AUTOINCREMENT,
    "kind" text NOT NULL,
    "queue" text NOT NULL DEFAULT 'default',
    "priority" integer NOT NULL DEFAULT 0,
    "args" text NOT NULL,
    "state" text NOT NULL,
    "attempt" integer NOT NULL DEFAULT 0,
    "max_attempts" integer NOT NULL DEFAULT 10,
    "run_at" datetime NOT NULL,
    "created_at" datetime NOT NULL,
    "started_at" datetime,
    "finished_at" datetime,
    "lease_until" datetime,
    "server_id" text NOT NULL DEFAULT '',
    "last_error" text NOT NULL DEFAULT '',
    "unique_key" text,
    "parent_id" integer,
    "continue_on" text NOT NULL DEFAULT '',
    "recurring_id" integer,
    "rescues" integer NOT NULL DEFAULT 0,
    "runs" integer NOT NULL DEFAULT 0,
    "progress" integer NOT NULL DEFAULT 0,
    "timeout" integer NOT NULL DEFAULT 0,
    "result" text NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS "idx_jobs_recurring_id" ON "jobs"("recurring_id");
CREATE INDEX IF NOT EXISTS "idx_jobs_parent_id" ON "jobs"("parent_id");
CREATE UNIQUE INDEX IF NOT EXISTS "idx_jobs_unique_key" ON "jobs"("unique_key");
CREATE INDEX IF NOT EXISTS "idx_jobs_waiting" ON "jobs"("queue","run_at") WHERE state = 'enqueued';
CREATE INDEX IF NOT EXISTS "idx_jobs_scheduled" ON "jobs"("run_at","id") WHERE state = 'scheduled';
CREATE INDEX IF NOT EXISTS "idx_jobs_kind_id" ON "jobs"("kind","id");
CREATE INDEX IF NOT EXISTS "idx_jobs_state_id" ON "jobs"("state","id");
CREATE INDEX IF NOT EXISTS "idx_jobs_claim" ON "jobs"("queue","priority" desc,"run_at","id") WHERE state = 'enqueued';
CREATE TABLE IF NOT EXISTS "job_events" (
    "id" integer PRIMARY KEY AUTOINCREMENT,
    "job_id" integer NOT NULL,
    "from_state" text NOT NULL DEFAULT '',
    "to_state" text NOT NULL,
    "at" datetime NOT NULL,
    "attempt" integer NOT NULL DEFAULT 0,
    "reason" text NOT NULL DEFAULT '',
    "error" text NOT NULL DEFAULT '',
    "server_id" text NOT NULL DEFAULT '',
    "duration" integer NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS "idx_job_events_job_id" ON "job_events"("job_id");
CREATE TABLE IF NOT EXISTS "job_logs" (
    "id" integer PRIMARY KEY AUTOINCREMENT,
    "job_id" integer NOT NULL,
    "attempt" integer NOT NULL DEFAULT 0,
    "at" datetime NOT NULL,
    "message" text NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_job_logs_job_id" ON "job_logs"("job_id");
CREATE TABLE IF NOT EXISTS "recurring_jobs" (
    "id" integer PRIMARY KEY AUTOINCREMENT,
    "name" text NOT NULL,
    "spec" text NOT NULL,
    "time_zone" text NOT NULL DEFAULT 'UTC',
    "kind" text NOT NULL,
    "args" text NOT NULL,
    "queue" text NOT NULL DEFAULT 'default',
    "priority" integer NOT NULL DEFAULT 0,
    "max_attempts" integer NOT NULL DEFAULT 10,
    "timeout" integer NOT NULL DEFAULT 0,
    "misfire" text NOT NULL DEFAULT 'relaxed',
    "paused" numeric NOT NULL DEFAULT false,
    "overridden" numeric NOT NULL DEFAULT false,
    "last_run_at" datetime,
    "next_run_at" datetime,
    "last_job_id" integer,
    "created_at" datetime,
    "updated_at" datetime
);
CREATE UNIQUE INDEX IF NOT EXISTS "idx_recurring_jobs_name" ON "recurring_jobs"("name");
CREATE TABLE IF NOT EXISTS "servers" (
    "id" text,
    "host" text NOT NULL,
    "p_id" integer NOT NULL,
    "started_at" datetime NOT NULL,
    "heartbeat_at" datetime NOT NULL,
    "queues" text NOT NULL DEFAULT '',
    "workers" integer NOT NULL DEFAULT 0,
    "busy" integer NOT NULL DEFAULT 0,
    PRIMARY KEY ("id")
);
CREATE INDEX IF NOT EXISTS "idx_servers_heartbeat_at" ON "servers"("heartbeat_at");
CREATE TABLE IF NOT EXISTS "users" (
    "id" integer PRIMARY KEY AUTOINCREMENT,
    "username" text NOT NULL,
    "password_hash" text NOT NULL,
    "role" text NOT NULL,
    "created_at" datetime,
    "updated_at" datetime,
    "last_login_at" datetime
);
CREATE UNIQUE INDEX IF NOT EXISTS "idx_users_username" ON "users"("username");
CREATE TABLE IF NOT EXISTS "settings" (
    "name" text,
    "value" blob NOT NULL,
    PRIMARY KEY ("name")
);
CREATE TABLE IF NOT EXISTS "job_stats" (
    "period" text,
    "bucket" datetime,
    "succeeded" integer NOT NULL DEFAULT 0,
    "failed" integer NOT NULL DEFAULT 0,
    "rescued" integer NOT NULL DEFAULT 0,
    PRIMARY KEY ("period","bucket")
);
CREATE TABLE IF NOT EXISTS "queue_settings" (
    "name" text,
    "paused" numeric NOT NULL DEFAULT false,
    "updated_by" text NOT NULL DEFAULT '',
    "updated_at" datetime,
    PRIMARY KEY ("name")
);
CREATE TABLE IF NOT EXISTS "job_queue_counts" (
    "queue" text,
    "state" text,
    "n" integer NOT NULL DEFAULT 0,
    PRIMARY KEY ("queue","state")
);
CREATE TABLE IF NOT EXISTS "job_queue_count_deltas" (
    "id" integer PRIMARY KEY AUTOINCREMENT,
    "queue" text NOT NULL,
    "state" text NOT NULL,
    "delta" integer NOT NULL
);
CREATE TABLE IF NOT EXISTS "sessions" (
    "id" text,
    "user_id" integer NOT NULL,
    "created_at" datetime NOT NULL,
    "expires_at" datetime NOT NULL,
    "ip" text NOT NULL DEFAULT '',
    "user_agent" text NOT NULL DEFAULT '',
    PRIMARY KEY ("id")
);
CREATE INDEX IF NOT EXISTS "idx_sessions_expires_at" ON "sessions"("expires_at");
CREATE INDEX IF NOT EXISTS "idx_sessions_user_id" ON "sessions"("user_id");

-- +goose Down
DROP TABLE IF EXISTS "sessions";
DROP TABLE IF EXISTS "job_queue_count_deltas";
DROP TABLE IF EXISTS "job_queue_counts";
DROP TABLE IF EXISTS "queue_settings";
DROP TABLE IF EXISTS "job_stats";
DROP TABLE IF EXISTS "settings";
DROP TABLE IF EXISTS "users";
DROP TABLE IF EXISTS "servers";
DROP TABLE IF EXISTS "recurring_jobs";
DROP TABLE IF EXISTS "job_logs";
DROP TABLE IF EXISTS "job_events";
DROP TABLE IF EXISTS "jobs";
DROP TABLE IF EXISTS "tasks";
