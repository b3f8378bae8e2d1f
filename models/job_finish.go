package models

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/kilnhq/kiln/models/driver"
)

// Every function here changes job states together with their JobEvent rows in one transaction,
// so a crash at any point leaves each job in a state it can recover from.

// JobFinish is the outcome of one attempt, as the engine decided it.
type JobFinish struct {
	JobID    int64
	ServerID string // the claim being finished: ignored unless the job is
	Attempt  int    // still Processing on this server in this attempt
	State    JobState
	// RunAt is when a Scheduled (retry, snooze) or Enqueued (released) job runs next.
	RunAt time.Time
	// Run is the job's run count (Job.Runs) when it was claimed: with ServerID it names the run
	// being finished.
	Run int
	// RefundAttempt gives the attempt back: a snooze or a release at shutdown doesn't use one.
	RefundAttempt bool
	Error         string
	Result        string
	Reason        string
	At            time.Time
	Duration      time.Duration
	// FreesSlotIn, when set, is the queue whose claims were held back by the job's kind's cap:
	// once the outcome is written, its fetchers claim again (not stored).
	FreesSlotIn string
}

// FinishJobs applies a batch of attempt outcomes in one transaction, with their events, and
// starts or cancels the continuations of jobs that reached a final state. An outcome for a job
// that is no longer Processing in that attempt on that server (cancelled, deleted, or rescued
// after its lease ran out) is skipped. It returns how many were applied and the queues that
// got newly enqueued jobs.
func (s jobStore) FinishJobs(ctx context.Context, batch []JobFinish) (applied int, queues []string, err error) {
	if len(batch) == 0 {
		return 0, nil, nil
	}
	batch = lastRuns(batch)
	// Everything that needs no database is done before the transaction holds the writer.
	rows := make([]driver.FinishRow, len(batch))
	byID := make(map[int64]int, len(batch))
	for i, f := range batch {
		refund := 0
		if f.RefundAttempt {
			refund = 1
		}
		errText := jsonText(truncate(f.Error, JobErrorMax))
		rows[i] = driver.FinishRow{
			ID: f.JobID, State: string(f.State), Error: errText, Result: jsonText(truncate(f.Result, JobResultMax)),
			RunAt: s.jsonTime(f.RunAt), Refund: refund, Server: f.ServerID, Attempt: f.Attempt, Run: f.Run,
			At: s.jsonTime(f.At), Reason: jsonText(f.Reason), Duration: int64(f.Duration),
		}
		if f.State.Final() {
			rows[i].FinishedAt = rows[i].At
		}
		byID[f.JobID] = i
	}
	all, err := driver.EncodeFinish(rows)
	if err != nil {
		return 0, nil, err
	}
	err = s.db.WithContext(ctx).Transaction(func(gtx *gorm.DB) error {
		_, gtx = runToEnd(ctx, gtx)
		var ids []int64 // of the jobs whose outcome was applied
		ids, queues, err = s.finish(gtx, driver.FinishParams{Outcomes: rows, JSON: all, At: batch[0].At, Node: s.statNode}, batch, byID)
		applied = len(ids)
		if err != nil || applied == len(batch) {
			return err
		}
		late, lateQueues, err := s.finishLate(gtx, unapplied(batch, ids))
		applied += late
		for _, q := range lateQueues {
			if !slices.Contains(queues, q) {
				queues = append(queues, q)
			}
		}
		return err
	})
	if err == nil {
		s.fanOuts.signal() // of fan-outs whose items, or release, it saw
	}
	return applied, queues, err
}

// finish applies the outcomes p with the driver's finish, which writes the events, and the
// counters and stats (itself, or through finishRecord), then starts or cancels continuations.
// The probe for those is a statement of its own: on PostgreSQL, the finish's snapshot predates
// a continuation committed while the finish waited for the lock its enqueue held on the parent.
// It returns the ids of the jobs it finished and the queues that got enqueued jobs.
func (s *conn) finish(tx *gorm.DB, p driver.FinishParams, batch []JobFinish, byID map[int64]int) (ids []int64, queues []string, err error) {
	counts := countDelta{}
	p.Record = func(tx *gorm.DB, applied []driver.Applied) error {
		return s.finishRecord(tx, applied, batch, byID, counts)
	}
	done, err := s.ops.Finish(tx, p)
	if err != nil {
		return nil, nil, fmt.Errorf("models: finish jobs: %w", err)
	}
	if len(done) == 0 {
		return nil, nil, nil
	}
	var released []string
	finished := map[JobState][]int64{}
	ids = make([]int64, len(done))
	for i, d := range done {
		ids[i] = d.ID
		switch state := batch[byID[d.ID]].State; {
		case state == JobEnqueued: // released at shutdown: others may run it now
			released = append(released, d.Queue)
		case state.Final():
			finished[state] = append(finished[state], d.ID)
		}
	}
	if err := s.notifyEnqueued(tx, released...); err != nil {
		return nil, nil, err
	}
	if queues, err = s.releaseContinuations(tx, finished, batch[0].At, counts); err != nil {
		return nil, nil, err
	}
	return ids, queues, s.writeCounts(tx, counts)
}

// finishRecord is the bookkeeping of the outcomes applied, for a driver whose finish does not
// write it itself (driver.FinishParams.Record): it adds their count changes to counts (written
// with the continuations') and writes the overview's and the kinds' stats.
func (s *conn) finishRecord(tx *gorm.DB, applied []driver.Applied, batch []JobFinish, byID map[int64]int, counts countDelta) error {
	kinds := kindStatDelta{}
	var delta statDelta
	for _, a := range applied {
		f := &batch[byID[a.ID]]
		counts.move(a.Queue, a.Kind, JobProcessing, f.State, 1)
		kinds.add(a.Kind, f.State, f.Duration)
		switch f.State {
		case JobSucceeded:
			delta.succeeded++
		case JobFailed:
			delta.failed++
		}
	}
	if err := s.addStats(tx, delta, batch[0].At); err != nil {
		return err
	}
	return s.addKindStats(tx, kinds, batch[0].At)
}

// unapplied returns the outcomes of batch whose job is not among ids.
func unapplied(batch []JobFinish, ids []int64) []JobFinish {
	done := make(map[int64]bool, len(ids))
	for _, id := range ids {
		done[id] = true
	}
	out := make([]JobFinish, 0, len(batch)-len(ids))
	for _, f := range batch {
		if !done[f.JobID] {
			out = append(out, f)
		}
	}
	return out
}

// lastRuns keeps one outcome per job, its latest run's (the last one given, for equal runs):
// a job's row can take only one, and the counts, stats and events follow the one it took. Two
// outcomes of one job meet in a batch when it was rescued and claimed again by the same server.
func lastRuns(batch []JobFinish) []JobFinish {
	at := make(map[int64]int, len(batch))
	dup := false
	for i, f := range batch {
		if j, ok := at[f.JobID]; ok {
			dup = true
			if batch[j].Run > f.Run {
				continue
			}
		}
		at[f.JobID] = i
	}
	if !dup {
		return batch
	}
	out := make([]JobFinish, 0, len(at))
	for i, f := range batch {
		if at[f.JobID] == i {
			out = append(out, f)
		}
	}
	return out
}

// releaseContinuations releases what waits for parents, jobs that just reached a final state:
// the steps of workflows that depend on them (releaseSteps), and their continuations
// (releaseChildren).
func (s *conn) releaseContinuations(tx *gorm.DB, parents map[JobState][]int64, now time.Time, counts countDelta) ([]string, error) {
	if len(parents) == 0 {
		return nil, nil
	}
	// Most batches finish jobs nobody waits for: one probe of two small indexes (a job
	// awaiting, a run going) spares the rest, in one round trip.
	var probe struct{ Awaiting, Running int64 }
	if err := tx.Raw(`SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM jobs WHERE state = ? LIMIT 1) AS a) AS awaiting,
	(SELECT COUNT(*) FROM (SELECT 1 FROM workflows WHERE state = ? LIMIT 1) AS w) AS running`, JobAwaiting, WorkflowRunning).
		Scan(&probe).Error; err != nil {
		return nil, fmt.Errorf("models: look for what waits: %w", err)
	}
	var queues []string
	if probe.Running > 0 {
		steps, err := s.releaseSteps(tx, parents, now, counts)
		if err != nil {
			return nil, err
		}
		queues = steps
	}
	if probe.Awaiting > 0 {
		children, err := s.releaseChildren(tx, parents, now, counts)
		if err != nil {
			return nil, err
		}
		queues = append(queues, children...)
	}
	return queues, nil
}

// releaseChildren moves the continuations waiting on parents that just reached a final
// state: to Enqueued when they may run, to Cancelled when they wanted a success that didn't
// come. It returns the queues that got enqueued jobs.
func (s *conn) releaseChildren(tx *gorm.DB, parents map[JobState][]int64, now time.Time, counts countDelta) ([]string, error) {
	if len(parents) == 0 {
		return nil, nil
	}
	now = now.UTC().Truncate(time.Microsecond)
	var queues []string
	for state, ids := range parents {
		if len(ids) == 0 {
			continue
		}
		type row struct {
			ID       int64
			ParentID int64
			Queue    string
			Kind     string
		}
		children, err := s.continuations(tx, ids)
		if err != nil {
			return nil, err
		}
		if len(children) == 0 {
			continue
		}
		var run, cancel []row
		runCond := "? AND state = ?"
		if state != JobSucceeded {
			runCond += " AND continue_on = '" + ContinueOnFinish + "'"
			if err := tx.Raw("UPDATE jobs SET state = ?, finished_at = ? WHERE ? AND state = ? AND continue_on = ? RETURNING id, parent_id, queue, kind",
				JobCancelled, now, s.drv.IDIn("id", children), JobAwaiting, ContinueOnSuccess).Scan(&cancel).Error; err != nil {
				return nil, fmt.Errorf("models: cancel continuations: %w", err)
			}
		}
		if err := tx.Raw("UPDATE jobs SET state = ?, run_at = ? WHERE "+runCond+" RETURNING id, parent_id, queue, kind",
			JobEnqueued, now, s.drv.IDIn("id", children), JobAwaiting).Scan(&run).Error; err != nil {
			return nil, fmt.Errorf("models: start continuations: %w", err)
		}
		for _, r := range run {
			counts.move(r.Queue, r.Kind, JobAwaiting, JobEnqueued, 1)
		}
		for _, r := range cancel {
			counts.move(r.Queue, r.Kind, JobAwaiting, JobCancelled, 1)
		}
		events := make([]JobEvent, 0, len(run)+len(cancel))
		for _, r := range run {
			events = append(events, JobEvent{JobID: r.ID, From: JobAwaiting, To: JobEnqueued, At: now, Reason: fmt.Sprintf("parent job %d %s", r.ParentID, state)})
			if !slices.Contains(queues, r.Queue) {
				queues = append(queues, r.Queue)
			}
		}
		for _, r := range cancel {
			events = append(events, JobEvent{JobID: r.ID, From: JobAwaiting, To: JobCancelled, At: now, Reason: fmt.Sprintf("parent job %d %s, not succeeded", r.ParentID, state)})
		}
		if len(events) > 0 {
			if err := insertRows(s, tx, events); err != nil {
				return nil, fmt.Errorf("models: continuation events: %w", err)
			}
		}
	}
	return queues, s.notifyEnqueued(tx, queues...)
}
