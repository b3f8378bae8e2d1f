-- Tags on jobs: free labels a caller gives a job, kept as ",a,b," so that a tag is found with
-- LIKE '%,a,%'. A constant default adds the column without rewriting the table.

-- +goose Up
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS tags text DEFAULT '' NOT NULL;

-- +goose Down
ALTER TABLE jobs DROP COLUMN tags;
