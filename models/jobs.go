package models

import (
	"encoding/json"
	"strings"
	"time"
)

// JobState is where a job stands in its life.
type JobState string

// Job states. Scheduled, Enqueued and Awaiting jobs wait; Processing jobs run; Succeeded,
// Failed, Cancelled and Deleted are final (Requeue starts a final job again).
const (
	// JobScheduled waits for its RunAt: a delayed job, or a retry waiting out its backoff.
	JobScheduled JobState = "scheduled"
	// JobEnqueued is ready to run as soon as a worker of its queue is free.
	JobEnqueued JobState = "enqueued"
	// JobProcessing is running on the server in ServerID, under a lease until LeaseUntil.
	JobProcessing JobState = "processing"
	// JobSucceeded ran to completion.
	JobSucceeded JobState = "succeeded"
	// JobFailed used up its attempts, or failed permanently; it is kept for inspection.
	JobFailed JobState = "failed"
	// JobCancelled was cancelled before or while it ran.
	JobCancelled JobState = "cancelled"
	// JobDeleted was deleted by a user; retention removes it for good later.
	JobDeleted JobState = "deleted"
	// JobAwaiting is a continuation waiting for its parent to finish, or a workflow's step
	// waiting for the steps it depends on.
	JobAwaiting JobState = "awaiting"
	// JobSkipped is a workflow's step that never ran: the steps it depends on did not end as
	// it needs (a step that runs on their success, after one failed).
	JobSkipped JobState = "skipped"
)

// JobStates lists every state, in the order a dashboard shows them.
var JobStates = []JobState{JobEnqueued, JobScheduled, JobProcessing, JobSucceeded, JobFailed, JobCancelled, JobDeleted, JobAwaiting, JobSkipped}

// Final reports whether no worker will touch a job in this state again.
func (s JobState) Final() bool {
	return s == JobSucceeded || s == JobFailed || s == JobCancelled || s == JobDeleted || s == JobSkipped
}

// When a continuation runs.
const (
	// ContinueOnSuccess runs the continuation only when its parent succeeded; otherwise it is cancelled.
	ContinueOnSuccess = "succeeded"
	// ContinueOnFinish runs the continuation whatever final state its parent reached.
	ContinueOnFinish = "finished"
	// ContinueOnFailure runs a workflow's step only when one of the steps it depends on did not
	// succeed: a cleanup, a "tell me it failed".
	ContinueOnFailure = "failed"
)

// Job is one unit of background work and where it stands. Times are UTC.
type Job struct {
	ID          int64 `gorm:"primaryKey"`
	Kind        string
	Queue       string
	Priority    int
	Args        string // JSON
	State       JobState
	Attempt     int
	MaxAttempts int
	RunAt       time.Time
	CreatedAt   time.Time
	StartedAt   *time.Time
	FinishedAt  *time.Time
	LeaseUntil  *time.Time
	// ServerID is the process that runs (or last ran) the job.
	ServerID  string
	LastError string
	UniqueKey *string
	// ParentID is the job this continuation waits for; ContinueOn says on which outcome it runs.
	ParentID    *int64
	ContinueOn  string
	RecurringID *int64
	// Rescues counts the times the job went back to its queue because its server died while
	// running it; such a run uses no attempt. Past the engine's limit it fails as a poison pill.
	Rescues int
	// Runs counts the job's claims and is never reset: it names each run, so that the outcome of
	// one run never lands on another (a rescued, snoozed or requeued job may run an attempt
	// number again).
	Runs int
	// Progress is 0-100, set by the running job.
	Progress int
	// Timeout bounds one attempt; 0 means none.
	Timeout time.Duration
	// Result is small JSON the job returned on success, if any.
	Result string
	// Tags are free labels, stored as ",a,b," (see SetTags and TagList).
	Tags string
	// TraceParent is the W3C traceparent of the span that enqueued the job, when the engine
	// traces (else nil): each attempt's span continues it (see jobs/tracing.go).
	TraceParent *string
	// Note, when set at insert, is the reason of the job's enqueue ("enqueued by ada"): its
	// first event in History says it, and an event stored at insert (a schedule, a
	// continuation's wait) starts with it.
	Note string `gorm:"not null;default:''"`
	// UniqueStates, when set, are the states in which the job holding UniqueKey keeps it: a
	// holder in another state gives the key up to this job (not stored).
	UniqueStates []JobState `gorm:"-"`
	// waits, set by CreateWorkflow, is how many steps a workflow's step waits for: with any,
	// it is stored awaiting them.
	waits int
}

// LastActivity is when the job last started or finished: its finish, else its start, else
// when it was made.
func (j *Job) LastActivity() time.Time {
	switch {
	case j.FinishedAt != nil:
		return *j.FinishedAt
	case j.StartedAt != nil:
		return *j.StartedAt
	}
	return j.CreatedAt
}

// DecodeArgs unmarshals the job's JSON arguments into v.
func (j *Job) DecodeArgs(v any) error {
	if err := json.Unmarshal([]byte(j.Args), v); err != nil {
		return Errorf(EINVALID, "job %d (%s): arguments don't match: %v", j.ID, j.Kind, err)
	}
	return nil
}

// JobEvent is one state change of a job: the history a dashboard shows.
type JobEvent struct {
	ID       int64 `gorm:"primaryKey"`
	JobID    int64
	From     JobState `gorm:"column:from_state"`
	To       JobState `gorm:"column:to_state"`
	At       time.Time
	Attempt  int
	Reason   string
	Error    string // with the stack, for panics
	ServerID string
	// Duration is how long the attempt ran, on events that end one.
	Duration time.Duration
}

// JobLog is one line a running job wrote with jobs.Logf.
type JobLog struct {
	ID      int64 `gorm:"primaryKey"`
	JobID   int64
	Attempt int
	At      time.Time
	Message string
}

// Limits on job fields.
const (
	jobKindMax   = 100
	jobQueueMax  = 100
	uniqueKeyMax = 255
	// JobErrorMax bounds stored error text (with stacks), in bytes.
	JobErrorMax = 16 << 10
	// JobResultMax bounds a job's stored result, in bytes.
	JobResultMax = 512 << 10
)

// validateNewJob checks what a caller may get wrong when creating a job.
func validateNewJob(j *Job) error {
	if err := KindName.Check(j.Kind); err != nil {
		return err
	}
	if err := QueueName.Check(j.Queue); err != nil {
		return err
	}
	switch {
	case j.MaxAttempts < 1:
		return Errorf(EINVALID, "max attempts must be at least 1, not %d", j.MaxAttempts)
	case j.Timeout < 0:
		return Errorf(EINVALID, "timeout must not be negative, not %s", j.Timeout)
	}
	if j.UniqueKey != nil {
		if err := UniqueKeyText.Check(*j.UniqueKey); err != nil {
			return err
		}
	}
	if j.ParentID != nil && j.ContinueOn != ContinueOnSuccess && j.ContinueOn != ContinueOnFinish {
		return Errorf(EINVALID, "continuation condition must be %q or %q", ContinueOnSuccess, ContinueOnFinish)
	}
	if !json.Valid([]byte(j.Args)) {
		return Errorf(EINVALID, "job arguments must be valid JSON")
	}
	return nil
}

// FirstLine is s up to its first line break: how an error is summed up in one line, on a page, in a
// late-run outcome, in a kind's failure groups.
func FirstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// truncate cuts s to at most n bytes, on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("… [truncated]")
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "… [truncated]"
}
