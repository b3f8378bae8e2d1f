-- The kinds each server registers, written when it starts and on every heartbeat: a kind seen
-- within models.KnownKindsWindow is one the API and the forms accept, whichever server works it.

-- +goose Up
CREATE TABLE "known_kinds" (
    "kind" text PRIMARY KEY,
    "seen_at" datetime NOT NULL
);

-- +goose Down
DROP TABLE "known_kinds";
