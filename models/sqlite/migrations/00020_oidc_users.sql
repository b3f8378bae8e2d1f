-- Single sign-on (OpenID Connect). A user who signs in through an identity provider is found by
-- the provider's issuer and the account's subject, never by name, so that a provider account
-- named like a local user does not become that user. A session started that way keeps the ID
-- token the provider issued, for the id_token_hint of RP-initiated logout; it goes with the row.

-- +goose Up
ALTER TABLE "users" ADD COLUMN "oidc_issuer" text NOT NULL DEFAULT '';
ALTER TABLE "users" ADD COLUMN "oidc_subject" text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX IF NOT EXISTS "idx_users_oidc" ON "users"("oidc_issuer", "oidc_subject") WHERE "oidc_subject" <> '';
ALTER TABLE "sessions" ADD COLUMN "id_token" text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE "sessions" DROP COLUMN "id_token";
DROP INDEX IF EXISTS "idx_users_oidc";
ALTER TABLE "users" DROP COLUMN "oidc_subject";
ALTER TABLE "users" DROP COLUMN "oidc_issuer";
