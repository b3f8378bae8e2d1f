-- API tokens: a name, a role, an optional expiry, when it was last used. Only the SHA-256 of a
-- token is kept; the token itself is shown once, when it is made.

-- +goose Up
CREATE TABLE api_tokens (
    id bigserial,
    name varchar(64) NOT NULL,
    role varchar(10) NOT NULL,
    token_hash varchar(64) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    created_by varchar(64) DEFAULT '' NOT NULL,
    expires_at timestamp with time zone,
    last_used_at timestamp with time zone,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX idx_api_tokens_name ON api_tokens (name);
CREATE UNIQUE INDEX idx_api_tokens_token_hash ON api_tokens (token_hash);

-- +goose Down
DROP TABLE api_tokens;
