-- The schema of a database made by Kiln before versioned migrations (GORM AutoMigrate), as
-- pg_dump --schema-only printed it (schema prefixes removed); models/migrate_test.go builds a
-- legacy database from it.
CREATE TABLE job_events (
    id bigint NOT NULL,
    job_id bigint NOT NULL,
    from_state character varying(20) DEFAULT ''::character varying NOT NULL,
    to_state character varying(20) NOT NULL,
    at timestamp with time zone NOT NULL,
    attempt bigint DEFAULT 0 NOT NULL,
    reason text DEFAULT ''::text NOT NULL,
    error text DEFAULT ''::text NOT NULL,
    server_id character varying(64) DEFAULT ''::character varying NOT NULL,
    duration bigint DEFAULT 0 NOT NULL
);
CREATE SEQUENCE job_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE job_events_id_seq OWNED BY job_events.id;
CREATE TABLE job_logs (
    id bigint NOT NULL,
    job_id bigint NOT NULL,
    attempt bigint DEFAULT 0 NOT NULL,
    at timestamp with time zone NOT NULL,
    message text NOT NULL
);
CREATE SEQUENCE job_logs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE job_logs_id_seq OWNED BY job_logs.id;
CREATE TABLE job_queue_count_deltas (
    id bigint NOT NULL,
    queue character varying(100) NOT NULL,
    state character varying(20) NOT NULL,
    delta bigint NOT NULL
);
CREATE SEQUENCE job_queue_count_deltas_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE job_queue_count_deltas_id_seq OWNED BY job_queue_count_deltas.id;
CREATE TABLE job_queue_counts (
    queue character varying(100) NOT NULL,
    state character varying(20) NOT NULL,
    n bigint DEFAULT 0 NOT NULL
);
CREATE TABLE job_stats (
    period character varying(1) NOT NULL,
    bucket timestamp with time zone NOT NULL,
    succeeded bigint DEFAULT 0 NOT NULL,
    failed bigint DEFAULT 0 NOT NULL,
    rescued bigint DEFAULT 0 NOT NULL
);
CREATE TABLE jobs (
    id bigint NOT NULL,
    kind character varying(100) NOT NULL,
    queue character varying(100) DEFAULT 'default'::character varying NOT NULL,
    priority bigint DEFAULT 0 NOT NULL,
    args text NOT NULL,
    state character varying(20) NOT NULL,
    attempt bigint DEFAULT 0 NOT NULL,
    max_attempts bigint DEFAULT 10 NOT NULL,
    run_at timestamp with time zone NOT NULL,
    created_at timestamp with time zone NOT NULL,
    started_at timestamp with time zone,
    finished_at timestamp with time zone,
    lease_until timestamp with time zone,
    server_id character varying(64) DEFAULT ''::character varying NOT NULL,
    last_error text DEFAULT ''::text NOT NULL,
    unique_key character varying(255),
    parent_id bigint,
    continue_on character varying(20) DEFAULT ''::character varying NOT NULL,
    recurring_id bigint,
    rescues bigint DEFAULT 0 NOT NULL,
    runs bigint DEFAULT 0 NOT NULL,
    progress bigint DEFAULT 0 NOT NULL,
    timeout bigint DEFAULT 0 NOT NULL,
    result text DEFAULT ''::text NOT NULL
);
CREATE SEQUENCE jobs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE jobs_id_seq OWNED BY jobs.id;
CREATE TABLE queue_settings (
    name character varying(100) NOT NULL,
    paused boolean DEFAULT false NOT NULL,
    updated_by character varying(64) DEFAULT ''::character varying NOT NULL,
    updated_at timestamp with time zone
);
CREATE TABLE recurring_jobs (
    id bigint NOT NULL,
    name character varying(200) NOT NULL,
    spec character varying(200) NOT NULL,
    time_zone character varying(64) DEFAULT 'UTC'::character varying NOT NULL,
    kind character varying(100) NOT NULL,
    args text NOT NULL,
    queue character varying(100) DEFAULT 'default'::character varying NOT NULL,
    priority bigint DEFAULT 0 NOT NULL,
    max_attempts bigint DEFAULT 10 NOT NULL,
    timeout bigint DEFAULT 0 NOT NULL,
    misfire character varying(10) DEFAULT 'relaxed'::character varying NOT NULL,
    paused boolean DEFAULT false NOT NULL,
    overridden boolean DEFAULT false NOT NULL,
    last_run_at timestamp with time zone,
    next_run_at timestamp with time zone,
    last_job_id bigint,
    created_at timestamp with time zone,
    updated_at timestamp with time zone
);
CREATE SEQUENCE recurring_jobs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE recurring_jobs_id_seq OWNED BY recurring_jobs.id;
CREATE TABLE servers (
    id character varying(64) NOT NULL,
    host character varying(255) NOT NULL,
    p_id bigint NOT NULL,
    started_at timestamp with time zone NOT NULL,
    heartbeat_at timestamp with time zone NOT NULL,
    queues character varying(1000) DEFAULT ''::character varying NOT NULL,
    workers bigint DEFAULT 0 NOT NULL,
    busy bigint DEFAULT 0 NOT NULL
);
CREATE TABLE sessions (
    id character varying(64) NOT NULL,
    user_id bigint NOT NULL,
    created_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    ip character varying(64) DEFAULT ''::character varying NOT NULL,
    user_agent character varying(255) DEFAULT ''::character varying NOT NULL
);
CREATE TABLE settings (
    name character varying(64) NOT NULL,
    value bytea NOT NULL
);
CREATE TABLE tasks (
    id bigint NOT NULL,
    title character varying(200) NOT NULL,
    description character varying(5000) DEFAULT ''::character varying NOT NULL,
    due_at timestamp with time zone NOT NULL,
    completed boolean DEFAULT false NOT NULL,
    completed_at timestamp with time zone,
    completed_by character varying(20) DEFAULT ''::character varying NOT NULL,
    created_at timestamp with time zone,
    updated_at timestamp with time zone
);
CREATE SEQUENCE tasks_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE tasks_id_seq OWNED BY tasks.id;
CREATE TABLE users (
    id bigint NOT NULL,
    username character varying(64) NOT NULL,
    password_hash character varying(100) NOT NULL,
    role character varying(10) NOT NULL,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    last_login_at timestamp with time zone
);
CREATE SEQUENCE users_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE users_id_seq OWNED BY users.id;
ALTER TABLE ONLY job_events ALTER COLUMN id SET DEFAULT nextval('job_events_id_seq'::regclass);
ALTER TABLE ONLY job_logs ALTER COLUMN id SET DEFAULT nextval('job_logs_id_seq'::regclass);
ALTER TABLE ONLY job_queue_count_deltas ALTER COLUMN id SET DEFAULT nextval('job_queue_count_deltas_id_seq'::regclass);
ALTER TABLE ONLY jobs ALTER COLUMN id SET DEFAULT nextval('jobs_id_seq'::regclass);
ALTER TABLE ONLY recurring_jobs ALTER COLUMN id SET DEFAULT nextval('recurring_jobs_id_seq'::regclass);
ALTER TABLE ONLY tasks ALTER COLUMN id SET DEFAULT nextval('tasks_id_seq'::regclass);
ALTER TABLE ONLY users ALTER COLUMN id SET DEFAULT nextval('users_id_seq'::regclass);
ALTER TABLE ONLY job_events
    ADD CONSTRAINT job_events_pkey PRIMARY KEY (id);
ALTER TABLE ONLY job_logs
    ADD CONSTRAINT job_logs_pkey PRIMARY KEY (id);
ALTER TABLE ONLY job_queue_count_deltas
    ADD CONSTRAINT job_queue_count_deltas_pkey PRIMARY KEY (id);
ALTER TABLE ONLY job_queue_counts
    ADD CONSTRAINT job_queue_counts_pkey PRIMARY KEY (queue, state);
ALTER TABLE ONLY job_stats
    ADD CONSTRAINT job_stats_pkey PRIMARY KEY (period, bucket);
ALTER TABLE ONLY jobs
    ADD CONSTRAINT jobs_pkey PRIMARY KEY (id);
ALTER TABLE ONLY queue_settings
    ADD CONSTRAINT queue_settings_pkey PRIMARY KEY (name);
ALTER TABLE ONLY recurring_jobs
    ADD CONSTRAINT recurring_jobs_pkey PRIMARY KEY (id);
ALTER TABLE ONLY servers
    ADD CONSTRAINT servers_pkey PRIMARY KEY (id);
ALTER TABLE ONLY sessions
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (id);
ALTER TABLE ONLY settings
    ADD CONSTRAINT settings_pkey PRIMARY KEY (name);
ALTER TABLE ONLY tasks
    ADD CONSTRAINT tasks_pkey PRIMARY KEY (id);
ALTER TABLE ONLY users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);
CREATE INDEX idx_job_events_job_id ON job_events USING btree (job_id);
CREATE INDEX idx_job_logs_job_id ON job_logs USING btree (job_id);
CREATE INDEX idx_jobs_claim ON jobs USING btree (queue, priority DESC, run_at, id) WHERE ((state)::text = 'enqueued'::text);
CREATE INDEX idx_jobs_kind_id ON jobs USING btree (kind, id);
CREATE INDEX idx_jobs_parent_id ON jobs USING btree (parent_id);
CREATE INDEX idx_jobs_recurring_id ON jobs USING btree (recurring_id);
CREATE INDEX idx_jobs_scheduled ON jobs USING btree (run_at, id) WHERE ((state)::text = 'scheduled'::text);
CREATE INDEX idx_jobs_state_id ON jobs USING btree (state, id);
CREATE UNIQUE INDEX idx_jobs_unique_key ON jobs USING btree (unique_key);
CREATE INDEX idx_jobs_waiting ON jobs USING btree (queue, run_at) WHERE ((state)::text = 'enqueued'::text);
CREATE UNIQUE INDEX idx_recurring_jobs_name ON recurring_jobs USING btree (name);
CREATE INDEX idx_servers_heartbeat_at ON servers USING btree (heartbeat_at);
CREATE INDEX idx_sessions_expires_at ON sessions USING btree (expires_at);
CREATE INDEX idx_sessions_user_id ON sessions USING btree (user_id);
CREATE INDEX idx_tasks_completed_due_at ON tasks USING btree (completed, due_at);
CREATE UNIQUE INDEX idx_users_username ON users USING btree (username);
