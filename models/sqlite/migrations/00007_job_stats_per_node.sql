-- The overview's counters are kept per node (see the PostgreSQL migration); SQLite has one
-- node, whose rows are node 0. SQLite can't change a primary key, so the table is made anew.

-- +goose Up
CREATE TABLE "job_stats_new" (
    "period" text,
    "bucket" datetime,
    "node" integer NOT NULL DEFAULT 0,
    "succeeded" integer NOT NULL DEFAULT 0,
    "failed" integer NOT NULL DEFAULT 0,
    "rescued" integer NOT NULL DEFAULT 0,
    PRIMARY KEY ("period","bucket","node")
);
INSERT INTO "job_stats_new" ("period", "bucket", "node", "succeeded", "failed", "rescued")
    SELECT "period", "bucket", 0, "succeeded", "failed", "rescued" FROM "job_stats";
DROP TABLE "job_stats";
ALTER TABLE "job_stats_new" RENAME TO "job_stats";

-- +goose Down
CREATE TABLE "job_stats_old" (
    "period" text,
    "bucket" datetime,
    "succeeded" integer NOT NULL DEFAULT 0,
    "failed" integer NOT NULL DEFAULT 0,
    "rescued" integer NOT NULL DEFAULT 0,
    PRIMARY KEY ("period","bucket")
);
INSERT INTO "job_stats_old" ("period", "bucket", "succeeded", "failed", "rescued")
    SELECT "period", "bucket", sum("succeeded"), sum("failed"), sum("rescued") FROM "job_stats" GROUP BY "period", "bucket";
DROP TABLE "job_stats";
ALTER TABLE "job_stats_old" RENAME TO "job_stats";
