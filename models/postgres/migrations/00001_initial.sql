-- Kiln's schema as it stood when migrations began: what GORM's AutoMigrate made. Every statement
-- is IF NOT EXISTS so that a database AutoMigrate made (before versioned migrations) takes this
-- migration as a no-op and is stamped at version 1; see legacy.go. Names are unqualified: the
-- tables live in the connection's current schema (search_path).

-- +goose Up
CREATE TABLE IF NOT EXISTS job_events (
    id bigserial,
    job_id bigint NOT NULL,
    from_state varchar(20) DEFAULT '' NOT NULL,
    to_state varchar(20) NOT NULL,
    at timestamp with time zone NOT NULL,
    attempt bigint DEFAULT 0 NOT NULL,
    reason text DEFAULT '' NOT NULL,
    error text DEFAULT '' NOT NULL,
    server_id varchar(64) DEFAULT '' NOT NULL,
    duration bigint DEFAULT 0 NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS idx_job_events_job_id ON job_events (job_id);
CREATE TABLE IF NOT EXISTS job_logs (
    id bigserial,
    job_id bigint NOT NULL,
    attempt bigint DEFAULT 0 NOT NULL,
    at timestamp with time zone NOT NULL,
    message text NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS idx_job_logs_job_id ON job_logs (job_id);
CREATE TABLE IF NOT EXISTS job_queue_count_deltas (
    id bigserial,
    queue varchar(100) NOT NULL,
    state varchar(20) NOT NULL,
    delta bigint NOT NULL,
    PRIMARY KEY (id)
);
CREATE TABLE IF NOT EXISTS job_queue_counts (
    queue varchar(100) NOT NULL,
    state varchar(20) NOT NULL,
    n bigint DEFAULT 0 NOT NULL,
    PRIMARY KEY (queue, state)
);
CREATE TABLE IF NOT EXISTS job_stats (
    period varchar(1) NOT NULL,
    bucket timestamp with time zone NOT NULL,
    succeeded bigint DEFAULT 0 NOT NULL,
    failed bigint DEFAULT 0 NOT NULL,
    rescued bigint DEFAULT 0 NOT NULL,
    PRIMARY KEY (period, bucket)
);
CREATE TABLE IF NOT EXISTS jobs (
    id bigserial,
    kind varchar(100) NOT NULL,
    queue varchar(100) DEFAULT 'default' NOT NULL,
    priority bigint DEFAULT 0 NOT NULL,
    args text NOT NULL,
    state varchar(20) NOT NULL,
    attempt bigint DEFAULT 0 NOT NULL,
    max_attempts bigint DEFAULT 10 NOT NULL,
    run_at timestamp with time zone NOT NULL,
    created_at timestamp with time zone NOT NULL,
    started_at timestamp with time zone,
    finished_at timestamp with time zone,
    lease_until timestamp with time zone,
    server_id varchar(64) DEFAULT '' NOT NULL,
    last_error text DEFAULT '' NOT NULL,
    unique_key varchar(255),
    parent_id bigint,
    continue_on varchar(20) DEFAULT '' NOT NULL,
    recurring_id bigint,
    rescues bigint DEFAULT 0 NOT NULL,
    runs bigint DEFAULT 0 NOT NULL,
    progress bigint DEFAULT 0 NOT NULL,
    timeout bigint DEFAULT 0 NOT NULL,
    result text DEFAULT '' NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS idx_jobs_claim ON jobs (queue, priority DESC, run_at, id) WHERE state = 'enqueued';
CREATE INDEX IF NOT EXISTS idx_jobs_kind_id ON jobs (kind, id);
CREATE INDEX IF NOT EXISTS idx_jobs_parent_id ON jobs (parent_id);
CREATE INDEX IF NOT EXISTS idx_jobs_recurring_id ON jobs (recurring_id);
CREATE INDEX IF NOT EXISTS idx_jobs_scheduled ON jobs (run_at, id) WHERE state = 'scheduled';
CREATE INDEX IF NOT EXISTS idx_jobs_state_id ON jobs (state, id);
CREATE UNIQUE INDEX IF NOT EXISTS idx_jobs_unique_key ON jobs (unique_key);
CREATE INDEX IF NOT EXISTS idx_jobs_waiting ON jobs (queue, run_at) WHERE state = 'enqueued';
CREATE TABLE IF NOT EXISTS queue_settings (
    name varchar(100) NOT NULL,
    paused boolean DEFAULT false NOT NULL,
    updated_by varchar(64) DEFAULT '' NOT NULL,
    updated_at timestamp with time zone,
    PRIMARY KEY (name)
);
CREATE TABLE IF NOT EXISTS recurring_jobs (
    id bigserial,
    name varchar(200) NOT NULL,
    spec varchar(200) NOT NULL,
    time_zone varchar(64) DEFAULT 'UTC' NOT NULL,
    kind varchar(100) NOT NULL,
    args text NOT NULL,
    queue varchar(100) DEFAULT 'default' NOT NULL,
    priority bigint DEFAULT 0 NOT NULL,
    max_attempts bigint DEFAULT 10 NOT NULL,
    timeout bigint DEFAULT 0 NOT NULL,
    misfire varchar(10) DEFAULT 'relaxed' NOT NULL,
    paused boolean DEFAULT false NOT NULL,
    overridden boolean DEFAULT false NOT NULL,
    last_run_at timestamp with time zone,
    next_run_at timestamp with time zone,
    last_job_id bigint,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_recurring_jobs_name ON recurring_jobs (name);
CREATE TABLE IF NOT EXISTS servers (
    id varchar(64) NOT NULL,
    host varchar(255) NOT NULL,
    p_id bigint NOT NULL,
    started_at timestamp with time zone NOT NULL,
    heartbeat_at timestamp with time zone NOT NULL,
    queues varchar(1000) DEFAULT '' NOT NULL,
    workers bigint DEFAULT 0 NOT NULL,
    busy bigint DEFAULT 0 NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS idx_servers_heartbeat_at ON servers (heartbeat_at);
CREATE TABLE IF NOT EXISTS sessions (
    id varchar(64) NOT NULL,
    user_id bigint NOT NULL,
    created_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    ip varchar(64) DEFAULT '' NOT NULL,
    user_agent varchar(255) DEFAULT '' NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS idx_sessions_expires_at ON sessions (expires_at);
CREATE INDEX IF NOT EXISTS idx_sessions_user_id ON sessions (user_id);
CREATE TABLE IF NOT EXISTS settings (
    name varchar(64) NOT NULL,
    value bytea NOT NULL,
    PRIMARY KEY (name)
);
CREATE TABLE IF NOT EXISTS tasks (
    id bigserial,
    title varchar(200) NOT NULL,
    description varchar(5000) DEFAULT '' NOT NULL,
    due_at timestamp with time zone NOT NULL,
    completed boolean DEFAULT false NOT NULL,
    completed_at timestamp with time zone,
    completed_by varchar(20) DEFAULT '' NOT NULL,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS idx_tasks_completed_due_at ON tasks (completed, due_at);
CREATE TABLE IF NOT EXISTS users (
    id bigserial,
    username varchar(64) NOT NULL,
    password_hash varchar(100) NOT NULL,
    role varchar(10) NOT NULL,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    last_login_at timestamp with time zone,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_users_username ON users (username);

-- +goose Down
DROP TABLE IF EXISTS users;
DROP TABLE IF EXISTS tasks;
DROP TABLE IF EXISTS settings;
DROP TABLE IF EXISTS sessions;
DROP TABLE IF EXISTS servers;
DROP TABLE IF EXISTS recurring_jobs;
DROP TABLE IF EXISTS queue_settings;
DROP TABLE IF EXISTS jobs;
DROP TABLE IF EXISTS job_stats;
DROP TABLE IF EXISTS job_queue_counts;
DROP TABLE IF EXISTS job_queue_count_deltas;
DROP TABLE IF EXISTS job_logs;
DROP TABLE IF EXISTS job_events;
