-- An audit entry names the kind of job it is about (kind), so that a kind's page lists the
-- entries about its jobs and about the kind itself. Entries made before have none (''): their
-- hashes were computed without it, and the hash covers kind only when it is set, so they verify
-- as they are. Nothing is backfilled, for the same reason.

-- +goose Up
ALTER TABLE "audit_entries" ADD COLUMN "kind" text NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS "idx_audit_entries_kind" ON "audit_entries"("kind", "id");

-- +goose Down
DROP INDEX IF EXISTS "idx_audit_entries_kind";
ALTER TABLE "audit_entries" DROP COLUMN "kind";
