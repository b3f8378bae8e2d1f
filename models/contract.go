package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// The storage contract, grouped by domain. The engine (jobs), the web layer and the tools depend
// on these interfaces; *Store implements them all, on either driver, and exports nothing else
// (TestStorageIsEveryStoreMethod checks both ways). Each interface lists only what code outside
// tests calls. What only tests need is not on *Store: the GORM handle, recounting the counters
// and the search window are reached through models/modeltest, and the single-limit setters and
// the session count are in export_test.go.

// JobStore is the life of jobs as the engine drives it: enqueue, claim, finish, leases, rescue,
// promotion, people's actions, logs, progress, retention and the counters' upkeep.
type JobStore interface {
	InsertJobs(ctx context.Context, jobs []*Job, now time.Time) (dups []int, err error)
	// KindCapped reports whether the kind has a cap on running jobs (from a copy at most a
	// second old).
	KindCapped(ctx context.Context, kind string) bool
	// ApplyCodeLimits stores the limits the code gives kinds where the code changed since.
	ApplyCodeLimits(ctx context.Context, code []KindLimit) ([]string, error)
	// InsertJobsTx inserts inside the caller's GORM transaction (jobs.Engine.EnqueueTx).
	InsertJobsTx(tx *gorm.DB, jobs []*Job, now time.Time) (dups []int, err error)
	InsertAndClaimJob(ctx context.Context, j *Job, now time.Time, p ClaimParams) (claimed bool, err error)
	ClaimJobs(ctx context.Context, p ClaimParams) ([]*Job, error)
	// TraceParents returns the trace parents of the jobs ids that have one: a tracing engine
	// asks after a claim, which does not read them, so that tracing off costs the claim nothing.
	TraceParents(ctx context.Context, ids []int64) (map[int64]string, error)
	FinishJobs(ctx context.Context, batch []JobFinish) (applied int, queues []string, err error)
	ExtendLeases(ctx context.Context, serverID string, until time.Time) (int64, error)
	NotRunningHere(ctx context.Context, serverID string, ids []int64) ([]int64, error)
	RescueJobs(ctx context.Context, p RescueParams) (Rescue, error)
	PromoteScheduled(ctx context.Context, now time.Time, limit int) (int, []string, error)
	CancelJob(ctx context.Context, id int64, reason string) (*Job, []string, error)
	DeleteJob(ctx context.Context, id int64, reason string) (*Job, []string, error)
	RequeueJob(ctx context.Context, id int64, reason string) (*Job, []string, error)
	TriggerJob(ctx context.Context, id int64, reason string) (*Job, []string, error)
	AppendJobLogs(ctx context.Context, lines []JobLog) error
	SetJobProgress(ctx context.Context, jobID int64, pct int) error
	CleanupJobs(ctx context.Context, states []JobState, before time.Time, batch int) (int64, error)
	CleanupStats(ctx context.Context, now time.Time) error
	FoldJobCounts(ctx context.Context) error
	RefreshJobStatistics(ctx context.Context) (bool, error)
	// ListenForJobs hears of jobs other nodes make ready, where the database can tell (Shared).
	ListenForJobs(ctx context.Context, wake func(queue string), onError func(error))
	Shared() bool
}

// KindLimitStore keeps the kinds' caps on running jobs and their rates, as people set them on
// a kind's page or through the API (the engine's code limits go through JobStore.ApplyCodeLimits).
type KindLimitStore interface {
	KindLimits(ctx context.Context) (map[string]KindLimit, error)
	// SetKindLimits replaces a kind's cap and rate together; zeros remove them.
	SetKindLimits(ctx context.Context, kind string, l KindLimit) error
	// KindRateUsed is how many jobs of the kind started in the current window of its rate.
	KindRateUsed(ctx context.Context, l KindLimit, now time.Time) (int, error)
}

// JobQueries read jobs and their history for people: the dashboard and the API.
type JobQueries interface {
	GetJob(ctx context.Context, id int64) (*Job, error)
	JobEvents(ctx context.Context, jobID int64) ([]JobEvent, error)
	JobLogs(ctx context.Context, jobID int64) ([]JobLog, error)
	// NewestJobLogs reads the newest n lines only, oldest first, and counts those before them.
	NewestJobLogs(ctx context.Context, jobID int64, n int) (logs []JobLog, earlier int64, err error)
	ListJobs(ctx context.Context, f JobFilter, before, after int64, limit int) (JobPage, error)
	LatestActivity(ctx context.Context, n int, exceptKinds []string) ([]Job, error)
	RunningByQueue(ctx context.Context, servers []string) (map[string]int64, error)
	JobIDs(ctx context.Context, f JobFilter, below int64, limit int) ([]int64, error)
	CountJobs(ctx context.Context, f JobFilter) (int64, error)
	Continuations(ctx context.Context, parentID int64) ([]Job, error)
	Distinct(ctx context.Context, column string) ([]string, error)
	CountJobsByState(ctx context.Context) (map[JobState]int64, error)
	CountJobsByQueue(ctx context.Context) (map[string]map[JobState]int64, error)
	CountJobsByKind(ctx context.Context) (map[string]map[JobState]int64, error)
	KindStats(ctx context.Context, kind string, since time.Time) ([]KindStat, error)
	KindFailures(ctx context.Context, kind string, scan int) ([]FailureGroup, error)
	RetriesPending(ctx context.Context) (int64, error)
	Stats(ctx context.Context, period string, since time.Time) ([]JobStat, error)
}

// RecurringStore keeps the recurring jobs' definitions and next occurrences.
type RecurringStore interface {
	UpsertRecurring(ctx context.Context, def *RecurringJob, next func() time.Time) (*RecurringJob, error)
	// UpdateRecurring runs fn under the entry's lock; fn may enqueue through tx, in the same
	// transaction.
	UpdateRecurring(ctx context.Context, name string, fn func(tx Tx, rj *RecurringJob) error) (*RecurringJob, error)
	ListRecurring(ctx context.Context) ([]RecurringJob, error)
	GetRecurring(ctx context.Context, name string) (*RecurringJob, error)
	GetRecurringByID(ctx context.Context, id int64) (*RecurringJob, error)
	CountRecurring(ctx context.Context) (int64, error)
	CreateRecurring(ctx context.Context, def *RecurringJob, next time.Time) (*RecurringJob, error)
	DeleteRecurring(ctx context.Context, name string) error
}

// Tx is a transaction a callback of the store may write jobs in.
type Tx interface {
	InsertJobs(jobs []*Job, now time.Time) (dups []int, err error)
	// JobState is the job's state, or "" when it does not exist.
	JobState(id int64) (JobState, error)
	// CancelJob cancels a job that has not finished, as Store.CancelJob does.
	CancelJob(id int64, reason string) (before *Job, queues []string, err error)
}

// ServerStore is the registry of running Kiln processes, and of the kinds they register.
type ServerStore interface {
	UpsertServer(ctx context.Context, srv *Server) error
	DeleteServer(ctx context.Context, id string) error
	DeleteStaleServers(ctx context.Context, d time.Duration) (int64, error)
	Servers(ctx context.Context) ([]Server, error)
	// RecordKinds records that a server registers these kinds, now.
	RecordKinds(ctx context.Context, kinds []string) error
	// KindsSeen lists the kinds some server registered within the last d.
	KindsSeen(ctx context.Context, d time.Duration) ([]string, error)
}

// QueueStore keeps the queues' settings and reports on them.
type QueueStore interface {
	PausedQueues(ctx context.Context) (map[string]bool, error)
	SetQueuePaused(ctx context.Context, name string, paused bool, by string) error
	QueueStats(ctx context.Context) ([]QueueStat, error)
}

// TaskStore keeps the app's tasks.
type TaskStore interface {
	CreateTask(ctx context.Context, in TaskInput) (*Task, error)
	UpdateTask(ctx context.Context, id int64, in TaskInput) (*Task, error)
	GetTask(ctx context.Context, id int64) (*Task, error)
	ListTasks(ctx context.Context, f TaskFilter) ([]Task, error)
	CountTasks(ctx context.Context, now time.Time) (TaskCounts, error)
	CompleteTask(ctx context.Context, id int64, by string, at time.Time) (*Task, error)
	ReopenTask(ctx context.Context, id int64) (*Task, error)
	DeleteTask(ctx context.Context, id int64) error
	CompleteOverdueTasks(ctx context.Context, now time.Time) (int64, error)
	SeedDemoTasks(ctx context.Context, n int, every time.Duration, now time.Time) ([]Task, error)
}

// UserStore keeps who may log in.
type UserStore interface {
	CreateUser(ctx context.Context, username, password, role string) (*User, error)
	Authenticate(ctx context.Context, username, password string) (*User, error)
	ListUsers(ctx context.Context) ([]User, error)
	CountUsers(ctx context.Context) (int64, error)
	SetPassword(ctx context.Context, username, password string) error
	// SetUserRole gives the named user a role, and returns the one they had.
	SetUserRole(ctx context.Context, username, role string) (before string, err error)
	// DeleteUser removes a user with their sessions and API tokens.
	DeleteUser(ctx context.Context, username string) error
	// EndOIDCSessions ends the sessions of a provider account's user, if any.
	EndOIDCSessions(ctx context.Context, issuer, subject string) error
	SignInOIDC(ctx context.Context, in OIDCLogin) (*User, error)
}

// SessionStore keeps logins.
type SessionStore interface {
	CreateSession(ctx context.Context, userID int64, ttl time.Duration, ip, userAgent string) (string, *Session, error)
	SessionUser(ctx context.Context, token string) (*User, error)
	DeleteSession(ctx context.Context, id string) error
	SetSessionIDToken(ctx context.Context, id, idToken string) error
	SessionIDToken(ctx context.Context, id string) (string, error)
}

// TokenStore keeps the API tokens.
type TokenStore interface {
	CreateAPIToken(ctx context.Context, name, role string, ttl time.Duration, by, owner string) (string, *APIToken, error)
	TokenByValue(ctx context.Context, token string) (*APIToken, error)
	ListAPITokens(ctx context.Context) ([]APIToken, error)
	RevokeAPIToken(ctx context.Context, name string) error
	// RevokeOwnAPIToken revokes a token only if it belongs to owner.
	RevokeOwnAPIToken(ctx context.Context, owner, name string) error
}

// SecretStore keeps the named secrets, sealed; package secrets seals and opens them.
type SecretStore interface {
	PutSecret(ctx context.Context, name, sealed, by string) (created bool, err error)
	SecretByName(ctx context.Context, name string) (*SecretRow, error)
	ListSecrets(ctx context.Context) ([]SecretRow, error)
	DeleteSecret(ctx context.Context, name string) error
}

// ChannelStore keeps the alert channels: where alerts' messages go, and how their last
// deliveries went.
type ChannelStore interface {
	// CreateChannel and UpdateChannel write the sealed secrets given in the same transaction
	// as the channel: a chat webhook's URL, moved into the vault, and the channel that refers
	// to it are stored together or not at all.
	CreateChannel(ctx context.Context, ch *Channel, secrets ...SecretRow) error
	UpdateChannel(ctx context.Context, ch *Channel, secrets ...SecretRow) error
	ChannelByName(ctx context.Context, name string) (*Channel, error)
	ListChannels(ctx context.Context) ([]Channel, error)
	DeleteChannel(ctx context.Context, name string) error
	RecordChannelSend(ctx context.Context, name string, at time.Time, sendErr string) error
}

// SettingStore keeps the node-wide settings: the generated secrets.
type SettingStore interface {
	Secret(ctx context.Context, key string, n int) ([]byte, error)
}

// RuleStore keeps the alert rules and the alerts they open (package alerts evaluates them).
type RuleStore interface {
	CreateRule(ctx context.Context, r *AlertRule, now time.Time) (*AlertRule, error)
	// UpsertRule stores a rule the code defines, by name.
	UpsertRule(ctx context.Context, r *AlertRule, now time.Time) (*AlertRule, error)
	GetRule(ctx context.Context, name string) (*AlertRule, error)
	ListRules(ctx context.Context) ([]AlertRule, error)
	// UpdateRule replaces the named rule's definition; its alerts and creation stay.
	UpdateRule(ctx context.Context, r *AlertRule, now time.Time) (*AlertRule, error)
	DeleteRule(ctx context.Context, name string) error
	ListAlerts(ctx context.Context, open bool, limit int) ([]Alert, error)
	// ListAlertHistory pages the resolved alerts, newest first, from before an id (0: the newest).
	ListAlertHistory(ctx context.Context, before int64, limit int) ([]Alert, error)
	CountOpenAlerts(ctx context.Context) (int64, error)
	AcknowledgeAlert(ctx context.Context, id int64, by string, at time.Time) (*Alert, error)
	// SilenceAlert mutes an open alert's repeats until a time after now; UnsilenceAlert unmutes it.
	SilenceAlert(ctx context.Context, id int64, until, now time.Time) (*Alert, error)
	UnsilenceAlert(ctx context.Context, id int64) (*Alert, error)
	// EvaluateAlerts runs fn in a transaction holding the alerts' lease: one node at a time,
	// and none within minGap of the last.
	EvaluateAlerts(ctx context.Context, now time.Time, minGap time.Duration, fn func(tx *AlertTx) error) (ran bool, err error)
}

// AuditStore keeps the audit trail: who changed what, chained by hashes so that a change or a
// removal shows (VerifyAudit).
type AuditStore interface {
	AppendAudit(ctx context.Context, entries ...*AuditEntry) error
	ListAudit(ctx context.Context, f AuditFilter, before, after int64, limit int) (AuditPage, error)
	// PruneAudit deletes entries older than before, leaving a checkpoint to verify from.
	PruneAudit(ctx context.Context, before time.Time, batch int) (int64, error)
	VerifyAudit(ctx context.Context) (AuditVerification, error)
	// CompareAuditExport and CompareAuditHeads compare a copy kept outside the database (an
	// export, ids and hashes written down) with it, which shows what the chain alone can't.
	CompareAuditExport(ctx context.Context, exported []AuditEntry, keptSince time.Time) (AuditComparison, error)
	CompareAuditHeads(ctx context.Context, heads []AuditHead) (AuditComparison, error)
}

// WorkflowStore keeps workflows: runs of steps that wait for the steps they depend on.
type WorkflowStore interface {
	// CreateWorkflow checks the run's graph and stores it with its steps in one transaction.
	CreateWorkflow(ctx context.Context, wf *Workflow, steps []NewStep, now time.Time) error
	GetWorkflow(ctx context.Context, id int64) (*Workflow, error)
	// WorkflowSteps returns a run's steps with their jobs' states, times and dependencies.
	WorkflowSteps(ctx context.Context, id int64) ([]StepOf, error)
	// WorkflowGraph returns a run's steps one node each, a fan-out's jobs counted by state.
	WorkflowGraph(ctx context.Context, id int64) ([]StepNode, error)
	// ListWorkflows returns a keyset page of runs, newest first; WorkflowOfJob the run a job is
	// a step of (nil when none).
	ListWorkflows(ctx context.Context, f WorkflowFilter, before int64, limit int) (WorkflowPage, error)
	WorkflowOfJob(ctx context.Context, jobID int64) (*Workflow, *WorkflowStep, error)
	// WorkflowStartedBy returns the run job jobID started (its StartJobID), nil when none.
	WorkflowStartedBy(ctx context.Context, jobID int64) (*Workflow, error)
	// CancelWorkflow cancels a running run's unfinished steps; RetryWorkflow runs again an ended
	// run's steps that did not succeed.
	CancelWorkflow(ctx context.Context, id int64, reason string) ([]*Job, error)
	RetryWorkflow(ctx context.Context, id int64, reason string) ([]string, error)
	// StoreFanOuts stores the next chunk of the fan-outs being stored, in one transaction:
	// those this process finished items of, or, with all, those of every running run. It
	// returns the queues that got jobs, and whether to call again. FanOutsToStore receives a
	// value when there are some of the first.
	StoreFanOuts(ctx context.Context, all bool) (queues []string, more bool, err error)
	FanOutsToStore() <-chan struct{}
	// StepResult returns the result of a step of the run a job belongs to.
	StepResult(ctx context.Context, jobID int64, step string) (string, error)
}

// ErrorKinds tells the database's failures apart, as its driver knows them.
type ErrorKinds interface {
	// Refused: the database refuses what it was given; the same write can't succeed later.
	Refused(err error) bool
	// StorageFull: the database's disk (or quota) is full; nothing was written.
	StorageFull(err error) bool
	// Unreachable: the connection to the database failed, not the statement.
	Unreachable(err error) bool
}

// Database is the database behind the store: which one it is, whether it answers, and its
// failures told apart.
type Database interface {
	ErrorKinds
	Ping(ctx context.Context) error
	Dialect() Dialect
}

// Storage is what *Store itself does, beside the domain stores it holds in its fields: the
// database (errors, ping, dialect) and what the kiln commands do to it (migrate, back up, size,
// close).
type Storage interface {
	Database
	Shared() bool
	Size(ctx context.Context) (int64, error)
	Migrate(ctx context.Context) (applied []Migration, stamped bool, err error)
	SchemaStatus(ctx context.Context) (*SchemaStatus, error)
	Backup(ctx context.Context, to string) (BackupReport, error)
	// ToolDB is the writer connection, for tools that keep tables of their own (kiln chaos).
	ToolDB() *gorm.DB
	Close() error
}

// *Store is the database; each domain store (store.go) implements its interface. The
// compiler checks both here and in store.go.
var (
	_ Storage    = (*Store)(nil)
	_ ErrorKinds = (*Store)(nil)
	_ Database   = (*Store)(nil)
	_ Tx         = storeTx{}
)
