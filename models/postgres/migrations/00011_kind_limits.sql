-- Concurrency limits per job kind, across every node: at most max_running jobs of the kind run
-- at once. A claim of a queue while any limit exists locks these rows, so nodes take turns.

-- +goose Up
CREATE TABLE kind_limits (
    kind varchar(100) PRIMARY KEY,
    max_running bigint NOT NULL,
    updated_at timestamp with time zone NOT NULL
);

-- +goose Down
DROP TABLE kind_limits;
