package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
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
	// JobAwaiting is a continuation waiting for its parent to finish.
	JobAwaiting JobState = "awaiting"
)

// JobStates lists every state, in the order a dashboard shows them.
var JobStates = []JobState{JobEnqueued, JobScheduled, JobProcessing, JobSucceeded, JobFailed, JobCancelled, JobDeleted, JobAwaiting}

// Final reports whether no worker will touch a job in this state again.
func (s JobState) Final() bool {
	return s == JobSucceeded || s == JobFailed || s == JobCancelled || s == JobDeleted
}

// When a continuation runs.
const (
	// ContinueOnSuccess runs the continuation only when its parent succeeded; otherwise it is cancelled.
	ContinueOnSuccess = "succeeded"
	// ContinueOnFinish runs the continuation whatever final state its parent reached.
	ContinueOnFinish = "finished"
)

// Job is one unit of background work and where it stands. Times are UTC.
type Job struct {
	ID          int64     `gorm:"primaryKey;index:idx_jobs_claim,priority:5,where:state = 'enqueued';index:idx_jobs_state_id,priority:2;index:idx_jobs_kind_id,priority:2;index:idx_jobs_scheduled,priority:2,where:state = 'scheduled'"`
	Kind        string    `gorm:"size:100;not null;index:idx_jobs_kind_id,priority:1"`
	Queue       string    `gorm:"size:100;not null;default:default;index:idx_jobs_claim,priority:1;index:idx_jobs_waiting,priority:1,where:state = 'enqueued'"`
	Priority    int       `gorm:"not null;default:0;index:idx_jobs_claim,priority:2,sort:desc"`
	Args        string    `gorm:"type:text;not null"` // JSON
	State       JobState  `gorm:"size:20;not null;index:idx_jobs_state_id,priority:1"`
	Attempt     int       `gorm:"not null;default:0"`
	MaxAttempts int       `gorm:"not null;default:10"`
	RunAt       time.Time `gorm:"not null;index:idx_jobs_claim,priority:3;index:idx_jobs_scheduled,priority:1;index:idx_jobs_waiting,priority:2"`
	CreatedAt   time.Time `gorm:"not null"`
	StartedAt   *time.Time
	FinishedAt  *time.Time
	LeaseUntil  *time.Time
	// ServerID is the process that runs (or last ran) the job.
	ServerID  string  `gorm:"size:64;not null;default:''"`
	LastError string  `gorm:"type:text;not null;default:''"`
	UniqueKey *string `gorm:"size:255;uniqueIndex"`
	// ParentID is the job this continuation waits for; ContinueOn says on which outcome it runs.
	ParentID    *int64 `gorm:"index"`
	ContinueOn  string `gorm:"size:20;not null;default:''"`
	RecurringID *int64 `gorm:"index"`
	// Rescues counts the times the job went back to its queue because its server died while
	// running it; such a run uses no attempt. Past the engine's limit it fails as a poison pill.
	Rescues int `gorm:"not null;default:0"`
	// Runs counts the job's claims and is never reset: it names each run, so that the outcome of
	// one run never lands on another (a rescued, snoozed or requeued job may run an attempt
	// number again).
	Runs int `gorm:"not null;default:0"`
	// Progress is 0-100, set by the running job.
	Progress int `gorm:"not null;default:0"`
	// Timeout bounds one attempt; 0 means none.
	Timeout time.Duration `gorm:"not null;default:0"`
	// Result is small JSON the job returned on success, if any.
	Result string `gorm:"type:text;not null;default:''"`
	// Tags are free labels, stored as ",a,b," (see SetTags and TagList).
	Tags string `gorm:"type:text;not null;default:''"`
	// Note, when set at insert, is the reason recorded in the job's first event ("enqueued by
	// ada"); it is not a column.
	Note string `gorm:"-"`
	// UniqueStates, when set, are the states in which the job holding UniqueKey keeps it: a
	// holder in another state gives the key up to this job (not stored).
	UniqueStates []JobState `gorm:"-"`
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
	ID       int64     `gorm:"primaryKey"`
	JobID    int64     `gorm:"not null;index"`
	From     JobState  `gorm:"column:from_state;size:20;not null;default:''"`
	To       JobState  `gorm:"column:to_state;size:20;not null"`
	At       time.Time `gorm:"not null"`
	Attempt  int       `gorm:"not null;default:0"`
	Reason   string    `gorm:"type:text;not null;default:''"`
	Error    string    `gorm:"type:text;not null;default:''"` // with the stack, for panics
	ServerID string    `gorm:"size:64;not null;default:''"`
	// Duration is how long the attempt ran, on events that end one.
	Duration time.Duration `gorm:"not null;default:0"`
}

// JobLog is one line a running job wrote with jobs.Logf.
type JobLog struct {
	ID      int64     `gorm:"primaryKey"`
	JobID   int64     `gorm:"not null;index"`
	Attempt int       `gorm:"not null;default:0"`
	At      time.Time `gorm:"not null"`
	Message string    `gorm:"type:text;not null"`
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
	switch {
	case !KindName.Valid(j.Kind):
		return KindName.Check(j.Kind)
	case !QueueName.Valid(j.Queue):
		return QueueName.Check(j.Queue)
	case j.MaxAttempts < 1:
		return Errorf(EINVALID, "max attempts must be at least 1, not %d", j.MaxAttempts)
	case j.Timeout < 0:
		return Errorf(EINVALID, "timeout must not be negative, not %s", j.Timeout)
	case j.UniqueKey != nil && !UniqueKeyText.Valid(*j.UniqueKey):
		return UniqueKeyText.Check(*j.UniqueKey)
	case j.ParentID != nil && j.ContinueOn != ContinueOnSuccess && j.ContinueOn != ContinueOnFinish:
		return Errorf(EINVALID, "continuation condition must be %q or %q", ContinueOnSuccess, ContinueOnFinish)
	}
	if !json.Valid([]byte(j.Args)) {
		return Errorf(EINVALID, "job arguments must be valid JSON")
	}
	return nil
}

// InsertJobs stores new jobs in one transaction, each with its first event. A job whose
// UniqueKey is taken is not inserted: its entry in jobs is replaced by the existing job and
// its index is reported in dups.
func (s *Store) InsertJobs(ctx context.Context, jobs []*Job, now time.Time) (dups []int, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, tx = runToEnd(ctx, tx)
		dups, err = s.InsertJobsTx(tx, jobs, now)
		return err
	})
	return dups, err
}

// InsertJobsTx is InsertJobs inside the caller's transaction. Jobs without a unique key are
// written in batches (insertPlain); each job with a key is written alone, so a taken key can
// be told apart.
func (s *Store) InsertJobsTx(tx *gorm.DB, jobs []*Job, now time.Time) (dups []int, err error) {
	now = now.UTC().Truncate(time.Microsecond)
	reasons := make([]string, len(jobs))
	var plain []*Job
	for i, j := range jobs {
		if err := validateNewJob(j); err != nil {
			return nil, err
		}
		j.ID, j.CreatedAt, j.Attempt, j.Progress = 0, now, 0, 0
		if j.RunAt.IsZero() {
			j.RunAt = now
		}
		j.RunAt = j.RunAt.UTC().Truncate(time.Microsecond)
		if reasons[i], err = s.initialState(tx, j, now); err != nil {
			return nil, err
		}
		if j.UniqueKey == nil {
			plain = append(plain, j)
		}
	}
	if len(plain) > 0 {
		if err := s.insertPlain(tx, plain); err != nil {
			return nil, err
		}
	}
	events := make([]JobEvent, 0, len(jobs))
	counts := countDelta{}
	var ready []string // queues that got jobs to run now
	for i, j := range jobs {
		if j.UniqueKey != nil {
			existing, err := s.insertUnique(tx, j)
			if err != nil {
				return nil, err
			}
			if existing != nil { // the key is taken: hand back the job that holds it
				*j = *existing
				dups = append(dups, i)
				continue
			}
		}
		reason := reasons[i]
		switch {
		case j.Note != "" && reason == reasonEnqueued:
			reason = j.Note
		case j.Note != "":
			reason = j.Note + "; " + reason
		}
		if reason != reasonEnqueued || j.State != JobEnqueued { // else the row tells it (History)
			events = append(events, JobEvent{JobID: j.ID, To: j.State, At: now, Reason: reason})
		}
		counts.move(j.Queue, j.Kind, "", j.State, 1)
		if j.State == JobEnqueued {
			ready = append(ready, j.Queue)
		}
	}
	if len(events) > 0 {
		if err := tx.CreateInBatches(events, 500).Error; err != nil {
			return nil, fmt.Errorf("models: insert job events: %w", err)
		}
	}
	isDup := make(map[int]bool, len(dups))
	for _, i := range dups {
		isDup[i] = true
	}
	if tags := tagRows(jobs, isDup); len(tags) > 0 {
		if err := tx.CreateInBatches(tags, 500).Error; err != nil {
			return nil, fmt.Errorf("models: insert job tags: %w", err)
		}
	}
	if err := s.notifyEnqueued(tx, ready...); err != nil {
		return nil, err
	}
	return dups, s.writeCounts(tx, counts)
}

// insertArraysMax is the most jobs one InsertJobs statement carries: a statement's parameters
// travel in one message, which PostgreSQL caps at 1 GB, and a batch of a million jobs needn't
// be copied whole on both sides.
const insertArraysMax = 5000

// insertPlain inserts jobs without unique keys and sets their IDs: with the driver's
// InsertJobs statement when it has one, insertArraysMax jobs at a time, else with GORM's
// multi-row INSERTs.
func (s *Store) insertPlain(tx *gorm.DB, jobs []*Job) error {
	if s.sql.InsertJobs == "" {
		if err := tx.CreateInBatches(jobs, 500).Error; err != nil {
			return fmt.Errorf("models: insert jobs: %w", err)
		}
		return nil
	}
	for chunk := range slices.Chunk(jobs, insertArraysMax) {
		if err := s.insertArrays(tx, chunk); err != nil {
			return err
		}
	}
	return nil
}

// insertArrays inserts jobs with the driver's InsertJobs statement, one array per column, and
// sets their IDs from the rows it returns, which come in the arrays' order (as GORM's
// multi-row VALUES relied on too).
func (s *Store) insertArrays(tx *gorm.DB, jobs []*Job) error {
	stx, err := sqlTx(tx)
	if err != nil {
		return err
	}
	n := len(jobs)
	var (
		kind, queue, args, state, server, lastError, continueOn, result, tags = make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n)
		priority, attempt, maxAttempts, rescues, runs, progress, timeout = make([]int64, n), make([]int64, n),
			make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		runAt, createdAt                = make([]time.Time, n), make([]time.Time, n)
		startedAt, finishedAt, leaseEnd = make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
		parent, recurring               = make([]*int64, n), make([]*int64, n)
	)
	for i, j := range jobs {
		kind[i], queue[i], priority[i], args[i], state[i] = j.Kind, j.Queue, int64(j.Priority), j.Args, string(j.State)
		attempt[i], maxAttempts[i], runAt[i], createdAt[i] = int64(j.Attempt), int64(j.MaxAttempts), j.RunAt, j.CreatedAt
		startedAt[i], finishedAt[i], leaseEnd[i], server[i], lastError[i] = j.StartedAt, j.FinishedAt, j.LeaseUntil, j.ServerID, j.LastError
		parent[i], continueOn[i], recurring[i], rescues[i], runs[i] = j.ParentID, j.ContinueOn, j.RecurringID, int64(j.Rescues), int64(j.Runs)
		progress[i], timeout[i], result[i], tags[i] = int64(j.Progress), int64(j.Timeout), j.Result, j.Tags
	}
	ctx := tx.Statement.Context
	rows, err := stx.QueryContext(ctx, s.sql.InsertJobs, kind, queue, priority, args, state, attempt, maxAttempts,
		runAt, createdAt, startedAt, finishedAt, leaseEnd, server, lastError, parent, continueOn, recurring, rescues,
		runs, progress, timeout, result, tags)
	if err != nil {
		return fmt.Errorf("models: insert jobs: %w", err)
	}
	defer rows.Close()
	i := 0
	for ; rows.Next(); i++ {
		if i == n {
			return fmt.Errorf("models: insert jobs: more ids than jobs")
		}
		if err := rows.Scan(&jobs[i].ID); err != nil {
			return fmt.Errorf("models: insert jobs: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("models: insert jobs: %w", err)
	}
	if i != n {
		return fmt.Errorf("models: insert jobs: %d ids for %d jobs", i, n)
	}
	return nil
}

// insertUnique inserts j, whose unique key is set, unless a job holds the key: then it returns
// that job. A holder in none of j.UniqueStates (when set) gives its key up first, in this
// transaction; with several inserters at once, the unique index lets one of them win.
func (s *Store) insertUnique(tx *gorm.DB, j *Job) (*Job, error) {
	for try := 0; ; try++ {
		j.ID = 0
		err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "unique_key"}}, DoNothing: true,
			TargetWhere: clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "unique_key IS NOT NULL"}}}}).Create(j).Error
		if err != nil {
			return nil, fmt.Errorf("models: insert job: %w", err)
		}
		if j.ID != 0 {
			return nil, nil
		}
		var existing Job
		if err := tx.Where("unique_key = ?", *j.UniqueKey).Take(&existing).Error; err != nil {
			return nil, fmt.Errorf("models: find job with unique key %q: %w", *j.UniqueKey, err)
		}
		if len(j.UniqueStates) == 0 || slices.Contains(j.UniqueStates, existing.State) || try > 0 {
			return &existing, nil
		}
		// The holder is done with its key (cancelled, failed...): it gives the key up.
		// Only while it is still outside those states: a requeue meanwhile keeps its key.
		if err := tx.Model(&Job{}).Where("id = ? AND unique_key = ? AND state NOT IN ?", existing.ID, *j.UniqueKey, j.UniqueStates).
			Update("unique_key", nil).Error; err != nil {
			return nil, fmt.Errorf("models: release unique key %q: %w", *j.UniqueKey, err)
		}
	}
}

// initialState sets a new job's state: awaiting its parent, scheduled for later, or enqueued.
func (s *Store) initialState(tx *gorm.DB, j *Job, now time.Time) (string, error) {
	if j.ParentID == nil {
		if j.RunAt.After(now) {
			j.State = JobScheduled
			return "scheduled for " + j.RunAt.Format(time.RFC3339), nil
		}
		j.State = JobEnqueued
		return reasonEnqueued, nil
	}
	// Lock the parent (PostgreSQL) so it can't finish between this read and our commit,
	// which would leave the continuation waiting forever.
	q := s.drv.LockRows(tx.Model(&Job{}).Select("state"), "SHARE")
	var parent Job
	if err := q.Where("id = ?", *j.ParentID).Take(&parent).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return "", Errorf(ENOTFOUND, "parent job %d does not exist", *j.ParentID)
	} else if err != nil {
		return "", fmt.Errorf("models: read parent job %d: %w", *j.ParentID, err)
	}
	switch {
	case !parent.State.Final():
		j.State = JobAwaiting
		return fmt.Sprintf("awaiting job %d", *j.ParentID), nil
	case parent.State == JobSucceeded || j.ContinueOn == ContinueOnFinish:
		j.State = JobEnqueued
		return fmt.Sprintf("parent job %d already %s", *j.ParentID, parent.State), nil
	default:
		j.State = JobCancelled
		j.FinishedAt = &now
		return fmt.Sprintf("parent job %d already %s", *j.ParentID, parent.State), nil
	}
}

// GetJob returns the job with the given id, or an ENOTFOUND error.
func (s *Store) GetJob(ctx context.Context, id int64) (*Job, error) {
	var j Job
	err := s.rdb.WithContext(ctx).Take(&j, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENOTFOUND, "Job %d does not exist (it may have been cleaned up).", id)
	}
	if err != nil {
		return nil, fmt.Errorf("models: get job %d: %w", id, err)
	}
	return &j, nil
}

// JobEvents returns a job's history, oldest first: its stored events and the ones its row
// implies (see History). A job that no longer exists has none.
func (s *Store) JobEvents(ctx context.Context, jobID int64) ([]JobEvent, error) {
	// The row first: events stored after it was read (a run's end) only add what it lacks.
	var j Job
	err := s.rdb.WithContext(ctx).Take(&j, jobID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("models: job %d: %w", jobID, err)
	}
	var events []JobEvent
	if err := s.rdb.WithContext(ctx).Where("job_id = ?", jobID).Order("id").Find(&events).Error; err != nil {
		return nil, fmt.Errorf("models: job %d events: %w", jobID, err)
	}
	return History(&j, events), nil
}

// JobLogs returns the log lines a job wrote, oldest first.
func (s *Store) JobLogs(ctx context.Context, jobID int64) ([]JobLog, error) {
	var logs []JobLog
	if err := s.rdb.WithContext(ctx).Where("job_id = ?", jobID).Order("id").Find(&logs).Error; err != nil {
		return nil, fmt.Errorf("models: job %d logs: %w", jobID, err)
	}
	return logs, nil
}

// AppendJobLog stores one log line of a running job.
func (s *Store) AppendJobLog(ctx context.Context, jobID int64, attempt int, at time.Time, msg string) error {
	line := JobLog{JobID: jobID, Attempt: attempt, At: at}
	line.SetMessage(msg)
	return s.AppendJobLogs(ctx, []JobLog{line})
}

// SetMessage sets the line's text, cut to what is kept, without NUL characters (no text
// column of PostgreSQL can hold one).
func (l *JobLog) SetMessage(msg string) { l.Message = jsonText(truncate(msg, JobErrorMax)) }

// AppendJobLogs stores log lines of running jobs in one transaction, in order.
func (s *Store) AppendJobLogs(ctx context.Context, lines []JobLog) error {
	if len(lines) == 0 {
		return nil
	}
	rows := make([]JobLog, len(lines))
	for i, l := range lines {
		l.ID, l.At = 0, l.At.UTC().Truncate(time.Microsecond)
		l.SetMessage(l.Message)
		rows[i] = l
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return tx.CreateInBatches(rows, 200).Error
	})
	if err != nil {
		return fmt.Errorf("models: append %d log lines (job %d...): %w", len(rows), rows[0].JobID, err)
	}
	return nil
}

// enqueueClaimed runs driver.SQL.EnqueueClaimed: one statement, one round trip. Waiting for a
// connection heeds ctx; once sent, the statement runs to the end, so that a job stored is never
// taken for one that was not.
func (s *Store) enqueueClaimed(ctx context.Context, j *Job, now time.Time, p ClaimParams) (bool, error) {
	conn, err := s.writerConn(ctx)
	if err != nil {
		return false, fmt.Errorf("models: insert job: %w", err)
	}
	defer conn.Close()
	runAt := now
	if !j.RunAt.IsZero() {
		runAt = j.RunAt.UTC().Truncate(time.Microsecond)
	}
	until := now.Add(p.Lease)
	var id int64
	err = conn.QueryRowContext(context.WithoutCancel(ctx), s.sql.EnqueueClaimed, j.Kind, j.Queue, j.Priority, j.Args,
		j.MaxAttempts, runAt, now, until, p.ServerID, j.RecurringID, j.Timeout, j.Tags, j.Note, p.Idle).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil // paused, or a job of its queue waits
	}
	if err != nil {
		return false, fmt.Errorf("models: insert job: %w", err)
	}
	j.ID, j.CreatedAt, j.RunAt, j.Progress, j.LastError, j.Result = id, now, runAt, 0, "", ""
	j.State, j.Attempt, j.Runs, j.StartedAt, j.LeaseUntil, j.ServerID, j.ContinueOn = JobProcessing, 1, 1, &now, &until, p.ServerID, ""
	return true, nil
}

// SetJobProgress records a running job's progress (clamped to 0-100).
func (s *Store) SetJobProgress(ctx context.Context, jobID int64, pct int) error {
	pct = min(max(pct, 0), 100)
	err := s.db.WithContext(ctx).Model(&Job{}).Where("id = ? AND state = ?", jobID, JobProcessing).Update("progress", pct).Error
	if err != nil {
		return fmt.Errorf("models: set progress of job %d: %w", jobID, err)
	}
	return nil
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

// InsertAndClaimJob stores one new job and, when it is due now, is no continuation, has no
// unique key, its queue is not paused and no other job of its queue waits, claims it for
// p.ServerID in the same transaction. An engine with a free worker uses it to start a job without
// a second transaction and without waking its fetcher: the shortest path from enqueue to work.
// It reports whether it claimed the job; otherwise the job was stored as InsertJobs would.
func (s *Store) InsertAndClaimJob(ctx context.Context, j *Job, now time.Time, p ClaimParams) (claimed bool, err error) {
	now = now.UTC().Truncate(time.Microsecond)
	if err := validateNewJob(j); err != nil {
		return false, err
	}
	if s.sql.EnqueueClaimed != "" && j.ParentID == nil && j.UniqueKey == nil && !j.RunAt.After(now) {
		if claimed, err := s.enqueueClaimed(ctx, j, now, p); err != nil || claimed {
			return claimed, err
		}
		_, err := s.InsertJobs(ctx, []*Job{j}, now)
		return false, err
	}
	err = s.db.WithContext(ctx).Transaction(func(gtx *gorm.DB) error {
		ctx, gtx := runToEnd(ctx, gtx)
		claimed = false
		if j.ParentID != nil || j.UniqueKey != nil || j.RunAt.After(now) {
			_, err := s.InsertJobsTx(gtx, []*Job{j}, now)
			return err
		}
		tx, err := sqlTx(gtx)
		if err != nil {
			return err
		}
		var blocked bool
		if err := tx.StmtContext(ctx, s.hot.jobWaits).QueryRowContext(ctx, j.Queue, j.Kind).Scan(&blocked); err != nil {
			return fmt.Errorf("models: look for waiting jobs: %w", err)
		}
		if blocked {
			_, err := s.InsertJobsTx(gtx, []*Job{j}, now)
			return err
		}
		if j.RunAt.IsZero() {
			j.RunAt = now
		}
		until := now.Add(p.Lease)
		j.CreatedAt, j.RunAt, j.Progress, j.LastError, j.Result = now, j.RunAt.UTC().Truncate(time.Microsecond), 0, "", ""
		j.State, j.Attempt, j.Runs, j.StartedAt, j.LeaseUntil, j.ServerID, j.ContinueOn = JobProcessing, 1, 1, &now, &until, p.ServerID, ""
		err = tx.StmtContext(ctx, s.hot.insertClaimed).QueryRowContext(ctx, j.Kind, j.Queue, j.Priority, j.Args,
			j.MaxAttempts, j.RunAt, now, until, p.ServerID, j.RecurringID, j.Timeout, j.Tags).Scan(&j.ID)
		if err != nil {
			return fmt.Errorf("models: insert job: %w", err)
		}
		if j.Note != "" { // else the row tells the enqueue and the claim (History)
			if _, err := tx.StmtContext(ctx, s.hot.enqueuedEvent).ExecContext(ctx, j.ID, now, j.Note); err != nil {
				return fmt.Errorf("models: insert job event: %w", err)
			}
		}
		if tags := tagRows([]*Job{j}, nil); len(tags) > 0 {
			if err := gtx.Create(&tags).Error; err != nil {
				return fmt.Errorf("models: insert job tags: %w", err)
			}
		}
		counts := countDelta{}
		counts.move(j.Queue, j.Kind, "", JobProcessing, 1)
		if err := s.writeCounts(gtx, counts); err != nil {
			return err
		}
		claimed = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return claimed, nil
}

// JobTag is a row of the tag index: the job carries the tag.
type JobTag struct {
	Tag   string `gorm:"primaryKey;size:50"`
	JobID int64  `gorm:"primaryKey;index"`
}

// tagRows are the tag index's rows of the jobs, skipping the indexes in skip (duplicates).
func tagRows(jobs []*Job, skip map[int]bool) []JobTag {
	var rows []JobTag
	for i, j := range jobs {
		if j.Tags == "" || skip[i] {
			continue
		}
		for _, t := range j.TagList() {
			rows = append(rows, JobTag{Tag: t, JobID: j.ID})
		}
	}
	return rows
}

// MaxTags bounds a job's tags; each is a TagName.
const MaxTags = 10

// SetTags stores tags on the job, or returns an EINVALID error saying which one can't be a tag.
func (j *Job) SetTags(tags []string) error {
	if len(tags) > MaxTags {
		return &Error{Code: EINVALID, Message: fmt.Sprintf("A job has at most %d tags.", MaxTags), Fields: map[string]string{"tags": fmt.Sprintf("At most %d tags.", MaxTags)}}
	}
	seen := map[string]bool{}
	var kept []string
	for _, t := range tags {
		if err := TagName.Check(t); err != nil {
			return err
		}
		if !seen[t] {
			seen[t] = true
			kept = append(kept, t)
		}
	}
	j.Tags = ""
	if len(kept) > 0 {
		j.Tags = "," + strings.Join(kept, ",") + ","
	}
	return nil
}

// TagList returns the job's tags.
func (j *Job) TagList() []string {
	t := strings.Trim(j.Tags, ",")
	if t == "" {
		return nil
	}
	return strings.Split(t, ",")
}
