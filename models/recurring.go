package models

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Misfire policies: what a recurring job does about occurrences missed while no Kiln ran.
const (
	// MisfireRelaxed runs once for all missed occurrences.
	MisfireRelaxed = "relaxed"
	// MisfireStrict runs once per missed occurrence (capped).
	MisfireStrict = "strict"
	// MisfireIgnore skips missed occurrences.
	MisfireIgnore = "ignore"
)

// Overlap policies: what an occurrence does when the job of the one before has not finished.
const (
	// OverlapAllow enqueues it anyway: runs may overlap.
	OverlapAllow = "allow"
	// OverlapSkip enqueues nothing; the skip is counted on the entry.
	OverlapSkip = "skip"
	// OverlapReplace cancels the unfinished job and enqueues the new one.
	OverlapReplace = "replace"
)

// OverlapPolicies lists the overlap policies, the default first.
var OverlapPolicies = []string{OverlapAllow, OverlapSkip, OverlapReplace}

// RecurringJob is a job definition that is enqueued on a schedule.
type RecurringJob struct {
	ID   int64 `gorm:"primaryKey"`
	Name string
	// Spec is a cron expression (5 fields, or 6 with seconds first), a descriptor such as
	// @hourly, or @every <duration>.
	Spec        string
	TimeZone    string
	Kind        string
	Args        string
	Queue       string
	Priority    int
	MaxAttempts int
	Timeout     time.Duration
	Misfire     string
	// Overlap is what an occurrence does while the job of the one before is unfinished.
	Overlap string
	// OverlapSet is set when a person chose Overlap: the code's policy no longer replaces it.
	OverlapSet bool
	// Skipped counts the occurrences Overlap skipped; LastSkippedAt is the latest.
	Skipped       int64
	LastSkippedAt *time.Time
	// Paused recurring jobs enqueue nothing; the flag survives restarts.
	Paused bool
	// Overridden is set when a user edited the schedule: the code's definition no longer
	// replaces Spec and TimeZone on start.
	Overridden bool
	// CreatedBy is who made the entry at run time (dashboard or API); empty for an entry a
	// server's code defines. Only entries made at run time are edited whole or deleted.
	CreatedBy string
	LastRunAt *time.Time
	NextRunAt *time.Time
	LastJobID *int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// UpsertRecurring stores the definition under its name. An existing entry keeps its paused
// flag and run times, and a schedule a user edited; its next run is recomputed by next only
// when its schedule changed. (next must compute from def's schedule.)
func (s recurringStore) UpsertRecurring(ctx context.Context, def *RecurringJob, next func() time.Time) (*RecurringJob, error) {
	var out RecurringJob
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := s.lockRecurring(tx, def.Name, &out)
		if errors.Is(err, gorm.ErrRecordNotFound) {
			out = *def
			out.fillDefaults()
			n := next().UTC().Truncate(time.Microsecond)
			out.ID, out.NextRunAt, out.Paused = 0, &n, false
			// Nodes starting together may all find no entry: the first insert wins, and the
			// others update the entry it made, as if they had found it.
			res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&out)
			if res.Error != nil || res.RowsAffected == 1 {
				return res.Error
			}
			out = RecurringJob{}
			err = s.lockRecurring(tx, def.Name, &out)
		}
		if err != nil {
			return err
		}
		if !out.Overridden && (out.Spec != def.Spec || out.TimeZone != def.TimeZone) || out.NextRunAt == nil {
			out.Spec, out.TimeZone = def.Spec, def.TimeZone
			n := next().UTC().Truncate(time.Microsecond)
			out.NextRunAt = &n
		}
		out.Kind, out.Args, out.Queue, out.Priority = def.Kind, def.Args, def.Queue, def.Priority
		out.MaxAttempts, out.Timeout, out.Misfire = def.MaxAttempts, def.Timeout, def.Misfire
		if !out.OverlapSet {
			out.Overlap = def.Overlap // a policy a person set outlives the code's
		}
		out.CreatedBy = "" // code that defines the name takes the entry over
		return tx.Save(&out).Error
	})
	if err != nil {
		return nil, fmt.Errorf("models: save recurring job %q: %w", def.Name, err)
	}
	return &out, nil
}

// fillDefaults gives a new entry what its definition leaves empty: the values of the columns'
// DEFAULTs, which the entry's insert also used to get from its GORM tags.
func (rj *RecurringJob) fillDefaults() {
	if rj.TimeZone == "" {
		rj.TimeZone = DefaultTimeZone
	}
	if rj.Queue == "" {
		rj.Queue = DefaultQueue
	}
	if rj.MaxAttempts == 0 {
		rj.MaxAttempts = DefaultMaxAttempts
	}
	if rj.Misfire == "" {
		rj.Misfire = MisfireRelaxed
	}
	if rj.Overlap == "" {
		rj.Overlap = OverlapAllow
	}
}

func (s *conn) lockRecurring(tx *gorm.DB, name string, into *RecurringJob) error {
	q := s.drv.LockRows(tx, "UPDATE")
	return q.Where("name = ?", name).Take(into).Error
}

// UpdateRecurring runs fn on the named entry inside a transaction holding its lock (so nodes
// firing the same tick take turns), then saves the entry. fn may insert jobs through tx.
func (s recurringStore) UpdateRecurring(ctx context.Context, name string, fn func(tx Tx, rj *RecurringJob) error) (*RecurringJob, error) {
	var rj RecurringJob
	err := s.change(ctx, func(tx *gorm.DB) error {
		if err := s.lockRecurring(tx, name, &rj); errors.Is(err, gorm.ErrRecordNotFound) {
			return Errorf(ENOTFOUND, "There is no recurring job %q.", name)
		} else if err != nil {
			return fmt.Errorf("models: load recurring job %q: %w", name, err)
		}
		before := rj
		if err := fn(storeTx{jobStore{s.conn}, tx}, &rj); err != nil {
			return err
		}
		if err := tx.Save(&rj).Error; err != nil {
			return fmt.Errorf("models: save recurring job %q: %w", name, err)
		}
		changes := auditDiff(&before, &rj, recurringAudited...)
		if sameJSONText(before.Args, rj.Args) { // the form shows them indented: saved, they are the same
			delete(changes, "args")
		}
		noteChange(ctx, "recurring "+name, changes)
		noteKind(ctx, rj.Kind)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &rj, nil
}

// sameJSONText reports whether a and b are the same JSON but for the spaces between its tokens.
func sameJSONText(a, b string) bool {
	var ca, cb bytes.Buffer
	return json.Compact(&ca, []byte(a)) == nil && json.Compact(&cb, []byte(b)) == nil && bytes.Equal(ca.Bytes(), cb.Bytes())
}

// GetRecurring returns the named entry, or an ENOTFOUND error.
func (s recurringStore) GetRecurring(ctx context.Context, name string) (*RecurringJob, error) {
	var rj RecurringJob
	err := s.rdb.WithContext(ctx).Where("name = ?", name).Take(&rj).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENOTFOUND, "There is no recurring job %q.", name)
	}
	if err != nil {
		return nil, fmt.Errorf("models: get recurring job %q: %w", name, err)
	}
	return &rj, nil
}

// ListRecurring returns every recurring job by name.
func (s recurringStore) ListRecurring(ctx context.Context) ([]RecurringJob, error) {
	var out []RecurringJob
	if err := s.rdb.WithContext(ctx).Order("name").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: list recurring jobs: %w", err)
	}
	return out, nil
}

// storeTx is a Tx: the store's writes inside one GORM transaction.
type storeTx struct {
	s  jobStore
	tx *gorm.DB
}

func (t storeTx) InsertJobs(jobs []*Job, now time.Time) ([]int, error) {
	return t.s.InsertJobsTx(t.tx, jobs, now)
}

func (t storeTx) JobState(id int64) (JobState, error) {
	var states []JobState
	err := t.tx.Model(&Job{}).Where("id = ?", id).Pluck("state", &states).Error
	if err != nil {
		return "", fmt.Errorf("models: state of job %d: %w", id, err)
	}
	if len(states) == 0 {
		return "", nil
	}
	return states[0], nil
}

func (t storeTx) CancelJob(id int64, reason string) (*Job, []string, error) {
	return t.s.transitionTx(t.tx, id, cancellable(id), cancelChange(reason))
}

// CreateRecurring stores a new recurring job whose next occurrence is next, or an ECONFLICT
// error when the name is taken.
func (s recurringStore) CreateRecurring(ctx context.Context, def *RecurringJob, next time.Time) (*RecurringJob, error) {
	rj := *def
	rj.fillDefaults()
	n := next.UTC().Truncate(time.Microsecond)
	rj.ID, rj.NextRunAt = 0, &n
	err := s.change(ctx, func(tx *gorm.DB) error {
		noteChange(ctx, "recurring "+rj.Name, nil) // the attempt's target, taken or not
		if err := insertNew(tx, &rj, fmt.Sprintf("recurring job %q", def.Name), &Error{Code: ECONFLICT,
			Message: fmt.Sprintf("There is already a recurring job named %q.", def.Name),
			Fields:  map[string]string{"name": "Choose another name, or change that job's schedule."}}); err != nil {
			return err
		}
		noteChange(ctx, "recurring "+rj.Name, auditDiff(nil, &rj, recurringAudited...))
		noteKind(ctx, rj.Kind)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &rj, nil
}

// recurringAudited are the fields of a recurring job an audit entry shows before and after:
// what a person sets, not the times the schedule moves.
var recurringAudited = []string{"Spec", "TimeZone", "Kind", "Args", "Queue", "Priority", "MaxAttempts", "Timeout",
	"Misfire", "Overlap", "Paused"}

// DeleteRecurring removes the named recurring job; the jobs it made stay. An entry the code
// defines comes back when a server starts with that code.
func (s recurringStore) DeleteRecurring(ctx context.Context, name string) error {
	return s.change(ctx, func(tx *gorm.DB) error {
		var rj RecurringJob
		if err := s.lockRecurring(tx, name, &rj); errors.Is(err, gorm.ErrRecordNotFound) {
			return Errorf(ENOTFOUND, "There is no recurring job %q.", name)
		} else if err != nil {
			return fmt.Errorf("models: load recurring job %q: %w", name, err)
		}
		if err := tx.Delete(&RecurringJob{}, rj.ID).Error; err != nil {
			return fmt.Errorf("models: delete recurring job %q: %w", name, err)
		}
		noteChange(ctx, "recurring "+name, auditDiff(&rj, nil, recurringAudited...))
		noteKind(ctx, rj.Kind)
		return nil
	})
}
