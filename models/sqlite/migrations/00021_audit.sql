-- The audit trail: who changed what, when, from where, and how it went. Each entry carries the
-- SHA-256 of the one before (prev_hash) and its own (hash, over its fields and prev_hash), so
-- that an entry changed or removed breaks the chain (kiln audit verify). Ids are given by the
-- writer, one more than the last, under the write lock: a gap is a removed entry.
-- audit_checkpoints records, before retention deletes old entries, the id and hash of the last
-- one it deletes, so that what is left still verifies from there.

-- +goose Up
CREATE TABLE "audit_entries" (
    "id" integer PRIMARY KEY,
    "at" datetime NOT NULL,
    "actor" text NOT NULL,
    "actor_kind" text NOT NULL,
    "token_owner" text,
    "ip" text NOT NULL DEFAULT '',
    "user_agent" text NOT NULL DEFAULT '',
    "action" text NOT NULL,
    "target" text NOT NULL DEFAULT '',
    "details" text NOT NULL DEFAULT '',
    "outcome" text NOT NULL,
    "prev_hash" text NOT NULL,
    "hash" text NOT NULL
);
CREATE INDEX "idx_audit_entries_at" ON "audit_entries"("at");
CREATE INDEX "idx_audit_entries_actor" ON "audit_entries"("actor", "id");
CREATE INDEX "idx_audit_entries_target" ON "audit_entries"("target", "id");

CREATE TABLE "audit_checkpoints" (
    "id" integer PRIMARY KEY AUTOINCREMENT,
    "at" datetime NOT NULL,
    "last_id" integer NOT NULL,
    "last_hash" text NOT NULL,
    "deleted" integer NOT NULL
);

-- +goose Down
DROP TABLE "audit_checkpoints";
DROP TABLE "audit_entries";
