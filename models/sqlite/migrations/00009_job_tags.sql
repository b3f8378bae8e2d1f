-- An index of job tags: a row per (tag, job), written with the job, so that ?tag= and the jobs
-- list's tag filter read only the jobs that carry the tag. jobs.tags (",a,b,") stays the job's
-- own copy; the backfill splits it.

-- +goose Up
CREATE TABLE "job_tags" (
    "tag" text NOT NULL,
    "job_id" integer NOT NULL,
    PRIMARY KEY ("tag", "job_id")
) WITHOUT ROWID;
WITH RECURSIVE split(id, rest, tag) AS (
    SELECT id, substr(tags, 2), '' FROM jobs WHERE tags <> ''
    UNION ALL
    SELECT id, substr(rest, instr(rest, ',') + 1), substr(rest, 1, instr(rest, ',') - 1) FROM split WHERE rest <> ''
)
INSERT OR IGNORE INTO "job_tags" ("tag", "job_id") SELECT tag, id FROM split WHERE tag <> '';
CREATE INDEX "idx_job_tags_job_id" ON "job_tags"("job_id");

-- +goose Down
DROP TABLE "job_tags";
