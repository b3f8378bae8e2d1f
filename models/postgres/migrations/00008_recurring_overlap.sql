-- What an occurrence of a recurring job does while the job of the one before is unfinished
-- (allow, skip, replace), and how many occurrences were skipped.

-- +goose Up
ALTER TABLE recurring_jobs ADD COLUMN overlap varchar(10) DEFAULT 'allow' NOT NULL;
ALTER TABLE recurring_jobs ADD COLUMN skipped bigint DEFAULT 0 NOT NULL;
ALTER TABLE recurring_jobs ADD COLUMN last_skipped_at timestamp with time zone;

-- +goose Down
ALTER TABLE recurring_jobs DROP COLUMN last_skipped_at;
ALTER TABLE recurring_jobs DROP COLUMN skipped;
ALTER TABLE recurring_jobs DROP COLUMN overlap;
