// Package api holds the JSON API's request and response bodies: the server (web) decodes and
// encodes them, its OpenAPI document is generated from them, and the Go client (client)
// speaks them. Field tags carry the documentation and bounds the document shows.
package api

import (
	"encoding/json"
	"time"
)

// Job is a job as the API shows it.
type Job struct {
	ID int64 `json:"id"`
	// Duplicate is set on an enqueue's answer when the job existed before: its unique key (or
	// Idempotency-Key, or its kind's uniqueness) was taken, and this is the job holding it.
	Duplicate   bool            `json:"duplicate,omitempty" doc:"On an enqueue's answer: the job existed already (same unique key, Idempotency-Key or kind uniqueness) and nothing new was made."`
	Kind        string          `json:"kind"`
	Queue       string          `json:"queue"`
	State       string          `json:"state" enum:"scheduled,awaiting,enqueued,processing,succeeded,failed,cancelled,deleted,skipped"`
	Priority    int             `json:"priority"`
	Args        json.RawMessage `json:"args" doc:"The job's arguments, as given."`
	Attempt     int             `json:"attempt" doc:"Attempts used so far."`
	MaxAttempts int             `json:"max_attempts"`
	RunAt       time.Time       `json:"run_at" doc:"When the job may run (a delayed or retried job waits for it)."`
	CreatedAt   time.Time       `json:"created_at"`
	StartedAt   *time.Time      `json:"started_at,omitempty"`
	FinishedAt  *time.Time      `json:"finished_at,omitempty"`
	ServerID    string          `json:"server_id,omitempty" doc:"The Kiln process that ran it last."`
	LastError   string          `json:"last_error,omitempty"`
	UniqueKey   *string         `json:"unique_key,omitempty"`
	ParentID    *int64          `json:"parent_id,omitempty" doc:"The job this one continues."`
	RecurringID *int64          `json:"recurring_id,omitempty"`
	Progress    int             `json:"progress" minimum:"0" maximum:"100"`
	Timeout     string          `json:"timeout,omitempty" doc:"How long one attempt may run, as a Go duration."`
	Result      json.RawMessage `json:"result,omitempty" doc:"What a succeeded job returned."`
	Rescues     int             `json:"rescues" doc:"Times the job went back to its queue because its server died."`
	Tags        []string        `json:"tags,omitempty"`
	TraceParent string          `json:"trace_parent,omitempty" doc:"The W3C traceparent of the span that enqueued the job, when tracing was on: its attempts' spans join that trace."`
}

// Event is one state change of a job.
type Event struct {
	From     string    `json:"from,omitempty"`
	To       string    `json:"to"`
	At       time.Time `json:"at"`
	Attempt  int       `json:"attempt"`
	Reason   string    `json:"reason,omitempty"`
	Error    string    `json:"error,omitempty"`
	ServerID string    `json:"server_id,omitempty"`
	Duration string    `json:"duration,omitempty" doc:"How long the attempt ran, as a Go duration."`
}

// JobSpec is a job to enqueue.
type JobSpec struct {
	Kind        string          `json:"kind" minLength:"1" maxLength:"100" doc:"The job's kind: http.request, exec, or one your workers register (a kind no server registered in the last 7 days is refused; see allow_unknown_kind). Text without control characters or line breaks, bidi controls (U+202E...), invisible characters (U+200B...) or spaces other than the plain one; not . or ..."`
	Args        json.RawMessage `json:"args,omitempty" doc:"The job's arguments: any JSON value (an object, usually), nesting arrays and objects at most 64 levels deep."`
	Queue       string          `json:"queue,omitempty" maxLength:"100" doc:"Default: the kind's queue, else default. No spaces, commas, '=', control characters, bidi controls or invisible characters; not . or ..."`
	Priority    *int            `json:"priority,omitempty" doc:"Higher runs first within a queue."`
	MaxAttempts *int            `json:"max_attempts,omitempty" minimum:"1" maximum:"1000"`
	Timeout     string          `json:"timeout,omitempty" doc:"How long one attempt may run, as a Go duration (30s, 5m)."`
	RunAt       *time.Time      `json:"run_at,omitempty" doc:"Run at this time (RFC 3339) rather than at once."`
	Delay       string          `json:"delay,omitempty" doc:"Run after this Go duration rather than at once."`
	UniqueKey   string          `json:"unique_key,omitempty" maxLength:"255" doc:"At most one job with this key exists: enqueueing it again returns the first. Text without control, invisible (format) or bidi characters."`
	Tags        []string        `json:"tags,omitempty" maxItems:"10" doc:"Labels to find the job by (GET /v1/jobs?tag=): each 1 to 50 letters, digits, '.', '_', ':' or '-'."`
	// AllowUnknownKind takes a kind no server has registered lately, which is otherwise refused.
	AllowUnknownKind bool `json:"allow_unknown_kind,omitempty" doc:"A kind no server has registered in the last 7 days is refused (422, naming the known kinds), as a typo would be: no worker would run it. true takes it anyway, for workers that are not up yet."`
}

// Kind is a registered kind.
type Kind struct {
	Name        string          `json:"name"`
	Queue       string          `json:"queue"`
	Priority    int             `json:"priority"`
	MaxAttempts int             `json:"max_attempts"`
	Timeout     string          `json:"timeout,omitempty"`
	ArgsSchema  json.RawMessage `json:"args_schema,omitempty" doc:"A JSON Schema of the arguments, when the kind declares their type."`
}

// LogLine is one line a job logged.
type LogLine struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	Message string    `json:"message"`
}

// Recurring is a recurring job.
type Recurring struct {
	Name        string          `json:"name"`
	Spec        string          `json:"spec" doc:"A cron expression, a descriptor such as @daily, or @every <duration>."`
	TimeZone    string          `json:"time_zone"`
	Description string          `json:"description,omitempty" doc:"The schedule in words."`
	Kind        string          `json:"kind"`
	Args        json.RawMessage `json:"args"`
	Queue       string          `json:"queue"`
	Misfire     string          `json:"misfire" enum:"relaxed,strict,ignore"`
	Overlap     string          `json:"overlap" enum:"allow,skip,replace" doc:"While the job of the occurrence before is unfinished: allow enqueues anyway, skip enqueues nothing (counted in skipped), replace cancels that job first."`
	Skipped     int64           `json:"skipped" doc:"Occurrences skipped by the overlap policy."`
	LastSkipped *time.Time      `json:"last_skipped_at,omitempty"`
	Paused      bool            `json:"paused"`
	Overridden  bool            `json:"overridden" doc:"The schedule was changed by a person, and outlives the code's."`
	Edited      bool            `json:"edited" deprecated:"true" doc:"Deprecated: the old name of overridden, always equal to it; read overridden."`
	CreatedBy   string          `json:"created_by,omitempty" doc:"Who made it at run time (dashboard or API); absent for one a server's code defines."`
	NextRunAt   *time.Time      `json:"next_run_at,omitempty"`
	LastRunAt   *time.Time      `json:"last_run_at,omitempty"`
	LastJobID   *int64          `json:"last_job_id,omitempty"`
	NextRuns    []time.Time     `json:"next_runs,omitempty" doc:"The occurrences after next_run_at."`
	ClockNotes  []string        `json:"clock_notes,omitempty" doc:"What clock changes do to those runs."`
}

// Queue is a queue.
type Queue struct {
	Name       string     `json:"name"`
	Enqueued   int64      `json:"enqueued"`
	Scheduled  int64      `json:"scheduled"`
	Processing int64      `json:"processing"`
	Failed     int64      `json:"failed"`
	Oldest     *time.Time `json:"oldest_enqueued,omitempty" doc:"When the job waiting longest became due."`
	Paused     bool       `json:"paused"`
	PausedBy   string     `json:"paused_by,omitempty"`
}

// Server is a running Kiln process.
type Server struct {
	ID          string    `json:"id"`
	Host        string    `json:"host"`
	PID         int       `json:"pid"`
	StartedAt   time.Time `json:"started_at"`
	HeartbeatAt time.Time `json:"heartbeat_at"`
	Queues      string    `json:"queues" doc:"The queues it works and their workers, e.g. critical=10,default=5."`
	Workers     int       `json:"workers"`
	Busy        int       `json:"busy"`
}

// Task is a task.
type Task struct {
	ID          int64      `json:"id"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	DueAt       time.Time  `json:"due_at"`
	Status      string     `json:"status" enum:"pending,overdue,completed"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	CompletedBy string     `json:"completed_by,omitempty" doc:"user, or sweeper when the overdue sweep completed it."`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// TaskSpec is what a caller sets on a task.
type TaskSpec struct {
	Title       string    `json:"title" doc:"At most 200 characters, no control characters."`
	Description string    `json:"description,omitempty" doc:"At most 5,000 characters."`
	DueAt       time.Time `json:"due_at" doc:"When the task is due (RFC 3339); once past, the overdue sweep completes it."`
}

// JobDetail is a job with its history.
type JobDetail struct {
	Job
	Events []Event `json:"events"`
	// WaitingForSlot is what the job's page shows as "waiting for a slot (...)".
	WaitingForSlot string `json:"waiting_for_slot,omitempty" doc:"Why an enqueued job is not running yet although workers may be free: its kind's cap on running jobs is reached (\"2 of 2 of its kind running\") or its rate is used up for now (\"100 of its kind started this 1m0s, the most allowed\"). Absent when neither holds it back."`
}

// JobPage is a page of jobs, newest first.
type JobPage struct {
	Jobs []Job  `json:"jobs"`
	Next string `json:"next,omitempty" doc:"Pass as after= for the next (older) page; absent on the last page."`
}

// Logs is a job's log.
type Logs struct {
	Logs []LogLine `json:"logs"`
}

// Batch is many jobs to enqueue at once.
type Batch struct {
	Jobs []JobSpec `json:"jobs" minItems:"1" maxItems:"1000"`
}

// BatchResult is the jobs a batch made, in order.
type BatchResult struct {
	Jobs []Job `json:"jobs" doc:"In the order given; a job whose unique_key was taken is the job that holds it."`
}

// Stats is what the overview counts.
type Stats struct {
	Jobs           map[string]int64 `json:"jobs" doc:"Jobs by state."`
	RetriesPending int64            `json:"retries_pending" doc:"Failed attempts waiting to run again."`
	Recurring      int64            `json:"recurring"`
	Servers        int              `json:"servers"`
}

// KindMetrics is a kind's counts, last day, limits and recent failures, as its dashboard page
// shows them.
type KindMetrics struct {
	Name       string           `json:"name"`
	Registered bool             `json:"registered" doc:"This server has the kind's code."`
	Counts     map[string]int64 `json:"counts" doc:"Jobs of the kind kept, per state (states with none left out)."`
	Last24h    KindDay          `json:"last_24h"`
	Limits     KindLimits       `json:"limits"`
	Failures   []KindFailure    `json:"failures" doc:"The kind's newest failed jobs (500 at most), grouped by the first line of their error, most frequent first."`
}

// KindDay is a kind's outcomes and run times over the last 24 hours.
type KindDay struct {
	Succeeded int64   `json:"succeeded"`
	Failed    int64   `json:"failed"`
	P50Ms     float64 `json:"p50_ms" doc:"Median run time, from a histogram: off by 41% at worst."`
	P95Ms     float64 `json:"p95_ms" doc:"95th percentile run time, from a histogram: off by 41% at worst."`
	MaxMs     float64 `json:"max_ms"`
	MeanMs    float64 `json:"mean_ms"`
}

// KindLimits are a kind's cap and rate across every node; zeros are no limit.
type KindLimits struct {
	MaxRunning int    `json:"max_running" minimum:"0" maximum:"1000000" doc:"At most this many run at once; 0 for no cap."`
	RateN      int    `json:"rate_n" minimum:"0" maximum:"1000000000" doc:"At most this many start per rate_per; 0 for no rate limit."`
	RatePer    string `json:"rate_per,omitempty" maxLength:"20" doc:"A Go duration of whole seconds (1s to 744h), such as 1m; needed when rate_n > 0."`
}

// SetKindLimits is a kind's new cap and rate, replacing both; a field left out is 0 (no limit).
type SetKindLimits struct {
	MaxRunning int    `json:"max_running,omitempty" minimum:"0" maximum:"1000000" doc:"At most this many run at once; 0 or absent for no cap."`
	RateN      int    `json:"rate_n,omitempty" minimum:"0" maximum:"1000000000" doc:"At most this many start per rate_per; 0 or absent for no rate limit."`
	RatePer    string `json:"rate_per,omitempty" maxLength:"20" doc:"A Go duration of whole seconds (1s to 744h), such as 1m; needed when rate_n > 0."`
}

// KindFailure is a group of a kind's recent failures with one message.
type KindFailure struct {
	Message   string     `json:"message"`
	Count     int        `json:"count"`
	LastJobID int64      `json:"last_job_id"`
	LastAt    *time.Time `json:"last_at,omitempty"`
}

// KindList is the kinds a server works.
type KindList struct {
	Kinds []Kind `json:"kinds"`
}

// RecurringList is the recurring jobs.
type RecurringList struct {
	Recurring []Recurring `json:"recurring"`
}

// RecurringAction is a recurring job after an action, and the job a trigger made.
type RecurringAction struct {
	Recurring Recurring `json:"recurring"`
	Job       *Job      `json:"job,omitempty" doc:"The job a trigger enqueued."`
}

// Schedule is a recurring job's schedule.
type Schedule struct {
	Spec     string `json:"spec" minLength:"1" maxLength:"200"`
	TimeZone string `json:"time_zone" minLength:"1" maxLength:"100" doc:"An IANA time zone, e.g. Europe/Berlin."`
	Overlap  string `json:"overlap,omitempty" enum:"allow,skip,replace" doc:"Change the overlap policy too; unchanged when absent."`
}

// QueueList is the queues.
type QueueList struct {
	Queues []Queue `json:"queues"`
}

// ServerList is the running Kiln processes.
type ServerList struct {
	Servers []Server `json:"servers"`
}

// TaskList is a page of tasks.
type TaskList struct {
	Tasks []Task `json:"tasks" doc:"Open tasks by due date, completed ones by completion, latest first."`
}

// RecurringSpec is a recurring job to create.
type RecurringSpec struct {
	Name        string          `json:"name" minLength:"1" maxLength:"200" doc:"Text without control characters or line breaks, bidi controls (U+202E...), invisible characters (U+200B...) or spaces other than the plain one; not . or ..."`
	Spec        string          `json:"spec" minLength:"1" maxLength:"200" doc:"A cron expression (5 fields, or 6 with seconds first), a descriptor such as @daily, or @every <duration>."`
	TimeZone    string          `json:"time_zone,omitempty" maxLength:"100" doc:"An IANA time zone the schedule is read in; default UTC."`
	Kind        string          `json:"kind" minLength:"1" maxLength:"100"`
	Args        json.RawMessage `json:"args,omitempty" doc:"The arguments of every job it enqueues, nesting arrays and objects at most 64 levels deep."`
	Queue       string          `json:"queue,omitempty" maxLength:"100"`
	Priority    *int            `json:"priority,omitempty"`
	MaxAttempts *int            `json:"max_attempts,omitempty" minimum:"1" maximum:"1000"`
	Timeout     string          `json:"timeout,omitempty" doc:"How long one attempt may run, as a Go duration."`
	Misfire     string          `json:"misfire,omitempty" enum:"relaxed,strict,ignore" doc:"What to do with occurrences missed while no server ran: relaxed (default) runs the latest once, strict each (at most 100), ignore none."`
	Overlap     string          `json:"overlap,omitempty" enum:"allow,skip,replace" doc:"While the job of the occurrence before is unfinished: allow (default) enqueues anyway, skip enqueues nothing, replace cancels that job first."`
	// AllowUnknownKind takes a kind no server has registered lately, which is otherwise refused.
	AllowUnknownKind bool `json:"allow_unknown_kind,omitempty" doc:"A kind no server has registered in the last 7 days is refused (422, naming the known kinds), as a typo would be: no worker would run it. true takes it anyway, for workers that are not up yet."`
}

// Secret is a named secret: never its value.
type Secret struct {
	Name      string    `json:"name" doc:"Refer to it as ${secret:NAME} in http.request and exec arguments"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
}

// SecretList is the secrets, by name.
type SecretList struct {
	Secrets []Secret `json:"secrets"`
}

// SecretValue is a secret's new value.
type SecretValue struct {
	Value string `json:"value" minLength:"1" maxLength:"8192" doc:"The value; it is never shown again"`
}

// Channel is an alert channel: where alerts' messages go. Secrets in its settings are
// ${secret:NAME} references, never values.
type Channel struct {
	Name        string          `json:"name" doc:"The channel's name, as rules and kiln alerts test name it"`
	Type        string          `json:"type" enum:"webhook,slack,mattermost,discord,teams,ntfy,email"`
	Settings    ChannelSettings `json:"settings"`
	CreatedBy   string          `json:"created_by"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	LastSentAt  *time.Time      `json:"last_sent_at,omitempty" doc:"When a message last went through."`
	LastError   string          `json:"last_error,omitempty" doc:"Why the last message that failed did, secrets masked."`
	LastErrorAt *time.Time      `json:"last_error_at,omitempty"`
	Notice      string          `json:"notice,omitempty" doc:"On a create or change only: what saving did that the caller should know, such as a chat webhook's URL typed raw kept as a secret, not shown again."`
}

// ChannelSettings are a channel's fields; which apply depends on its type, the others are
// dropped when it is saved.
type ChannelSettings struct {
	URL           string   `json:"url,omitempty" maxLength:"2000" doc:"webhook and the presets: where to post (ntfy: the topic's URL). May hold ${secret:NAME} references, or be one."`
	Template      string   `json:"template,omitempty" maxLength:"20000" doc:"webhook: a Go text/template of the body, run on the Message; it must write JSON (json quotes a value: {{json .Title}}). Empty: the Message as JSON."`
	SigningSecret string   `json:"signing_secret,omitempty" maxLength:"100" doc:"webhook: ${secret:NAME} of the key that signs each body: X-Kiln-Signature: sha256=HMAC-SHA256(key, X-Kiln-Timestamp + \".\" + body) in hex."`
	SMTPHost      string   `json:"smtp_host,omitempty" maxLength:"255" doc:"email: the SMTP server's host name."`
	SMTPPort      int      `json:"smtp_port,omitempty" minimum:"0" maximum:"65535" doc:"email: its port; 0: 587 for starttls, 465 for tls, 25 for none."`
	SMTPSecurity  string   `json:"smtp_security,omitempty" enum:"none,starttls,tls" doc:"email: STARTTLS (the default), TLS from the first byte, or none (no login allowed)."`
	SMTPUser      string   `json:"smtp_user,omitempty" maxLength:"255" doc:"email: the user to log in as, if any."`
	SMTPPassword  string   `json:"smtp_password,omitempty" maxLength:"100" doc:"email: ${secret:NAME} of the user's password."`
	From          string   `json:"from,omitempty" maxLength:"255" doc:"email: the sender's address."`
	To            []string `json:"to,omitempty" maxItems:"20" doc:"email: the recipients' addresses."`
}

// ChannelSpec is a channel to create (its name in the body) or to change (its name in the
// path).
type ChannelSpec struct {
	Name     string          `json:"name,omitempty" maxLength:"64" doc:"1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit. Creating only: a change names the channel in its path."`
	Type     string          `json:"type" enum:"webhook,slack,mattermost,discord,teams,ntfy,email"`
	Settings ChannelSettings `json:"settings"`
}

// ChannelList is the channels, by name.
type ChannelList struct {
	Channels []Channel `json:"channels"`
}

// ChannelTest is what a channel's test sent.
type ChannelTest struct {
	Channel string       `json:"channel"`
	SentAt  time.Time    `json:"sent_at"`
	Message AlertMessage `json:"message" doc:"The sample message sent."`
}

// AlertMessage is what a channel says about an alert: a webhook without a template posts it
// as its JSON body. It is package alerts' Message (TestAlertMessageIsTheWebhookBody keeps them
// the same), documented here for the API.
type AlertMessage struct {
	Rule    string        `json:"rule" doc:"The rule's name."`
	AlertID int64         `json:"alert_id" doc:"The alert's id."`
	Status  string        `json:"status" enum:"firing,resolved" doc:"firing: the alert opened, or repeats while it holds; resolved: its condition cleared."`
	Title   string        `json:"title" doc:"One line, e.g. \"nightly-backup: 3 failures in a row\" (an email's subject)."`
	Summary string        `json:"summary" doc:"A few lines of plain text: what happened and what to look at."`
	Count   int           `json:"count" doc:"How many jobs or occurrences the alert covers."`
	Jobs    []AlertJobRef `json:"jobs" doc:"The first few of them (at most 5)."`
	URL     string        `json:"url,omitempty" doc:"The page to open, absolute under --public-url; absent without it."`
	At      time.Time     `json:"at" doc:"When the alert opened, repeated or resolved."`
}

// AlertJobRef is a job an alert's message links to.
type AlertJobRef struct {
	ID    int64  `json:"id"`
	Kind  string `json:"kind"`
	Queue string `json:"queue"`
	State string `json:"state"`
	Error string `json:"error,omitempty" doc:"The first line of its error."`
	URL   string `json:"url,omitempty" doc:"Its page, under --public-url."`
}

// Alert is one alert rule's condition holding for one subject, from its opening to its
// resolution.
type Alert struct {
	ID             int64      `json:"id"`
	Rule           string     `json:"rule" doc:"The rule's name"`
	Subject        string     `json:"subject" doc:"The kind, queue or recurring job it is about"`
	State          string     `json:"state" enum:"open,resolved"`
	OpenedAt       time.Time  `json:"opened_at"`
	LastNotifiedAt time.Time  `json:"last_notified_at" doc:"When its channels were last told"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
	Count          int64      `json:"count" doc:"How many failed jobs, missed occurrences or stuck jobs it covers"`
	JobIDs         []int64    `json:"job_ids" doc:"Its first few jobs"`
	Messages       int64      `json:"messages" doc:"How many times it told its channels"`
	AcknowledgedBy string     `json:"acknowledged_by,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	SilencedUntil  *time.Time `json:"silenced_until,omitempty"`
}

// AlertList is alerts, newest first.
type AlertList struct {
	Alerts []Alert `json:"alerts"`
}

// AlertSilence silences an alert's repeats.
type AlertSilence struct {
	Until time.Time `json:"until" doc:"Until when its repeats are muted (RFC 3339), a time still to come; its resolution is still told. DELETE the silence to unmute it."`
}

// AlertRuleSpec is what an alert rule watches, when it fires and where its messages go.
type AlertRuleSpec struct {
	Name        string   `json:"name" minLength:"1" maxLength:"200"`
	Watch       string   `json:"watch" enum:"failed,failed-in-a-row,failures-within,missed-schedule,running-longer,backlog,no-workers" doc:"What it watches; see the README's Alert rules"`
	Scope       string   `json:"scope" enum:"kind,queue,recurring" doc:"Whose jobs: a kind's, a queue's or a recurring job's"`
	Target      string   `json:"target,omitempty" maxLength:"200" doc:"The kind, queue or recurring job; empty: every one, each its own alert"`
	Threshold   int      `json:"threshold,omitempty" minimum:"0" doc:"N of failed-in-a-row, failures-within (more than N) and backlog (more than N)"`
	Within      string   `json:"within,omitempty" doc:"The window of failures-within, as a Go duration (10m)"`
	Grace       string   `json:"grace,omitempty" doc:"How long after it was due an occurrence may take to succeed (missed-schedule), as a Go duration"`
	LongerThan  string   `json:"longer_than,omitempty" doc:"How long a job may run (running-longer) or wait (backlog), as a Go duration"`
	Channels    []string `json:"channels,omitempty" maxItems:"20" doc:"The names of the channels its messages go to"`
	RepeatEvery string   `json:"repeat_every,omitempty" doc:"The least time between two messages of an open alert, as a Go duration; none: it never repeats"`
	Enabled     *bool    `json:"enabled,omitempty" doc:"Whether it is evaluated. Default on a rule made: true; on a rule changed: as it was"`
}

// AlertRule is a stored alert rule.
type AlertRule struct {
	AlertRuleSpec
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// AlertRuleList is the alert rules, by name.
type AlertRuleList struct {
	Rules []AlertRule `json:"rules"`
}
