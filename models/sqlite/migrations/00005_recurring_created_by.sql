-- Who made a recurring job at run time (on the dashboard or through the API); empty for the
-- entries a server's code defines. Those made at run time can be edited whole and deleted.

-- +goose Up
ALTER TABLE "recurring_jobs" ADD COLUMN "created_by" text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE "recurring_jobs" DROP COLUMN "created_by";
