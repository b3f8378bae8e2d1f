-- Rate limits per job kind: at most rate_n jobs of the kind start per rate_per_seconds,
-- counted in windows aligned to the Unix epoch (kind_rate_counts).

-- +goose Up
ALTER TABLE "kind_limits" ADD COLUMN "rate_n" integer NOT NULL DEFAULT 0;
ALTER TABLE "kind_limits" ADD COLUMN "rate_per_seconds" integer NOT NULL DEFAULT 0;
CREATE TABLE "kind_rate_counts" (
    "kind" text NOT NULL,
    "bucket" datetime NOT NULL,
    "n" integer NOT NULL,
    PRIMARY KEY ("kind", "bucket")
);

-- +goose Down
DROP TABLE "kind_rate_counts";
ALTER TABLE "kind_limits" DROP COLUMN "rate_per_seconds";
ALTER TABLE "kind_limits" DROP COLUMN "rate_n";
