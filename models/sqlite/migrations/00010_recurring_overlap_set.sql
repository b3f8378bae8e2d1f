-- Whether a person set a recurring job's overlap policy: then the code's policy no longer
-- replaces it, as with a schedule a person edited (overridden), each on its own.

-- +goose Up
ALTER TABLE "recurring_jobs" ADD COLUMN "overlap_set" numeric NOT NULL DEFAULT false;
-- A policy other than the default on an entry a person edited was theirs.
UPDATE recurring_jobs SET overlap_set = true WHERE overridden AND overlap <> 'allow';

-- +goose Down
ALTER TABLE "recurring_jobs" DROP COLUMN "overlap_set";
