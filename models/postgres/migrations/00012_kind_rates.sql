-- Rate limits per job kind: at most rate_n jobs of the kind start per rate_per_seconds, across
-- every node, counted in windows aligned to the Unix epoch (kind_rate_counts).

-- +goose Up
ALTER TABLE kind_limits ADD COLUMN rate_n bigint DEFAULT 0 NOT NULL;
ALTER TABLE kind_limits ADD COLUMN rate_per_seconds bigint DEFAULT 0 NOT NULL;
CREATE TABLE kind_rate_counts (
    kind varchar(100) NOT NULL,
    bucket timestamp with time zone NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (kind, bucket)
);

-- +goose Down
DROP TABLE kind_rate_counts;
ALTER TABLE kind_limits DROP COLUMN rate_per_seconds;
ALTER TABLE kind_limits DROP COLUMN rate_n;
