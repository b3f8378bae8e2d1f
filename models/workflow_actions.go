package models

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// What a person does to a whole run: cancel it, or retry its failed steps. Each is one
// transaction under the run's lock, moving each step as a job action does (its history, its
// counts), so that a crash leaves the run as it was or as asked.

// Cancellable reports whether the run may be cancelled: while it runs. The store checks it
// under the run's lock; the dashboard offers Cancel only where it holds.
func (wf *Workflow) Cancellable() bool { return wf.State == WorkflowRunning }

// Retryable reports whether the run may be retried: it ended failed or cancelled (the steps
// that did not succeed are retried). A run that succeeded has nothing to retry, though steps
// that run on failure were skipped.
func (wf *Workflow) Retryable() bool {
	return wf.State == WorkflowFailed || wf.State == WorkflowCancelled
}

// lockWorkflow loads the run id under its row's lock.
func (s *conn) lockWorkflow(tx *gorm.DB, id int64) (*Workflow, error) {
	var wf Workflow
	err := s.drv.LockRows(tx, "UPDATE").Take(&wf, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENOTFOUND, "There is no workflow %d.", id)
	}
	if err != nil {
		return nil, fmt.Errorf("models: load workflow %d: %w", id, err)
	}
	return &wf, nil
}

// stepJobs are a run's steps in the order they were stored (each after the steps it depends
// on), with their jobs' states and times, read through db (a transaction, or the readers).
func stepJobs(db *gorm.DB, id int64) ([]StepOf, error) {
	var steps []StepOf
	err := db.Table("workflow_steps AS ws").Select("ws.*, jobs.state, jobs.started_at, jobs.finished_at").Joins("JOIN jobs ON jobs.id = ws.job_id").
		Where("ws.workflow_id = ?", id).Order("ws.job_id").Scan(&steps).Error
	if err != nil {
		return nil, fmt.Errorf("models: steps of workflow %d: %w", id, err)
	}
	return steps, nil
}

// CancelWorkflow stops a running run: every step not yet in a final state is cancelled (a
// running one's worker sees it and cancels its context), and no step starts after; the run
// ends cancelled. It is set-based, one statement per 500 steps, so a run of 10,000 cancels as
// fast as one of ten. It returns the steps' jobs as they were before, for the engine to stop
// those it runs itself.
func (s workflowStore) CancelWorkflow(ctx context.Context, id int64, reason string) ([]*Job, error) {
	var stopped []*Job
	err := s.change(ctx, func(tx *gorm.DB) error {
		stopped = nil
		wf, err := s.lockWorkflow(tx, id)
		if err != nil {
			return err
		}
		if !wf.Cancellable() {
			return Errorf(ECONFLICT, "Workflow %d is already %s.", id, wf.State)
		}
		var open []Job
		err = s.drv.LockRows(tx.Model(&Job{}), "UPDATE").Where("id IN (?) AND state IN ?",
			tx.Model(&WorkflowStep{}).Select("job_id").Where("workflow_id = ?", id), unfinishedStates()).Order("id").Find(&open).Error
		if err != nil {
			return fmt.Errorf("models: steps of workflow %d: %w", id, err)
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		counts := countDelta{}
		ids := make([]int64, len(open))
		events := make([]JobEvent, len(open))
		for i := range open {
			j := &open[i]
			if err := s.materializeHistory(tx, j); err != nil {
				return err
			}
			ids[i] = j.ID
			events[i] = JobEvent{JobID: j.ID, From: j.State, To: JobCancelled, At: now, Attempt: j.Attempt, Reason: reason, ServerID: j.ServerID}
			counts.move(j.Queue, j.Kind, j.State, JobCancelled, 1)
			stopped = append(stopped, j)
		}
		for chunk := range slices.Chunk(ids, 500) {
			if err := tx.Model(&Job{}).Where("id IN ?", chunk).
				Updates(map[string]any{"state": JobCancelled, "finished_at": now, "lease_until": nil}).Error; err != nil {
				return fmt.Errorf("models: cancel the steps of workflow %d: %w", id, err)
			}
		}
		// The run is cancelled first: what its steps' ends release below sees it so (a fan-out
		// being stored stores no more).
		if err := tx.Model(&Workflow{}).Where("id = ?", id).Updates(map[string]any{"state": WorkflowCancelled, "finished_at": now}).Error; err != nil {
			return fmt.Errorf("models: cancel workflow %d: %w", id, err)
		}
		if len(events) > 0 {
			if err := insertRows(s.conn, tx, events); err != nil {
				return fmt.Errorf("models: events of workflow %d: %w", id, err)
			}
			// Its own count of steps done (every step is final, so none of its steps starts),
			// and continuations of its steps.
			ended := map[JobState][]int64{JobCancelled: ids}
			if _, err := s.releaseSteps(tx, ended, now, counts); err != nil {
				return err
			}
			if _, err := s.releaseChildren(tx, ended, now, counts); err != nil {
				return err
			}
		}
		noteChange(ctx, fmt.Sprintf("workflow %d", id), map[string]any{"state": AuditChange{Before: wf.State, After: WorkflowCancelled}})
		return s.writeCounts(tx, counts)
	})
	return stopped, err
}

// unfinishedStates are the states that are not final.
func unfinishedStates() []JobState {
	var out []JobState
	for _, st := range JobStates {
		if !st.Final() {
			out = append(out, st)
		}
	}
	return out
}

// RetryWorkflow runs again the steps of an ended run that failed, were cancelled or skipped,
// keeping what succeeded: each goes back to waiting for those of its dependencies that run
// again, or to its queue when none does, with its attempts reset; the run is running again.
// It returns the queues that got jobs.
func (s workflowStore) RetryWorkflow(ctx context.Context, id int64, reason string) ([]string, error) {
	var queues []string
	err := s.change(ctx, func(tx *gorm.DB) error {
		queues = nil
		wf, err := s.lockWorkflow(tx, id)
		if err != nil {
			return err
		}
		steps, err := stepJobs(tx, id)
		if err != nil {
			return err
		}
		switch {
		case wf.State == WorkflowRunning:
			return Errorf(ECONFLICT, "Workflow %d is still running: cancel it first, or wait for it to end.", id)
		case !wf.Retryable():
			return Errorf(ECONFLICT, "Workflow %d succeeded: it has no step to retry.", id)
		}
		again := map[int64]bool{}
		left := 0 // the jobs to go again, a fan-out not yet expanded counted as its items
		for _, st := range steps {
			if st.State != JobSucceeded {
				again[st.JobID] = true
				left += st.counts()
			}
			left += restCount(st.ForEach) // a fan-out's items not stored yet: stored as it goes on
		}
		ids := make([]int64, 0, len(again))
		for jobID := range again {
			ids = append(ids, jobID)
		}
		slices.Sort(ids)
		waits := map[int64]int{} // how many of its dependencies each step runs again after
		for chunk := range slices.Chunk(ids, 500) {
			var deps []jobDep
			if err := tx.Where("job_id IN ?", chunk).Find(&deps).Error; err != nil {
				return fmt.Errorf("models: graph of workflow %d: %w", id, err)
			}
			for _, d := range deps {
				if again[d.ParentID] {
					waits[d.JobID]++
				}
			}
		}
		if err := waitLikeFirstItem(tx, steps, again, waits); err != nil {
			return err
		}
		// And what waits for a fan-out being stored waits for its items still to come.
		for _, st := range steps {
			if rest := restCount(st.ForEach); rest > 0 {
				var children []int64
				if err := tx.Model(&jobDep{}).Where("parent_id = ?", st.JobID).Pluck("job_id", &children).Error; err != nil {
					return fmt.Errorf("models: graph of workflow %d: %w", id, err)
				}
				for _, c := range children {
					if again[c] {
						waits[c] += rest
					}
				}
			}
		}
		for _, jobID := range ids {
			n := waits[jobID]
			if err := tx.Model(&WorkflowStep{}).Where("job_id = ?", jobID).Updates(map[string]any{"deps_left": n, "deps_failed": 0}).Error; err != nil {
				return fmt.Errorf("models: reset step of job %d: %w", jobID, err)
			}
			// Each waits again; those with no dependency to wait for are released below, as
			// a finish releases them (their templates filled, skipped if they run on failure).
			to := JobAwaiting
			_, _, err := s.transitionTx(tx, jobID, func(j *Job) error {
				if !j.State.Final() {
					return Errorf(ECONFLICT, "Job %d of workflow %d is %s.", jobID, id, j.State)
				}
				return nil
			}, func(j *Job, now time.Time) (map[string]any, JobEvent) {
				return map[string]any{"state": to, "attempt": 0, "rescues": 0, "run_at": now, "started_at": nil, "finished_at": nil,
					"lease_until": nil, "progress": 0, "server_id": "", "last_error": ""}, JobEvent{Reason: reason}
			})
			if err != nil {
				return err
			}
		}
		if err := tx.Model(&Workflow{}).Where("id = ?", id).Updates(map[string]any{"state": WorkflowRunning, "finished_at": nil,
			"steps_left": left, "steps_failed": 0}).Error; err != nil {
			return fmt.Errorf("models: retry workflow %d: %w", id, err)
		}
		q, err := s.releaseRetried(tx, ids, waits)
		if err != nil {
			return err
		}
		// A fan-out cancelled while it was being stored goes on being stored: a chunk now, the
		// rest by the engine's StoreFanOuts, once this commits.
		of, err := fanOutsOf(tx, id)
		if err != nil {
			return err
		}
		stored, more, err := s.continueFanOuts(tx, of)
		if err != nil {
			return err
		}
		s.fanOuts.add(more)
		queues = append(q, stored...)
		noteChange(ctx, fmt.Sprintf("workflow %d", id), map[string]any{"state": AuditChange{Before: wf.State, After: WorkflowRunning},
			"steps_again": len(ids)})
		return nil
	})
	if err == nil {
		s.fanOuts.signal()
	}
	return queues, err
}

// releaseRetried releases, as a finish would, the retried steps (ids) that wait for none of
// their dependencies (waits), and what follows from them: a step skipped again releases its
// dependents. It returns the queues that got jobs.
func (s *conn) releaseRetried(tx *gorm.DB, ids []int64, waits map[int64]int) ([]string, error) {
	var free []int64
	for _, id := range ids {
		if waits[id] == 0 {
			free = append(free, id)
		}
	}
	ready, err := s.readySteps(tx, free)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	counts := countDelta{}
	ended := map[int64]JobState{}
	queues, err := s.startOrSkip(tx, ready, now, counts, ended)
	if err != nil {
		return nil, err
	}
	if len(ended) > 0 {
		finished := map[JobState][]int64{}
		for id, st := range ended {
			finished[st] = append(finished[st], id)
		}
		q, err := s.releaseSteps(tx, finished, now, counts)
		if err != nil {
			return nil, err
		}
		queues = append(queues, q...)
	}
	slices.Sort(queues)
	queues = slices.Compact(queues)
	if err := s.notifyEnqueued(tx, queues...); err != nil {
		return nil, err
	}
	return queues, s.writeCounts(tx, counts)
}

// waitLikeFirstItem makes the items of expanded fan-outs that run again (again) wait for what
// their step's first item (the job the step was before it was expanded) waits for and runs
// again: they were stored when it was released, with no edge in, and get those edges now.
func waitLikeFirstItem(tx *gorm.DB, steps []StepOf, again map[int64]bool, waits map[int64]int) error {
	first := map[string]int64{}
	for _, st := range steps {
		if st.Item != nil && *st.Item == 0 {
			first[st.Step] = st.JobID
		}
	}
	byFirst := map[int64][]int64{} // the first item's job: the other items running again
	for _, st := range steps {
		if st.Item != nil && *st.Item > 0 && again[st.JobID] && first[st.Step] != 0 {
			byFirst[first[st.Step]] = append(byFirst[first[st.Step]], st.JobID)
		}
	}
	if len(byFirst) == 0 {
		return nil
	}
	var deps []jobDep
	if err := tx.Where("job_id IN ?", slices.Collect(maps.Keys(byFirst))).Find(&deps).Error; err != nil {
		return fmt.Errorf("models: graph of a fan-out: %w", err)
	}
	var edges []jobDep
	for _, d := range deps {
		if !again[d.ParentID] {
			continue
		}
		for _, item := range byFirst[d.JobID] {
			waits[item]++
			edges = append(edges, jobDep{ParentID: d.ParentID, JobID: item})
		}
	}
	if len(edges) == 0 {
		return nil
	}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(edges, 1000).Error; err != nil {
		return fmt.Errorf("models: graph of a fan-out: %w", err)
	}
	return nil
}
