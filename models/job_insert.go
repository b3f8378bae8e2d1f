package models

// Every way a job is stored: batches, unique keys, continuations, and the insert that claims
// a job for a free worker in the same statement.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/kilnhq/kiln/models/driver"
)

// InsertJobs stores new jobs in one transaction, each with its first event. A job whose
// UniqueKey is taken is not inserted: its entry in jobs is replaced by the existing job and
// its index is reported in dups.
func (s jobStore) InsertJobs(ctx context.Context, jobs []*Job, now time.Time) (dups []int, err error) {
	err = s.change(ctx, func(tx *gorm.DB) error {
		_, tx = runToEnd(ctx, tx)
		dups, err = s.InsertJobsTx(tx, jobs, now)
		return err
	})
	return dups, err
}

// InsertJobsTx is InsertJobs inside the caller's transaction. Jobs without a unique key are
// written in batches (insertPlain); each job with a key is written alone, so a taken key can
// be told apart.
func (s jobStore) InsertJobsTx(tx *gorm.DB, jobs []*Job, now time.Time) (dups []int, err error) {
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
		if err := setTraceParents(tx, plain); err != nil {
			return nil, err
		}
	}
	taken, err := s.insertKeyed(tx, jobs)
	if err != nil {
		return nil, err
	}
	events := make([]JobEvent, 0, len(jobs))
	counts := countDelta{}
	var ready []string // queues that got jobs to run now
	for i, j := range jobs {
		if existing := taken[i]; existing != nil { // the key is taken: hand back the job that holds it
			*j = *existing
			dups = append(dups, i)
			continue
		}
		reason := reasons[i]
		if (reason != reasonEnqueued || j.State != JobEnqueued) && j.waits == 0 { // else the row tells it, note and all (History)
			if j.Note != "" {
				reason = j.Note + "; " + reason
			}
			events = append(events, JobEvent{JobID: j.ID, To: j.State, At: now, Reason: reason})
		}
		counts.move(j.Queue, j.Kind, "", j.State, 1)
		if j.State == JobEnqueued {
			ready = append(ready, j.Queue)
		}
	}
	if len(events) > 0 {
		if err := insertRows(s.conn, tx, events); err != nil {
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

// setTraceParents writes the trace parents of jobs that have one, in tx. The batch insert
// (the driver's hot path) leaves the column out, so that with tracing off it sends nothing more.
// With tracing on, the jobs of one enqueue share their trace parent: one UPDATE per 500 of them.
func setTraceParents(tx *gorm.DB, jobs []*Job) error {
	var byParent map[string][]int64 // made only for a job that has one: tracing off allocates nothing
	for _, j := range jobs {
		if j.TraceParent == nil {
			continue
		}
		if byParent == nil {
			byParent = map[string][]int64{}
		}
		byParent[*j.TraceParent] = append(byParent[*j.TraceParent], j.ID)
	}
	for parent, ids := range byParent {
		for chunk := range slices.Chunk(ids, 500) {
			if err := tx.Table("jobs").Where("id IN ?", chunk).Update("trace_parent", parent).Error; err != nil {
				return fmt.Errorf("models: store trace parent of %d jobs: %w", len(chunk), err)
			}
		}
	}
	return nil
}

// insertPlain inserts jobs without unique keys with the driver's InsertJobs, and sets their IDs.
func (s *conn) insertPlain(tx *gorm.DB, jobs []*Job) error {
	rows := make([]driver.InsertRow, len(jobs))
	for i, j := range jobs {
		rows[i] = driver.InsertRow{Kind: j.Kind, Queue: j.Queue, Priority: j.Priority, Args: j.Args, State: string(j.State),
			Attempt: j.Attempt, MaxAttempts: j.MaxAttempts, RunAt: j.RunAt, CreatedAt: j.CreatedAt, StartedAt: j.StartedAt,
			FinishedAt: j.FinishedAt, LeaseUntil: j.LeaseUntil, ServerID: j.ServerID, LastError: j.LastError,
			ParentID: j.ParentID, ContinueOn: j.ContinueOn, RecurringID: j.RecurringID, Rescues: j.Rescues, Runs: j.Runs,
			Progress: j.Progress, Timeout: j.Timeout, Result: j.Result, Tags: j.Tags, Note: j.Note}
	}
	if err := s.ops.InsertJobs(tx, driver.InsertParams{Rows: rows}); err != nil {
		return fmt.Errorf("models: insert jobs: %w", err)
	}
	for i, j := range jobs {
		j.ID = rows[i].ID
	}
	return nil
}

// insertKeyed writes the jobs that have a unique key, in the order of their keys (jobs with
// the same key in the order given), and returns, by index, the job holding each key that was
// taken. Two transactions writing the same keys at once (two group commits of enqueues on
// PostgreSQL, two batches) then wait on each other's rows in one order, never in a cycle that
// PostgreSQL would break after its deadlock timeout.
func (s *conn) insertKeyed(tx *gorm.DB, jobs []*Job) (map[int]*Job, error) {
	var keyed []int
	for i, j := range jobs {
		if j.UniqueKey != nil {
			keyed = append(keyed, i)
		}
	}
	slices.SortStableFunc(keyed, func(a, b int) int { return strings.Compare(*jobs[a].UniqueKey, *jobs[b].UniqueKey) })
	var taken map[int]*Job
	for _, i := range keyed {
		existing, err := s.insertUnique(tx, jobs[i])
		if err != nil {
			return nil, err
		}
		if existing != nil {
			if taken == nil {
				taken = map[int]*Job{}
			}
			taken[i] = existing
		}
	}
	return taken, nil
}

// insertUnique inserts j, whose unique key is set, unless a job holds the key: then it returns
// that job. A holder in none of j.UniqueStates (when set) gives its key up first, in this
// transaction; with several inserters at once, the unique index lets one of them win.
func (s *conn) insertUnique(tx *gorm.DB, j *Job) (*Job, error) {
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
func (s *conn) initialState(tx *gorm.DB, j *Job, now time.Time) (string, error) {
	if j.waits > 0 {
		j.State = JobAwaiting
		return fmt.Sprintf("awaiting %s", plural(j.waits, "step")), nil
	}
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

// alsoAudit is the Also of a claimed enqueue of j when ctx carries an audit entry to write with
// it (nil otherwise, so that the driver keeps its fastest path): it appends the entry, and
// tells which ones it took through took.
func (s jobStore) alsoAudit(ctx context.Context, j *Job, took *[]*PendingAudit) func(*gorm.DB, int64) error {
	if !hasPendingAudit(ctx) {
		return nil
	}
	return func(tx *gorm.DB, id int64) error {
		if id != 0 {
			j.ID = id // for the entry's target; Otherwise set it itself
		}
		var err error
		*took, err = s.appendPendingTx(ctx, tx)
		return err
	}
}

// InsertAndClaimJob stores one new job and, when it is due now, is no continuation, has no
// unique key, its queue is not paused and no other job of its queue waits, claims it for
// p.ServerID in the same transaction. An engine with a free worker uses it to start a job without
// a second transaction and without waking its fetcher: the shortest path from enqueue to work.
// It reports whether it claimed the job; otherwise the job was stored as InsertJobs would. An
// error with claimed true says the job is stored and claimed, but its TraceParent was not.
func (s jobStore) InsertAndClaimJob(ctx context.Context, j *Job, now time.Time, p ClaimParams) (claimed bool, err error) {
	now = now.UTC().Truncate(time.Microsecond)
	if err := validateNewJob(j); err != nil {
		return false, err
	}
	if j.ParentID != nil || j.UniqueKey != nil || j.RunAt.After(now) {
		_, err := s.InsertJobs(ctx, []*Job{j}, now)
		return false, err
	}
	runAt := now
	if !j.RunAt.IsZero() {
		runAt = j.RunAt.UTC().Truncate(time.Microsecond)
	}
	until := now.Add(p.Lease)
	var took []*PendingAudit // the audit entry of the enqueue, written with it
	id, err := s.ops.EnqueueClaimed(ctx, s.db, driver.EnqueueClaimedParams{Kind: j.Kind, Queue: j.Queue,
		Priority: j.Priority, Args: j.Args, MaxAttempts: j.MaxAttempts, RunAt: runAt, CreatedAt: now, LeaseUntil: until,
		ServerID: p.ServerID, RecurringID: j.RecurringID, Timeout: j.Timeout, Tags: j.Tags, Note: j.Note, Idle: p.Idle,
		Record: func(tx *gorm.DB, id int64) error {
			if tags := tagRows([]*Job{{ID: id, Tags: j.Tags}}, nil); len(tags) > 0 {
				if err := tx.Create(&tags).Error; err != nil {
					return fmt.Errorf("tags: %w", err)
				}
			}
			counts := countDelta{}
			counts.move(j.Queue, j.Kind, "", JobProcessing, 1)
			return s.writeCounts(tx, counts)
		},
		Otherwise: func(tx *gorm.DB) error {
			_, err := s.InsertJobsTx(tx, []*Job{j}, now)
			return err
		},
		Also: s.alsoAudit(ctx, j, &took),
	})
	if err != nil {
		return false, fmt.Errorf("models: insert job: %w", err)
	}
	markWritten(took)
	if id == 0 {
		return false, nil // stored waiting
	}
	j.ID, j.CreatedAt, j.RunAt, j.Progress, j.LastError, j.Result = id, now, runAt, 0, "", ""
	j.State, j.Attempt, j.Runs, j.StartedAt, j.LeaseUntil, j.ServerID, j.ContinueOn = JobProcessing, 1, 1, &now, &until, p.ServerID, ""
	if j.TraceParent != nil {
		// After the insert's transaction, which is the driver's: a failure, or a crash in
		// between, costs only the trace link of a later attempt, as this one has the job in hand.
		if err := setTraceParents(s.db.WithContext(context.WithoutCancel(ctx)), []*Job{j}); err != nil {
			return true, err
		}
	}
	return true, nil
}
