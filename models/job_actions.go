package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Every function here changes job states together with their JobEvent rows in one transaction,
// so a crash at any point leaves each job in a state it can recover from.

// transition changes one job's state under a lock, with its event, when allowed says it may.
func (s *conn) transition(ctx context.Context, id int64, allowed func(*Job) error, change func(*Job, time.Time) (map[string]any, JobEvent)) (*Job, []string, error) {
	var (
		before *Job
		queues []string
	)
	var to JobState
	err := s.change(ctx, func(tx *gorm.DB) error {
		var err error
		before, queues, err = s.transitionTx(tx, id, allowed, func(j *Job, now time.Time) (map[string]any, JobEvent) {
			set, ev := change(j, now)
			to, _ = set["state"].(JobState)
			return set, ev
		})
		if err == nil { // the audit entry of the person who asked for it, if any
			noteChange(ctx, fmt.Sprintf("job %d", id), map[string]any{"state": AuditChange{Before: before.State, After: to}})
			noteKind(ctx, before.Kind)
		}
		return err
	})
	return before, queues, err
}

// transitionTx is transition inside the transaction tx.
func (s *conn) transitionTx(tx *gorm.DB, id int64, allowed func(*Job) error, change func(*Job, time.Time) (map[string]any, JobEvent)) (*Job, []string, error) {
	var (
		before *Job
		queues []string
	)
	err := func() error {
		q := s.drv.LockRows(tx, "UPDATE")
		var j Job
		if err := q.Take(&j, id).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return Errorf(ENOTFOUND, "Job %d does not exist (it may have been cleaned up).", id)
		} else if err != nil {
			return fmt.Errorf("models: load job %d: %w", id, err)
		}
		if err := allowed(&j); err != nil {
			return err
		}
		if err := s.materializeHistory(tx, &j); err != nil {
			return err
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		set, ev := change(&j, now)
		if err := tx.Model(&Job{}).Where("id = ?", id).Updates(set).Error; err != nil {
			return fmt.Errorf("models: update job %d: %w", id, err)
		}
		ev.JobID, ev.From, ev.To, ev.At, ev.Attempt = id, j.State, set["state"].(JobState), now, j.Attempt
		if err := tx.Create(&ev).Error; err != nil {
			return fmt.Errorf("models: job %d event: %w", id, err)
		}
		to, _ := set["state"].(JobState)
		counts := countDelta{}
		counts.move(j.Queue, j.Kind, j.State, to, 1)
		if to == JobEnqueued {
			if err := s.notifyEnqueued(tx, j.Queue); err != nil {
				return err
			}
		}
		if to.Final() && !j.State.Final() {
			var err error
			if queues, err = s.releaseContinuations(tx, map[JobState][]int64{to: {id}}, now, counts); err != nil {
				return err
			}
		}
		before = &j
		return s.writeCounts(tx, counts)
	}()
	return before, queues, err
}

// CancelJob cancels a job that has not finished: a waiting job never runs, and a running job's
// worker sees its job is no longer Processing and cancels its context. It returns the job as it
// was before, and the queues that got continuations.
func (s jobStore) CancelJob(ctx context.Context, id int64, reason string) (*Job, []string, error) {
	return s.transition(ctx, id, cancellable(id), cancelChange(reason))
}

// The states each action is allowed from, in one place: the store checks them under the job's
// lock, and the dashboard and API offer an action only where they allow it.

// Cancellable reports whether a job in this state may be cancelled: it has not finished.
func (s JobState) Cancellable() bool { return !s.Final() }

// Deletable reports whether a job in this state may be deleted: it is not deleted already.
func (s JobState) Deletable() bool { return s != JobDeleted }

// Requeueable reports whether a job in this state may be requeued: it has finished.
func (s JobState) Requeueable() bool { return s.Final() }

// Runnable reports whether a job in this state may be run now: it waits for its time or its
// parent.
func (s JobState) Runnable() bool { return s == JobScheduled || s == JobAwaiting }

func cancellable(id int64) func(*Job) error {
	return func(j *Job) error {
		if !j.State.Cancellable() {
			return Errorf(ECONFLICT, "Job %d is already %s.", id, j.State)
		}
		return nil
	}
}

func cancelChange(reason string) func(*Job, time.Time) (map[string]any, JobEvent) {
	return func(j *Job, now time.Time) (map[string]any, JobEvent) {
		return map[string]any{"state": JobCancelled, "finished_at": now, "lease_until": nil}, JobEvent{Reason: reason, ServerID: j.ServerID}
	}
}

// DeleteJob marks a job Deleted (retention removes it later); a running job is stopped as by
// CancelJob.
func (s jobStore) DeleteJob(ctx context.Context, id int64, reason string) (*Job, []string, error) {
	return s.transition(ctx, id, func(j *Job) error {
		if !j.State.Deletable() {
			return Errorf(ECONFLICT, "Job %d is already deleted.", id)
		}
		return nil
	}, func(j *Job, now time.Time) (map[string]any, JobEvent) {
		return map[string]any{"state": JobDeleted, "finished_at": now, "lease_until": nil}, JobEvent{Reason: reason, ServerID: j.ServerID}
	})
}

// RequeueJob starts a job in a final state again, with its attempts reset.
func (s jobStore) RequeueJob(ctx context.Context, id int64, reason string) (*Job, []string, error) {
	before, _, err := s.transition(ctx, id, func(j *Job) error {
		if !j.State.Requeueable() {
			return Errorf(ECONFLICT, "Job %d is %s; only succeeded, failed, cancelled or deleted jobs can be requeued.", id, j.State)
		}
		return nil
	}, func(j *Job, now time.Time) (map[string]any, JobEvent) {
		return map[string]any{
			"state": JobEnqueued, "attempt": 0, "rescues": 0, "run_at": now, "started_at": nil, "finished_at": nil,
			"lease_until": nil, "progress": 0, "server_id": "",
		}, JobEvent{Reason: reason}
	})
	if err != nil {
		return nil, nil, err
	}
	return before, []string{before.Queue}, nil
}

// TriggerJob runs a Scheduled or Awaiting job now instead of at its time or after its parent.
func (s jobStore) TriggerJob(ctx context.Context, id int64, reason string) (*Job, []string, error) {
	before, _, err := s.transition(ctx, id, func(j *Job) error {
		if !j.State.Runnable() {
			return Errorf(ECONFLICT, "Job %d is %s; only scheduled or awaiting jobs can be triggered.", id, j.State)
		}
		return nil
	}, func(j *Job, now time.Time) (map[string]any, JobEvent) {
		return map[string]any{"state": JobEnqueued, "run_at": now}, JobEvent{Reason: reason}
	})
	if err != nil {
		return nil, nil, err
	}
	return before, []string{before.Queue}, nil
}

// RetainedStates are the states retention deletes jobs in by default: failed jobs are kept
// for inspection unless a retention of their own is set.
var RetainedStates = []JobState{JobSucceeded, JobCancelled, JobDeleted}

// CleanupJobs deletes the jobs in states (final ones only) that finished before `before`, with
// their events and logs, batch jobs per transaction so the writer is never held for long. It
// returns how many jobs it deleted.
func (s jobStore) CleanupJobs(ctx context.Context, states []JobState, before time.Time, batch int) (int64, error) {
	for _, st := range states {
		if !st.Final() {
			return 0, Errorf(EINVALID, "Retention deletes finished jobs only, not %s ones.", st)
		}
	}
	if len(states) == 0 {
		return 0, nil
	}
	var total int64
	for {
		var ids []int64
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := tx.Model(&Job{}).Where("state IN ? AND finished_at < ?", states, before.UTC()).
				Order("id").Limit(batch).Pluck("id", &ids).Error; err != nil {
				return err
			}
			if len(ids) == 0 {
				return nil
			}
			gone, err := countByQueueState(tx.Where(s.drv.IDIn("id", ids)))
			if err != nil {
				return err
			}
			counts := countDelta{}
			for k, n := range gone {
				counts.move(k.Queue, k.Kind, k.State, "", n)
			}
			if err := s.writeCounts(tx, counts); err != nil {
				return err
			}
			for _, m := range []any{&JobEvent{}, &JobLog{}, &JobTag{}} {
				if err := tx.Where(s.drv.IDIn("job_id", ids)).Delete(m).Error; err != nil {
					return err
				}
			}
			return tx.Where(s.drv.IDIn("id", ids)).Delete(&Job{}).Error
		})
		if err != nil {
			return total, fmt.Errorf("models: clean up jobs: %w", err)
		}
		total += int64(len(ids))
		if len(ids) < batch {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// times writes a count of occurrences: "once", "2 times".
func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

// plural writes a count of things: "1 rescue", "3 rescues".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
