-- The kinds page: jobs per queue, kind and state (the counters gain the kind), per-kind stats
-- per hour with a histogram of durations, and an index of each kind's failed jobs (see the
-- PostgreSQL migration).

-- +goose Up
DELETE FROM "job_queue_count_deltas";
ALTER TABLE "job_queue_count_deltas" ADD COLUMN "kind" text NOT NULL DEFAULT '';
DROP TABLE "job_queue_counts";
CREATE TABLE "job_queue_counts" (
    "queue" text,
    "kind" text,
    "state" text,
    "n" integer NOT NULL DEFAULT 0,
    PRIMARY KEY ("queue","kind","state")
);
DELETE FROM "settings" WHERE "name" = 'job-queue-counts-ready'; -- counted anew when Kiln next opens the database
CREATE TABLE "kind_stats" (
    "bucket" datetime NOT NULL,
    "kind" text NOT NULL,
    "node" integer NOT NULL,
    "slot" integer NOT NULL,
    "succeeded" integer NOT NULL DEFAULT 0,
    "failed" integer NOT NULL DEFAULT 0,
    "total_ns" integer NOT NULL DEFAULT 0,
    "max_ns" integer NOT NULL DEFAULT 0,
    PRIMARY KEY ("bucket","kind","node","slot")
);
CREATE INDEX "idx_jobs_failed_kind" ON "jobs"("kind","id") WHERE "state" = 'failed';
CREATE TABLE "kind_code_limits" (
    "kind" text PRIMARY KEY,
    "max_running" integer NOT NULL,
    "rate_n" integer NOT NULL,
    "rate_per_seconds" integer NOT NULL
);

-- +goose Down
DROP TABLE "kind_code_limits";
DROP INDEX "idx_jobs_failed_kind";
DROP TABLE "kind_stats";
DELETE FROM "job_queue_count_deltas";
ALTER TABLE "job_queue_count_deltas" DROP COLUMN "kind";
DROP TABLE "job_queue_counts";
CREATE TABLE "job_queue_counts" (
    "queue" text,
    "state" text,
    "n" integer NOT NULL DEFAULT 0,
    PRIMARY KEY ("queue","state")
);
DELETE FROM "settings" WHERE "name" = 'job-queue-counts-ready'; -- counted anew when Kiln next opens the database
