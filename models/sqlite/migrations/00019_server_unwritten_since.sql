-- When the oldest outcome a server has stamped but not yet written was stamped (NULL: none
-- waits). Outcomes are written in batches, and held across an outage for as long as the
-- database is away; the alert rules on failures read no further than this, so that a failure
-- written late is still seen.

-- +goose Up
ALTER TABLE "servers" ADD COLUMN "unwritten_since" datetime;

-- +goose Down
ALTER TABLE "servers" DROP COLUMN "unwritten_since";
