-- Concurrency limits per job kind: at most max_running jobs of the kind run at once. SQLite's
-- one writer makes a claim see every other's.

-- +goose Up
CREATE TABLE "kind_limits" (
    "kind" text PRIMARY KEY,
    "max_running" integer NOT NULL,
    "updated_at" datetime NOT NULL
);

-- +goose Down
DROP TABLE "kind_limits";
