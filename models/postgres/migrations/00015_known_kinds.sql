-- The kinds each server registers, written when it starts and on every heartbeat (by the
-- database's clock, as heartbeats are): a kind seen within models.KnownKindsWindow is one the
-- API and the forms accept, whichever node works it.

-- +goose Up
CREATE TABLE known_kinds (
    kind varchar(100) PRIMARY KEY,
    seen_at timestamp with time zone NOT NULL
);

-- +goose Down
DROP TABLE known_kinds;
