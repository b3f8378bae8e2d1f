-- API tokens: a name, a role, an optional expiry, when it was last used. Only the SHA-256 of a
-- token is kept; the token itself is shown once, when it is made.

-- +goose Up
CREATE TABLE IF NOT EXISTS "api_tokens" (
    "id" integer PRIMARY KEY AUTOINCREMENT,
    "name" text NOT NULL,
    "role" text NOT NULL,
    "token_hash" text NOT NULL,
    "created_at" datetime NOT NULL,
    "created_by" text NOT NULL DEFAULT '',
    "expires_at" datetime,
    "last_used_at" datetime
);
CREATE UNIQUE INDEX IF NOT EXISTS "idx_api_tokens_name" ON "api_tokens"("name");
CREATE UNIQUE INDEX IF NOT EXISTS "idx_api_tokens_token_hash" ON "api_tokens"("token_hash");

-- +goose Down
DROP TABLE "api_tokens";
