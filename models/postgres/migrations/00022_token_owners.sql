-- API tokens belong to a user: a token's role is at most its owner's, and removing the user
-- removes their tokens. user_id is nullable because tokens made before owners keep working
-- with none (only admins see and revoke those). The user's deletion deletes their tokens in Go,
-- in the same transaction (models.DeleteUser), and the foreign key's cascade does it again for
-- a row deleted any other way.

-- +goose Up
ALTER TABLE api_tokens ADD COLUMN user_id bigint REFERENCES users(id) ON DELETE CASCADE;
CREATE INDEX IF NOT EXISTS idx_api_tokens_user_id ON api_tokens (user_id);

-- +goose Down
DROP INDEX IF EXISTS idx_api_tokens_user_id;
ALTER TABLE api_tokens DROP COLUMN user_id;
