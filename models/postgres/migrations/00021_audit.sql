-- The audit trail: who changed what, when, from where, and how it went. Each entry carries the
-- SHA-256 of the one before (prev_hash) and its own (hash, over its fields and prev_hash), so
-- that an entry changed or removed breaks the chain (kiln audit verify). Ids are given by the
-- writer, one more than the last, under the write lock: a gap is a removed entry.
-- audit_checkpoints records, before retention deletes old entries, the id and hash of the last
-- one it deletes, so that what is left still verifies from there.

-- +goose Up
CREATE TABLE audit_entries (
    id bigint NOT NULL,
    at timestamp with time zone NOT NULL,
    actor varchar(128) NOT NULL,
    actor_kind varchar(16) NOT NULL,
    token_owner varchar(64),
    ip varchar(64) DEFAULT '' NOT NULL,
    user_agent varchar(255) DEFAULT '' NOT NULL,
    action varchar(200) NOT NULL,
    target varchar(200) DEFAULT '' NOT NULL,
    details text DEFAULT '' NOT NULL,
    outcome varchar(16) NOT NULL,
    prev_hash varchar(64) NOT NULL,
    hash varchar(64) NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX idx_audit_entries_at ON audit_entries (at);
CREATE INDEX idx_audit_entries_actor ON audit_entries (actor, id);
CREATE INDEX idx_audit_entries_target ON audit_entries (target, id);

CREATE TABLE audit_checkpoints (
    id bigserial,
    at timestamp with time zone NOT NULL,
    last_id bigint NOT NULL,
    last_hash varchar(64) NOT NULL,
    deleted bigint NOT NULL,
    PRIMARY KEY (id)
);

-- +goose Down
DROP TABLE audit_checkpoints;
DROP TABLE audit_entries;
