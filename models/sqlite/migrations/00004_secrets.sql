-- Secrets: named values (API keys, passwords) that http.request and exec jobs refer to as
-- ${secret:NAME}. Only the sealed value is kept (AES-256-GCM, see package secrets); the key is
-- never in this table.

-- +goose Up
CREATE TABLE IF NOT EXISTS "secrets" (
    "id" integer PRIMARY KEY AUTOINCREMENT,
    "name" text NOT NULL,
    "sealed" text NOT NULL,
    "created_at" datetime NOT NULL,
    "updated_at" datetime NOT NULL,
    "updated_by" text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS "idx_secrets_name" ON "secrets"("name");

-- +goose Down
DROP TABLE "secrets";
