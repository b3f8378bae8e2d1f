package driver

import (
	"time"

	"gorm.io/gorm"
)

// EnqueueClaimedParams are a new job, due now, to store already claimed for a free worker on
// ServerID: processing, in its first attempt and run, with no error, result or progress.
type EnqueueClaimedParams struct {
	Kind, Queue string
	Priority    int
	Args        string
	MaxAttempts int
	RunAt       time.Time
	// CreatedAt is the insert's time, and the claim's; LeaseUntil the end of the lease.
	CreatedAt, LeaseUntil time.Time
	ServerID              string
	RecurringID           *int64
	Timeout               time.Duration
	Tags                  string
	// Note is the reason of the job's enqueue, kept on its row (models.Job.Note).
	Note string
	// Idle says the caller knows of no job of Queue waiting, so the driver may skip its own look
	// for one. A pause, and the limits of Kind, are always checked.
	Idle bool
	// Record writes, in the insert's transaction tx, the job's tags and count change: a driver
	// whose insert does not write them itself calls it, with the job's id, once it stored the
	// job claimed.
	Record func(tx *gorm.DB, id int64) error
	// Otherwise stores the job waiting (as any new job), when it can't be stored claimed: its
	// queue is paused or has a waiting job, or its kind has limits. The driver calls it in a
	// transaction tx: the one of its look (SQLite), or one of its own.
	Otherwise func(tx *gorm.DB) error
	// Also, when set, writes more in the insert's transaction tx, with the job's id once it is
	// stored claimed (after Record), or 0 once Otherwise stored it waiting: the audit entry of
	// an enqueue someone made. A driver whose insert is one statement without a transaction
	// runs it in one when Also is set.
	Also func(tx *gorm.DB, id int64) error
}

// InsertParams are new jobs without unique keys, to store in the caller's transaction.
type InsertParams struct {
	// Rows are the jobs; InsertJobs sets each one's ID.
	Rows []InsertRow
}

// InsertRow is a new job's row: every column of jobs but unique_key (NULL: the jobs with a key
// are stored one by one, by the core) and id, which the insert sets. GORM reads its columns from
// the field names, as it does models.Job's.
type InsertRow struct {
	ID                                int64 `gorm:"primaryKey"`
	Kind, Queue                       string
	Priority                          int
	Args, State                       string
	Attempt, MaxAttempts              int
	RunAt, CreatedAt                  time.Time
	StartedAt, FinishedAt, LeaseUntil *time.Time
	ServerID, LastError               string
	ParentID                          *int64
	ContinueOn                        string
	RecurringID                       *int64
	Rescues, Runs, Progress           int
	Timeout                           time.Duration
	Result, Tags, Note                string
}

// TableName names InsertRow's table for GORM.
func (InsertRow) TableName() string { return "jobs" }
