-- The kinds page: jobs per queue, kind and state (the counters gain the kind; totals per queue
-- sum over kinds), per-kind stats per hour with a histogram of durations (a row per duration
-- slot: slot s holds the runs that took 2^(s/2) to 2^((s+1)/2) microseconds), and an index of
-- the failed jobs of each kind, which only failed jobs enter.

-- +goose Up
DELETE FROM job_queue_count_deltas;
ALTER TABLE job_queue_count_deltas ADD COLUMN kind varchar(100) DEFAULT '' NOT NULL;
DROP TABLE job_queue_counts;
CREATE TABLE job_queue_counts (
    queue varchar(100) NOT NULL,
    kind varchar(100) NOT NULL,
    state varchar(20) NOT NULL,
    n bigint DEFAULT 0 NOT NULL,
    PRIMARY KEY (queue, kind, state)
);
DELETE FROM settings WHERE name = 'job-queue-counts-ready'; -- counted anew when Kiln next opens the database
CREATE TABLE kind_stats (
    bucket timestamp with time zone NOT NULL,
    kind varchar(100) NOT NULL,
    node bigint NOT NULL,
    slot bigint NOT NULL,
    succeeded bigint DEFAULT 0 NOT NULL,
    failed bigint DEFAULT 0 NOT NULL,
    total_ns bigint DEFAULT 0 NOT NULL,
    max_ns bigint DEFAULT 0 NOT NULL,
    PRIMARY KEY (bucket, kind, node, slot)
);
CREATE INDEX idx_jobs_failed_kind ON jobs (kind, id) WHERE state = 'failed';
-- What the code last said of each kind's limits: a server starting applies its code's limits
-- only where they differ from these, so that a limit changed on the kind's page lasts until
-- the code changes.
CREATE TABLE kind_code_limits (
    kind varchar(100) NOT NULL,
    max_running bigint NOT NULL,
    rate_n bigint NOT NULL,
    rate_per_seconds bigint NOT NULL,
    PRIMARY KEY (kind)
);

-- +goose Down
DROP TABLE kind_code_limits;
DROP INDEX idx_jobs_failed_kind;
DROP TABLE kind_stats;
DELETE FROM job_queue_count_deltas;
ALTER TABLE job_queue_count_deltas DROP COLUMN kind;
DROP TABLE job_queue_counts;
CREATE TABLE job_queue_counts (
    queue varchar(100) NOT NULL,
    state varchar(20) NOT NULL,
    n bigint DEFAULT 0 NOT NULL,
    PRIMARY KEY (queue, state)
);
DELETE FROM settings WHERE name = 'job-queue-counts-ready'; -- counted anew when Kiln next opens the database
