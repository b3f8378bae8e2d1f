-- What an occurrence of a recurring job does while the job of the one before is unfinished
-- (allow, skip, replace), and how many occurrences were skipped.

-- +goose Up
ALTER TABLE "recurring_jobs" ADD COLUMN "overlap" text NOT NULL DEFAULT 'allow';
ALTER TABLE "recurring_jobs" ADD COLUMN "skipped" integer NOT NULL DEFAULT 0;
ALTER TABLE "recurring_jobs" ADD COLUMN "last_skipped_at" datetime;

-- +goose Down
ALTER TABLE "recurring_jobs" DROP COLUMN "last_skipped_at";
ALTER TABLE "recurring_jobs" DROP COLUMN "skipped";
ALTER TABLE "recurring_jobs" DROP COLUMN "overlap";
