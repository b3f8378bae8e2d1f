-- Secrets: named values (API keys, passwords) that http.request and exec jobs refer to as
-- ${secret:NAME}. Only the sealed value is kept (AES-256-GCM, see package secrets); the key is
-- never in this table.

-- +goose Up
CREATE TABLE secrets (
    id bigserial,
    name varchar(64) NOT NULL,
    sealed text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    updated_by varchar(64) DEFAULT '' NOT NULL,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX idx_secrets_name ON secrets (name);

-- +goose Down
DROP TABLE secrets;
