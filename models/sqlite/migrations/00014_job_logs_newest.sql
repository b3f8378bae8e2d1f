-- PostgreSQL's migration 14 indexes job_logs on (job_id, id) for Store.NewestJobLogs. Here the
-- index on job_id already is one: a SQLite index holds each row's rowid, which id is, after its
-- columns. Nothing to do, and the versions of both dialects stay the same.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
