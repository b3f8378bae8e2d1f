-- Whether a person set a recurring job's overlap policy: then the code's policy no longer
-- replaces it, as with a schedule a person edited (overridden), each on its own.

-- +goose Up
ALTER TABLE recurring_jobs ADD COLUMN overlap_set boolean DEFAULT false NOT NULL;

-- +goose Down
ALTER TABLE recurring_jobs DROP COLUMN overlap_set;
