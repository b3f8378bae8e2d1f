-- The W3C traceparent of the span that enqueued a job, when tracing is on (NULL otherwise), so
-- that each attempt's span joins the enqueuer's trace on whichever node, and after whatever
-- restart, runs it.

-- +goose Up
ALTER TABLE "jobs" ADD COLUMN "trace_parent" text;

-- +goose Down
ALTER TABLE "jobs" DROP COLUMN "trace_parent";
