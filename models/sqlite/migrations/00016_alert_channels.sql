-- Alert channels: where alerts' messages go (a webhook, a chat service's incoming webhook, an
-- email address). settings holds the type's fields as JSON; secrets in them (an HMAC key, an
-- SMTP password, a webhook URL) are ${secret:NAME} references, never values. last_sent_at and
-- last_error say how the channel's last deliveries went.

-- +goose Up
CREATE TABLE "alert_channels" (
    "id" integer PRIMARY KEY AUTOINCREMENT,
    "name" text NOT NULL,
    "type" text NOT NULL,
    "settings" text NOT NULL DEFAULT '{}',
    "created_by" text NOT NULL DEFAULT '',
    "created_at" datetime NOT NULL,
    "updated_at" datetime NOT NULL,
    "last_sent_at" datetime,
    "last_error" text NOT NULL DEFAULT '',
    "last_error_at" datetime
);
CREATE UNIQUE INDEX "idx_alert_channels_name" ON "alert_channels"("name");

-- +goose Down
DROP TABLE "alert_channels";
