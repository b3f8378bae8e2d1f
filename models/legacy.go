package models

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Before versioned migrations, Kiln kept its schema with GORM's AutoMigrate on every start. A
// database made that way has Kiln's tables but no version table. upgradeLegacy brings such a
// database to the schema of migration 1 exactly as the last AutoMigrate-based Kiln did (adding
// what older versions lacked, dropping what they no longer used), so that migration 1, written
// with IF NOT EXISTS throughout, is a no-op on it and stamps it at version 1.
//
// The structs below are frozen copies of the models as they stood at migration 1. They must
// never change: later schema changes are numbered migrations, applied after the stamp.

type legacyTask struct {
	ID          int64     `gorm:"primaryKey"`
	Title       string    `gorm:"size:200;not null"`
	Description string    `gorm:"size:5000;not null;default:''"`
	DueAt       time.Time `gorm:"not null;index:idx_tasks_completed_due_at,priority:2"`
	Completed   bool      `gorm:"not null;default:false;index:idx_tasks_completed_due_at,priority:1"`
	CompletedAt *time.Time
	CompletedBy string `gorm:"size:20;not null;default:''"`
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

type legacyJob struct {
	ID          int64     `gorm:"primaryKey;index:idx_jobs_claim,priority:5,where:state = 'enqueued';index:idx_jobs_state_id,priority:2;index:idx_jobs_kind_id,priority:2;index:idx_jobs_scheduled,priority:2,where:state = 'scheduled'"`
	Kind        string    `gorm:"size:100;not null;index:idx_jobs_kind_id,priority:1"`
	Queue       string    `gorm:"size:100;not null;default:default;index:idx_jobs_claim,priority:1;index:idx_jobs_waiting,priority:1,where:state = 'enqueued'"`
	Priority    int       `gorm:"not null;default:0;index:idx_jobs_claim,priority:2,sort:desc"`
	Args        string    `gorm:"type:text;not null"`
	State       string    `gorm:"size:20;not null;index:idx_jobs_state_id,priority:1"`
	Attempt     int       `gorm:"not null;default:0"`
	MaxAttempts int       `gorm:"not null;default:10"`
	RunAt       time.Time `gorm:"not null;index:idx_jobs_claim,priority:3;index:idx_jobs_scheduled,priority:1;index:idx_jobs_waiting,priority:2"`
	CreatedAt   time.Time `gorm:"not null"`
	StartedAt   *time.Time
	FinishedAt  *time.Time
	LeaseUntil  *time.Time
	ServerID    string        `gorm:"size:64;not null;default:''"`
	LastError   string        `gorm:"type:text;not null;default:''"`
	UniqueKey   *string       `gorm:"size:255;uniqueIndex:idx_jobs_unique_key"`
	ParentID    *int64        `gorm:"index:idx_jobs_parent_id"`
	ContinueOn  string        `gorm:"size:20;not null;default:''"`
	RecurringID *int64        `gorm:"index:idx_jobs_recurring_id"`
	Rescues     int           `gorm:"not null;default:0"`
	Runs        int           `gorm:"not null;default:0"`
	Progress    int           `gorm:"not null;default:0"`
	Timeout     time.Duration `gorm:"not null;default:0"`
	Result      string        `gorm:"type:text;not null;default:''"`
}

type legacyJobEvent struct {
	ID       int64         `gorm:"primaryKey"`
	JobID    int64         `gorm:"not null;index:idx_job_events_job_id"`
	From     string        `gorm:"column:from_state;size:20;not null;default:''"`
	To       string        `gorm:"column:to_state;size:20;not null"`
	At       time.Time     `gorm:"not null"`
	Attempt  int           `gorm:"not null;default:0"`
	Reason   string        `gorm:"type:text;not null;default:''"`
	Error    string        `gorm:"type:text;not null;default:''"`
	ServerID string        `gorm:"size:64;not null;default:''"`
	Duration time.Duration `gorm:"not null;default:0"`
}

type legacyJobLog struct {
	ID      int64     `gorm:"primaryKey"`
	JobID   int64     `gorm:"not null;index:idx_job_logs_job_id"`
	Attempt int       `gorm:"not null;default:0"`
	At      time.Time `gorm:"not null"`
	Message string    `gorm:"type:text;not null"`
}

type legacyRecurringJob struct {
	ID          int64         `gorm:"primaryKey"`
	Name        string        `gorm:"size:200;not null;uniqueIndex:idx_recurring_jobs_name"`
	Spec        string        `gorm:"size:200;not null"`
	TimeZone    string        `gorm:"size:64;not null;default:UTC"`
	Kind        string        `gorm:"size:100;not null"`
	Args        string        `gorm:"type:text;not null"`
	Queue       string        `gorm:"size:100;not null;default:default"`
	Priority    int           `gorm:"not null;default:0"`
	MaxAttempts int           `gorm:"not null;default:10"`
	Timeout     time.Duration `gorm:"not null;default:0"`
	Misfire     string        `gorm:"size:10;not null;default:relaxed"`
	Paused      bool          `gorm:"not null;default:false"`
	Overridden  bool          `gorm:"not null;default:false"`
	LastRunAt   *time.Time
	NextRunAt   *time.Time
	LastJobID   *int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

type legacyServer struct {
	ID          string    `gorm:"primaryKey;size:64"`
	Host        string    `gorm:"size:255;not null"`
	PID         int       `gorm:"not null"`
	StartedAt   time.Time `gorm:"not null"`
	HeartbeatAt time.Time `gorm:"not null;index:idx_servers_heartbeat_at"`
	Queues      string    `gorm:"size:1000;not null;default:''"`
	Workers     int       `gorm:"not null;default:0"`
	Busy        int       `gorm:"not null;default:0"`
}

type legacyUser struct {
	ID           int64  `gorm:"primaryKey"`
	Username     string `gorm:"size:64;not null;uniqueIndex:idx_users_username"`
	PasswordHash string `gorm:"size:100;not null"`
	Role         string `gorm:"size:10;not null"`
	CreatedAt    time.Time
	UpdatedAt    time.Time
	LastLoginAt  *time.Time
}

type legacySetting struct {
	Name  string `gorm:"primaryKey;size:64"`
	Value []byte `gorm:"not null"`
}

type legacyJobStat struct {
	Period    string    `gorm:"primaryKey;size:1"`
	Bucket    time.Time `gorm:"primaryKey"`
	Succeeded int64     `gorm:"not null;default:0"`
	Failed    int64     `gorm:"not null;default:0"`
	Rescued   int64     `gorm:"not null;default:0"`
}

type legacyQueueSetting struct {
	Name      string `gorm:"primaryKey;size:100"`
	Paused    bool   `gorm:"not null;default:false"`
	UpdatedBy string `gorm:"size:64;not null;default:''"`
	UpdatedAt time.Time
}

type legacyJobCount struct {
	Queue string `gorm:"primaryKey;size:100"`
	State string `gorm:"primaryKey;size:20"`
	N     int64  `gorm:"not null;default:0"`
}

type legacyJobCountDelta struct {
	ID    int64  `gorm:"primaryKey"`
	Queue string `gorm:"size:100;not null"`
	State string `gorm:"size:20;not null"`
	Delta int64  `gorm:"not null"`
}

type legacySession struct {
	ID        string    `gorm:"primaryKey;size:64"`
	UserID    int64     `gorm:"not null;index:idx_sessions_user_id"`
	CreatedAt time.Time `gorm:"not null"`
	ExpiresAt time.Time `gorm:"not null;index:idx_sessions_expires_at"`
	IP        string    `gorm:"size:64;not null;default:''"`
	UserAgent string    `gorm:"size:255;not null;default:''"`
}

func (legacyTask) TableName() string          { return "tasks" }
func (legacyJob) TableName() string           { return "jobs" }
func (legacyJobEvent) TableName() string      { return "job_events" }
func (legacyJobLog) TableName() string        { return "job_logs" }
func (legacyRecurringJob) TableName() string  { return "recurring_jobs" }
func (legacyServer) TableName() string        { return "servers" }
func (legacyUser) TableName() string          { return "users" }
func (legacySetting) TableName() string       { return "settings" }
func (legacyJobStat) TableName() string       { return "job_stats" }
func (legacyQueueSetting) TableName() string  { return "queue_settings" }
func (legacyJobCount) TableName() string      { return "job_queue_counts" }
func (legacyJobCountDelta) TableName() string { return "job_queue_count_deltas" }
func (legacySession) TableName() string       { return "sessions" }

// legacyObsoleteIndexes and legacyObsoleteTables are what AutoMigrate-era Kiln dropped on start:
// indexes that cost every state change more than they saved, and the counters' first tables.
var (
	legacyObsoleteIndexes = []string{"idx_jobs_state_run_at", "idx_jobs_server_id", "idx_jobs_state_queue"}
	legacyObsoleteTables  = []string{"job_counts", "job_count_deltas"}
)

// upgradeLegacy brings a database made by AutoMigrate-era Kiln to migration 1's schema.
func upgradeLegacy(db *gorm.DB) error {
	if err := db.AutoMigrate(&legacyTask{}, &legacyJob{}, &legacyJobEvent{}, &legacyJobLog{}, &legacyRecurringJob{},
		&legacyServer{}, &legacyUser{}, &legacySetting{}, &legacyJobStat{}, &legacyQueueSetting{}, &legacyJobCount{},
		&legacyJobCountDelta{}, &legacySession{}); err != nil {
		return fmt.Errorf("models: upgrade a database made before versioned migrations: %w", err)
	}
	for _, idx := range legacyObsoleteIndexes {
		if err := db.Exec("DROP INDEX IF EXISTS " + idx).Error; err != nil {
			return fmt.Errorf("models: upgrade a database made before versioned migrations: drop index %s: %w", idx, err)
		}
	}
	for _, table := range legacyObsoleteTables {
		if err := db.Exec("DROP TABLE IF EXISTS " + table).Error; err != nil {
			return fmt.Errorf("models: upgrade a database made before versioned migrations: drop table %s: %w", table, err)
		}
	}
	return nil
}
