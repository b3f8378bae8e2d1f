-- Tags on jobs: free labels a caller gives a job, kept as ",a,b," so that a tag is found with
-- LIKE '%,a,%'.

-- +goose Up
ALTER TABLE "jobs" ADD COLUMN "tags" text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE "jobs" DROP COLUMN "tags";
