package models

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// releaseSteps is the part of a workflow that happens when jobs reach a final state, inside
// the transaction that moved them there (a finish, a cancel, a rescue's poison pill):
//   - each step that depends on them counts them; one whose last dependency this was runs, if
//     its dependencies ended as it needs, or else is skipped, which is final too and releases
//     the steps that depend on it in turn;
//   - each run counts its steps done, and ends once none is left: failed when a step failed or
//     was cancelled, succeeded otherwise.
//
// Every count is an UPDATE of the row that holds it, so two transactions that finish two
// dependencies of one step at once (on two nodes) take turns on its row, and only the one
// that brings it to zero sees zero: the step starts once. Rows are updated in the order of
// their ids, so such transactions never wait on each other in a circle.
//
// It returns the queues that got jobs to run. releaseContinuations calls it only while a run
// is going.
func (s *conn) releaseSteps(tx *gorm.DB, finished map[JobState][]int64, now time.Time, counts countDelta) ([]string, error) {
	now = now.UTC().Truncate(time.Microsecond)
	state := map[int64]JobState{}
	for st, ids := range finished {
		for _, id := range ids {
			state[id] = st
		}
	}
	var queues []string
	for len(state) > 0 { // skipped steps are final too: their dependents are released in turn
		ids := make([]int64, 0, len(state))
		for id := range state {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		steps, deps, err := s.finishedSteps(tx, ids)
		if err != nil {
			return nil, err
		}
		fanOuts, err := s.countStepsDone(tx, steps, state, now)
		if err != nil {
			return nil, err
		}
		s.fanOuts.add(fanOuts) // the engine stores on those being stored, once this commits
		ready, err := s.countDependencies(tx, deps, state)
		if err != nil {
			return nil, err
		}
		next := map[int64]JobState{}
		q, err := s.startOrSkip(tx, ready, now, counts, next)
		if err != nil {
			return nil, err
		}
		queues = append(queues, q...)
		state = next
	}
	slices.Sort(queues)
	queues = slices.Compact(queues)
	return queues, s.notifyEnqueued(tx, queues...)
}

// failedStep reports whether a step that ended in st counts against its run.
func failedStep(st JobState) bool {
	return st == JobFailed || st == JobCancelled || st == JobDeleted
}

// finishedSteps reads the workflow steps among ids (final jobs) and the edges to the steps that
// depend on them, in one statement: a finish batch of a fan-out's items is hundreds of steps,
// each with its edge to the step after the fan-out, and every round trip of a finish is one its
// workers wait for. Each half reads its own table by its key (a join read all of job_deps on
// PostgreSQL: 3 ms a batch at 30,000 edges, against 0.4). Rows are scanned one by one, not by
// GORM's reflection (1-3 ms a batch, kiln bench --workflow). An item's for_each is not read: it
// counts as one job, and the first item's holds the items still to store.
func (s *conn) finishedSteps(tx *gorm.DB, ids []int64) ([]WorkflowStep, []jobDep, error) {
	var steps []WorkflowStep
	var deps []jobDep
	err := scanRows(tx.Raw(finishedStepsSQL, s.drv.IDIn("job_id", ids), s.drv.IDIn("parent_id", ids)), func(r *sql.Rows) error {
		var st WorkflowStep
		var child sql.NullInt64
		if err := r.Scan(&st.JobID, &st.WorkflowID, &st.Step, &st.Item, &st.ForEach, &child); err != nil {
			return err
		}
		if child.Valid {
			deps = append(deps, jobDep{ParentID: st.JobID, JobID: child.Int64})
		} else {
			steps = append(steps, st)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("models: find finished steps: %w", err)
	}
	return steps, deps, nil
}

// finishedStepsSQL reads the steps among ? (Driver.IDIn of job_id) and their edges out (the
// same ids, of parent_id): an edge's row has the step that depends on it last, a step's NULL.
const finishedStepsSQL = `SELECT job_id, workflow_id, step, item, CASE WHEN item IS NULL THEN for_each ELSE '' END, CAST(NULL AS bigint) FROM workflow_steps WHERE ?
UNION ALL SELECT parent_id, 0, '', NULL, '', job_id FROM job_deps WHERE ?`

// countStepsDone counts, in their runs, these steps (final, in state) and ends each run left
// with none to go. It returns the fan-outs that some of them are items of.
func (s *conn) countStepsDone(tx *gorm.DB, steps []WorkflowStep, state map[int64]JobState, now time.Time) ([]fanOut, error) {
	type done struct{ left, failed int }
	byRun := map[int64]*done{}
	var fanOuts []fanOut // of the items among them, for the engine to store on
	for _, st := range steps {
		if f := (fanOut{WorkflowID: st.WorkflowID, Step: st.Step}); st.Item != nil && !slices.Contains(fanOuts, f) {
			fanOuts = append(fanOuts, f)
		}
		d := byRun[st.WorkflowID]
		if d == nil {
			d = &done{}
			byRun[st.WorkflowID] = d
		}
		d.left += st.counts()
		if failedStep(state[st.JobID]) {
			d.failed++
		}
	}
	runs := make([]int64, 0, len(byRun))
	for id := range byRun {
		runs = append(runs, id)
	}
	slices.Sort(runs)
	for _, id := range runs {
		d := byRun[id]
		var wf Workflow
		err := tx.Raw("UPDATE workflows SET steps_left = steps_left - ?, steps_failed = steps_failed + ? WHERE id = ? RETURNING id, state, steps_left, steps_failed",
			d.left, d.failed, id).Scan(&wf).Error
		if err != nil {
			return nil, fmt.Errorf("models: count the steps of workflow %d: %w", id, err)
		}
		if wf.StepsLeft > 0 || wf.State != WorkflowRunning {
			continue
		}
		end := WorkflowSucceeded
		if wf.StepsFailed > 0 {
			end = WorkflowFailed
		}
		if err := tx.Model(&Workflow{}).Where("id = ? AND state = ?", id, WorkflowRunning).
			Updates(map[string]any{"state": end, "finished_at": now}).Error; err != nil {
			return nil, fmt.Errorf("models: end workflow %d: %w", id, err)
		}
	}
	return fanOuts, nil
}

// readyStep is a step whose last dependency just ended.
type readyStep struct {
	JobID      int64
	WorkflowID int64
	Step       string
	DepsFailed int
	ContinueOn string
	Queue      string
	Kind       string
	// ForEach and Templated: the step fans out over a result, or uses results in its
	// arguments; fillSteps deals with them as it is released.
	ForEach   string
	Templated bool
	// State is its job's: only an awaiting job is released (readyStepsSQL).
	State JobState
}

// countDependencies counts, in the steps that depend on steps just ended (deps: their edges;
// the ended ones are final, in state), their dependencies done and failed, and returns those
// with none left to wait for. Each statement takes all its ids as one parameter
// (Driver.IDIn): a release of 10,000 steps is a handful of statements, not a few per 500 of
// them (PostgreSQL: 0.25 s less under load, kiln bench --workflow), and a finish batch of a
// fan-in's steps is one: the last step's row alone is neither locked beforehand nor read
// again unless its count reached zero.
func (s *conn) countDependencies(tx *gorm.DB, deps []jobDep, state map[int64]JobState) ([]readyStep, error) {
	type count struct{ done, failed int }
	byChild := map[int64]*count{}
	for _, d := range deps {
		c := byChild[d.JobID]
		if c == nil {
			c = &count{}
			byChild[d.JobID] = c
		}
		c.done++
		if state[d.ParentID] != JobSucceeded {
			c.failed++
		}
	}
	if len(byChild) == 0 {
		return nil, nil
	}
	// Children that count the same go in one UPDATE: a fan-out's thousands of steps, one each.
	same := map[count][]int64{}
	children := make([]int64, 0, len(byChild))
	for id, c := range byChild {
		same[*c] = append(same[*c], id)
		children = append(children, id)
	}
	// Their rows are locked first, in the order of their ids (PostgreSQL; SQLite has one
	// writer): the UPDATEs below, by group, would take them in no order. One row needs no
	// order: its UPDATE locks it.
	slices.Sort(children)
	if len(children) > 1 {
		var locked []int64
		if err := s.drv.LockRows(tx.Model(&WorkflowStep{}), "UPDATE").Where(s.drv.IDIn("job_id", children)).Order("job_id").
			Pluck("job_id", &locked).Error; err != nil {
			return nil, fmt.Errorf("models: lock the steps waiting: %w", err)
		}
	}
	keys := make([]count, 0, len(same))
	for c, group := range same {
		slices.Sort(group)
		keys = append(keys, c)
	}
	slices.SortFunc(keys, func(a, b count) int { return int(same[a][0] - same[b][0]) })
	var zero []int64 // the children with no dependency left
	for _, c := range keys {
		if err := scanRows(tx.Raw("UPDATE workflow_steps SET deps_left = deps_left - ?, deps_failed = deps_failed + ? WHERE ? RETURNING job_id, deps_left",
			c.done, c.failed, s.drv.IDIn("job_id", same[c])), func(r *sql.Rows) error {
			var id int64
			var left int
			if err := r.Scan(&id, &left); err != nil || left > 0 {
				return err
			}
			zero = append(zero, id)
			return nil
		}); err != nil {
			return nil, fmt.Errorf("models: count the dependencies of steps: %w", err)
		}
	}
	if len(zero) == 0 {
		return nil, nil
	}
	return s.readySteps(tx, zero)
}

// readySteps reads the steps among ids that wait for no dependency and whose jobs still await.
func (s *conn) readySteps(tx *gorm.DB, ids []int64) ([]readyStep, error) {
	var ready []readyStep
	if err := scanRows(tx.Raw(readyStepsSQL, s.drv.IDIn("ws.job_id", ids)), func(r *sql.Rows) error {
		var st readyStep
		if err := r.Scan(&st.JobID, &st.WorkflowID, &st.Step, &st.DepsFailed, &st.ForEach, &st.Templated, &st.ContinueOn, &st.Queue, &st.Kind, &st.State); err != nil {
			return err
		}
		if st.State == JobAwaiting { // else it was cancelled, or released, meanwhile
			ready = append(ready, st)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("models: find the steps to release: %w", err)
	}
	return ready, nil
}

// readyStepsSQL reads the steps among ? (Driver.IDIn of ws.job_id) that wait for no dependency, with their jobs.
// Which of them still await is told from jobs.state in Go, not in the query: PostgreSQL's
// statistics, taken while no job awaited, made a filter on it read every awaiting job through
// the state index and, for each, scan workflow_steps; the release of a 10,000-step fan-out
// (kiln bench --workflow) held its finish for over 30 s, until the engine's write timed out.
// Keyed on ws.job_id alone, both tables are read by their primary keys.
const readyStepsSQL = `SELECT ws.job_id, ws.workflow_id, ws.step, ws.deps_failed, ws.for_each, ws.templated, jobs.continue_on, jobs.queue, jobs.kind, jobs.state
FROM workflow_steps ws JOIN jobs ON jobs.id = ws.job_id WHERE ? AND ws.deps_left = 0`

// startOrSkip enqueues each ready step whose dependencies ended as it needs, and skips the
// others, recording in skipped the steps it skipped. It returns the queues that got jobs.
func (s *conn) startOrSkip(tx *gorm.DB, ready []readyStep, now time.Time, counts countDelta, skipped map[int64]JobState) ([]string, error) {
	var run, skip []int64
	byID := make(map[int64]readyStep, len(ready))
	for _, r := range ready {
		byID[r.JobID] = r
		runs := r.DepsFailed == 0
		switch r.ContinueOn {
		case ContinueOnFailure:
			runs = r.DepsFailed > 0
		case ContinueOnFinish:
			runs = true
		}
		if runs {
			run = append(run, r.JobID)
		} else {
			skip = append(skip, r.JobID)
		}
	}
	var queues []string
	var events []JobEvent
	run, q, err := s.fillReady(tx, run, byID, now, counts, skipped, &events)
	if err != nil {
		return nil, err
	}
	queues = append(queues, q...)
	for chunk := range slices.Chunk(run, maxSteps) { // Driver.IDIn: one parameter, however many
		var moved []int64
		if err := tx.Raw("UPDATE jobs SET state = ?, run_at = ? WHERE ? AND state = ? RETURNING id", JobEnqueued, now, s.drv.IDIn("id", chunk), JobAwaiting).
			Scan(&moved).Error; err != nil {
			return nil, fmt.Errorf("models: start steps: %w", err)
		}
		for _, id := range moved {
			r := byID[id]
			counts.move(r.Queue, r.Kind, JobAwaiting, JobEnqueued, 1)
			queues = append(queues, r.Queue)
			events = append(events, JobEvent{JobID: id, From: JobAwaiting, To: JobEnqueued, At: now, Reason: stepReason(r, true)})
		}
	}
	for chunk := range slices.Chunk(skip, maxSteps) {
		var moved []int64
		if err := tx.Raw("UPDATE jobs SET state = ?, finished_at = ? WHERE ? AND state = ? RETURNING id", JobSkipped, now, s.drv.IDIn("id", chunk), JobAwaiting).
			Scan(&moved).Error; err != nil {
			return nil, fmt.Errorf("models: skip steps: %w", err)
		}
		for _, id := range moved {
			r := byID[id]
			counts.move(r.Queue, r.Kind, JobAwaiting, JobSkipped, 1)
			skipped[id] = JobSkipped
			events = append(events, JobEvent{JobID: id, From: JobAwaiting, To: JobSkipped, At: now, Reason: stepReason(r, false)})
		}
	}
	if len(events) > 0 {
		if err := insertRows(s, tx, events); err != nil {
			return nil, fmt.Errorf("models: events of steps: %w", err)
		}
	}
	return queues, nil
}

// stepReason says why a step was started or skipped.
func stepReason(r readyStep, started bool) string {
	var b strings.Builder
	switch {
	case started && r.DepsFailed == 0:
		b.WriteString("the steps it depends on succeeded")
	case started:
		fmt.Fprintf(&b, "the steps it depends on ended, %d without succeeding", r.DepsFailed)
	case r.ContinueOn == ContinueOnFailure:
		b.WriteString("skipped: the steps it depends on all succeeded, and it runs on failure")
	default:
		fmt.Fprintf(&b, "skipped: %d of the steps it depends on did not succeed", r.DepsFailed)
	}
	return b.String()
}

// scanRows runs q and calls scan on each row it returns: the release reads and counts
// thousands of steps, which GORM's Scan and Find read by reflection, a field at a time.
func scanRows(q *gorm.DB, scan func(*sql.Rows) error) error {
	rows, err := q.Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
