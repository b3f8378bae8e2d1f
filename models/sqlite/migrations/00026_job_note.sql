-- A job's enqueue note ("enqueued by token deploy", "triggered now from recurring job nightly
-- by ada") is kept on its row, where its first event, the enqueue, was stored for it alone:
-- a plain enqueue's history is told by its row (models.History), its note too, and the API's
-- enqueues store one row fewer each.

-- +goose Up
ALTER TABLE jobs ADD COLUMN note text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE jobs DROP COLUMN note;
