-- Alert channels: where alerts' messages go (a webhook, a chat service's incoming webhook, an
-- email address). settings holds the type's fields as JSON; secrets in them (an HMAC key, an
-- SMTP password, a webhook URL) are ${secret:NAME} references, never values. last_sent_at and
-- last_error say how the channel's last deliveries went.

-- +goose Up
CREATE TABLE alert_channels (
    id bigserial,
    name varchar(64) NOT NULL,
    type varchar(20) NOT NULL,
    settings text DEFAULT '{}' NOT NULL,
    created_by varchar(64) DEFAULT '' NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    last_sent_at timestamp with time zone,
    last_error text DEFAULT '' NOT NULL,
    last_error_at timestamp with time zone,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX idx_alert_channels_name ON alert_channels (name);

-- +goose Down
DROP TABLE alert_channels;
