package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Every function here changes job states together with their JobEvent rows in one transaction,
// so a crash at any point leaves each job in a state it can recover from.

// ClaimParams says what a worker pool asks for.
type ClaimParams struct {
	Queue    string
	ServerID string
	Limit    int
	Lease    time.Duration
	Now      time.Time
}

// ClaimJobs atomically moves up to p.Limit enqueued jobs of p.Queue to Processing on
// p.ServerID, with a lease until Now+Lease, and returns them by priority, then RunAt, then ID.
// It claims nothing from a paused queue.
func (s *Store) ClaimJobs(ctx context.Context, p ClaimParams) ([]*Job, error) {
	if p.Limit <= 0 {
		return nil, nil
	}
	now := p.Now.UTC().Truncate(time.Microsecond)
	var jobs []*Job
	err := s.db.WithContext(ctx).Transaction(func(gtx *gorm.DB) error {
		jobs = jobs[:0]
		ctx, gtx := runToEnd(ctx, gtx)
		tx, err := sqlTx(gtx)
		if err != nil {
			return err
		}
		rows, err := tx.StmtContext(ctx, s.hot.claim).QueryContext(ctx, now, now.Add(p.Lease), p.ServerID, p.Queue, p.Limit)
		if err != nil {
			return fmt.Errorf("models: claim jobs: %w", err)
		}
		for rows.Next() {
			j, err := scanClaimed(rows, p, now)
			if err != nil {
				_ = rows.Close()
				return fmt.Errorf("models: claim jobs: %w", err)
			}
			jobs = append(jobs, j)
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("models: claim jobs: %w", err)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("models: claim jobs: %w", err)
		}
		if len(jobs) == 0 {
			return nil
		}
		if s.hot.claimEvents != nil {
			ids := make([]int64, len(jobs))
			for i, j := range jobs {
				ids[i] = j.ID
			}
			if _, err := tx.StmtContext(ctx, s.hot.claimEvents).ExecContext(ctx, now, idsJSON(ids)); err != nil {
				return fmt.Errorf("models: claim jobs: events: %w", err)
			}
		}
		counts := countDelta{}
		counts.move(p.Queue, JobEnqueued, JobProcessing, int64(len(jobs)))
		return s.writeCounts(gtx, counts)
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(jobs, func(a, b *Job) int {
		switch {
		case a.Priority != b.Priority:
			return b.Priority - a.Priority
		case !a.RunAt.Equal(b.RunAt):
			return a.RunAt.Compare(b.RunAt)
		}
		return int(a.ID - b.ID)
	})
	return jobs, nil
}

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
}

// FinishJobs applies a batch of attempt outcomes in one transaction, with their events, and
// starts or cancels the continuations of jobs that reached a final state. An outcome for a job
// that is no longer Processing in that attempt on that server (cancelled, deleted, or rescued
// after its lease ran out) is skipped. It returns how many were applied and the queues that
// got newly enqueued jobs.
func (s *Store) FinishJobs(ctx context.Context, batch []JobFinish) (applied int, queues []string, err error) {
	if len(batch) == 0 {
		return 0, nil, nil
	}
	// Everything that needs no database is done before the transaction holds the writer.
	rows := make([]finishRow, len(batch))
	byID := make(map[int64]int, len(batch))
	for i, f := range batch {
		refund := 0
		if f.RefundAttempt {
			refund = 1
		}
		errText := jsonText(truncate(f.Error, JobErrorMax))
		rows[i] = finishRow{
			ID: f.JobID, State: string(f.State), Error: errText, Result: jsonText(truncate(f.Result, JobResultMax)),
			RunAt: s.jsonTime(f.RunAt), Refund: refund, Server: f.ServerID, Attempt: f.Attempt, Run: f.Run,
			At: s.jsonTime(f.At), Reason: jsonText(f.Reason), Duration: int64(f.Duration),
		}
		if f.State.Final() {
			rows[i].FinishedAt = rows[i].At
		}
		byID[f.JobID] = i
	}
	all, err := marshalRows(rows)
	if err != nil {
		return 0, nil, err
	}
	err = s.db.WithContext(ctx).Transaction(func(gtx *gorm.DB) error {
		applied, queues = 0, nil
		ctx, gtx := runToEnd(ctx, gtx)
		tx, err := sqlTx(gtx)
		if err != nil {
			return err
		}
		res, err := tx.StmtContext(ctx, s.hot.finish).QueryContext(ctx, all)
		if err != nil {
			return fmt.Errorf("models: finish jobs: %w", err)
		}
		var (
			ids      []int64
			released []string
		)
		counts := countDelta{}
		for res.Next() {
			var (
				id    int64
				queue string
			)
			if err := res.Scan(&id, &queue); err != nil {
				_ = res.Close()
				return fmt.Errorf("models: finish jobs: %w", err)
			}
			ids = append(ids, id)
			to := batch[byID[id]].State
			counts.move(queue, JobProcessing, to, 1)
			if to == JobEnqueued { // released at shutdown: others may run it now
				released = append(released, queue)
			}
		}
		if err := res.Close(); err != nil {
			return fmt.Errorf("models: finish jobs: %w", err)
		}
		if err := res.Err(); err != nil {
			return fmt.Errorf("models: finish jobs: %w", err)
		}
		applied = len(ids)
		if applied == 0 {
			return nil
		}
		if err := s.notifyEnqueued(gtx, released...); err != nil {
			return err
		}
		finished := map[JobState][]int64{}
		done := rows
		if applied < len(rows) {
			done = make([]finishRow, 0, applied)
		}
		for _, id := range ids {
			f := batch[byID[id]]
			if f.State.Final() {
				finished[f.State] = append(finished[f.State], f.JobID)
			}
			if applied < len(rows) {
				done = append(done, rows[byID[id]])
			}
		}
		if s.hot.finishEvents != nil {
			events := all
			if applied < len(rows) {
				if events, err = marshalRows(done); err != nil {
					return err
				}
			}
			if _, err := tx.StmtContext(ctx, s.hot.finishEvents).ExecContext(ctx, events); err != nil {
				return fmt.Errorf("models: finish jobs: events: %w", err)
			}
		}
		delta := statDelta{succeeded: int64(len(finished[JobSucceeded])), failed: int64(len(finished[JobFailed]))}
		if err := addStats(gtx, delta, batch[0].At); err != nil {
			return err
		}
		if queues, err = s.releaseContinuations(gtx, finished, batch[0].At, counts); err != nil {
			return err
		}
		return s.writeCounts(gtx, counts)
	})
	return applied, queues, err
}

// releaseContinuations moves the continuations waiting on parents that just reached a final
// state: to Enqueued when they may run, to Cancelled when they wanted a success that didn't
// come. It returns the queues that got enqueued jobs.
func (s *Store) releaseContinuations(tx *gorm.DB, parents map[JobState][]int64, now time.Time, counts countDelta) ([]string, error) {
	if len(parents) == 0 {
		return nil, nil
	}
	// Most batches finish jobs nobody waits for: one probe of the state index spares the two
	// UPDATEs over the batch's ids.
	var waiting int64
	if err := tx.Raw("SELECT COUNT(*) FROM (SELECT 1 FROM jobs WHERE state = 'awaiting' LIMIT 1) AS w").Scan(&waiting).Error; err != nil {
		return nil, fmt.Errorf("models: look for continuations: %w", err)
	}
	if waiting == 0 {
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
		}
		var run, cancel []row
		runCond := "parent_id IN ? AND state = ?"
		if state != JobSucceeded {
			runCond += " AND continue_on = '" + ContinueOnFinish + "'"
			if err := tx.Raw("UPDATE jobs SET state = ?, finished_at = ? WHERE parent_id IN ? AND state = ? AND continue_on = ? RETURNING id, parent_id, queue",
				JobCancelled, now, ids, JobAwaiting, ContinueOnSuccess).Scan(&cancel).Error; err != nil {
				return nil, fmt.Errorf("models: cancel continuations: %w", err)
			}
		}
		if err := tx.Raw("UPDATE jobs SET state = ?, run_at = ? WHERE "+runCond+" RETURNING id, parent_id, queue",
			append([]any{JobEnqueued, now}, ids, JobAwaiting)...).Scan(&run).Error; err != nil {
			return nil, fmt.Errorf("models: start continuations: %w", err)
		}
		for _, r := range run {
			counts.move(r.Queue, JobAwaiting, JobEnqueued, 1)
		}
		for _, r := range cancel {
			counts.move(r.Queue, JobAwaiting, JobCancelled, 1)
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
			if err := tx.Create(&events).Error; err != nil {
				return nil, fmt.Errorf("models: continuation events: %w", err)
			}
		}
	}
	return queues, s.notifyEnqueued(tx, queues...)
}

// ExtendLeases extends the lease of every job the server is running, in one statement. On
// PostgreSQL it skips rows another transaction holds (a finish, a cancel or a rescue of that
// job is under way, so its lease no longer matters): waiting for them, in whatever order the
// rows came, deadlocked with this server's own finishing batches.
func (s *Store) ExtendLeases(ctx context.Context, serverID string, until time.Time) (int64, error) {
	query := s.dialectSQL(sqliteExtendLeasesSQL, postgresExtendLeasesSQL)
	res := s.db.WithContext(ctx).Exec(query, until.UTC().Truncate(time.Microsecond), serverID)
	if res.Error != nil {
		return 0, fmt.Errorf("models: extend leases: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// NotRunningHere returns those of ids that are no longer Processing on serverID: cancelled,
// deleted, or rescued by another server. Their workers should stop.
func (s *Store) NotRunningHere(ctx context.Context, serverID string, ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var out []int64
	err := s.rdb.WithContext(ctx).Model(&Job{}).Where("id IN ? AND NOT (state = ? AND server_id = ?)", ids, JobProcessing, serverID).
		Pluck("id", &out).Error
	if err != nil {
		return nil, fmt.Errorf("models: check running jobs: %w", err)
	}
	return out, nil
}

// rescueReason begins the reason of every rescue's event, which is how the history tells a
// rescue from a release at shutdown (both go from Processing to Enqueued).
const rescueReason = "rescued"

// IsRescue reports the event of a rescue: the job went back to its queue because its server
// died while running it.
func (e JobEvent) IsRescue() bool {
	return e.From == JobProcessing && e.To == JobEnqueued && strings.HasPrefix(e.Reason, rescueReason)
}

// DefaultMaxRescues is how many times a job whose server died while running it goes back to its
// queue before it is taken for a poison pill and failed: the figure Sidekiq Pro's super_fetch
// uses.
const DefaultMaxRescues = 3

// RescueParams says which running jobs to rescue, and how.
type RescueParams struct {
	// Now is the time; jobs whose lease ended before it are rescued.
	Now time.Time
	// Limit bounds the jobs rescued in one call.
	Limit int
	// MaxRescues is how many times a job is put back; the rescue after that fails it.
	MaxRescues int
	// SilentFor, when set, also rescues the jobs of servers other than Except whose last
	// heartbeat is older than that (by the database's clock on PostgreSQL), or that left the
	// registry, whatever their leases say: a node starting up takes back at once what a crashed
	// node held.
	SilentFor time.Duration
	Except    string
}

// Rescue is what RescueJobs did.
type Rescue struct {
	// Requeued jobs went back to their queue, Failed ones had crashed their servers too often.
	Requeued, Failed int
	// Queues got jobs.
	Queues []string
}

// RescueJobs takes back Processing jobs whose server is presumed dead (see RescueParams). A
// crash is not the job's fault: each goes back to Enqueued without using an attempt, and its
// rescue count grows; a job already rescued MaxRescues times fails instead ("crashed its server
// N times"), so a job that kills its process can't take every node down in turn. Everything is
// one transaction, with the events, counters, chart statistics and continuations.
func (s *Store) RescueJobs(ctx context.Context, p RescueParams) (Rescue, error) {
	now := p.Now.UTC().Truncate(time.Microsecond)
	query := s.dialectSQL(sqliteRescueSQL, postgresRescueSQL)
	dead := p.SilentFor > 0
	deadBefore := s.silentSince(max(p.SilentFor, 0))
	var out Rescue
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		out = Rescue{}
		var rows []struct {
			ID       int64
			ServerID string
			Attempt  int
			Queue    string
			Rescues  int
			Runs     int
			Expired  bool
		}
		if err := tx.Raw(query, now, now, dead, p.Except, deadBefore, p.Limit).Scan(&rows).Error; err != nil {
			return fmt.Errorf("models: find jobs to rescue: %w", err)
		}
		var events []JobEvent
		failed := map[JobState][]int64{}
		counts := countDelta{}
		for _, r := range rows {
			cause := fmt.Sprintf("server %s stopped sending heartbeats: presumed dead", r.ServerID)
			if r.Expired {
				cause = fmt.Sprintf("lease expired: server %s presumed dead", r.ServerID)
			}
			to := JobEnqueued
			reason := fmt.Sprintf("%s (%d of %d): %s; this attempt is not counted", rescueReason, r.Rescues+1, p.MaxRescues, cause)
			set := map[string]any{"state": JobEnqueued, "lease_until": nil, "run_at": now, "last_error": cause,
				"attempt": r.Attempt - 1, "rescues": r.Rescues + 1}
			if r.Rescues >= p.MaxRescues {
				to = JobFailed
				reason = fmt.Sprintf("crashed its server %s (%s); not put back after %s", times(r.Rescues+1), cause, plural(p.MaxRescues, "rescue"))
				set = map[string]any{"state": JobFailed, "lease_until": nil, "finished_at": now, "last_error": reason}
			}
			res := tx.Model(&Job{}).Where("id = ? AND state = ? AND server_id = ? AND runs = ?",
				r.ID, JobProcessing, r.ServerID, r.Runs).Updates(set)
			if res.Error != nil {
				return fmt.Errorf("models: rescue job %d: %w", r.ID, res.Error)
			}
			if res.RowsAffected == 0 {
				continue
			}
			counts.move(r.Queue, JobProcessing, to, 1)
			events = append(events, JobEvent{JobID: r.ID, From: JobProcessing, To: to, At: now, Attempt: r.Attempt, Reason: reason, Error: cause, ServerID: r.ServerID})
			if to == JobFailed {
				out.Failed++
				failed[JobFailed] = append(failed[JobFailed], r.ID)
			} else {
				out.Requeued++
				if !slices.Contains(out.Queues, r.Queue) {
					out.Queues = append(out.Queues, r.Queue)
				}
			}
		}
		if len(events) == 0 {
			return nil
		}
		if err := tx.Create(&events).Error; err != nil {
			return fmt.Errorf("models: rescue events: %w", err)
		}
		if err := addStats(tx, statDelta{failed: int64(out.Failed), rescued: int64(out.Requeued)}, now); err != nil {
			return err
		}
		if err := s.notifyEnqueued(tx, out.Queues...); err != nil {
			return err
		}
		more, err := s.releaseContinuations(tx, failed, now, counts)
		if err != nil {
			return err
		}
		for _, q := range more {
			if !slices.Contains(out.Queues, q) {
				out.Queues = append(out.Queues, q)
			}
		}
		return s.writeCounts(tx, counts)
	})
	if err != nil {
		return Rescue{}, err
	}
	return out, nil
}

// PromoteScheduled moves Scheduled jobs whose RunAt has come to Enqueued, at most limit of them,
// and returns the queues that got jobs.
func (s *Store) PromoteScheduled(ctx context.Context, now time.Time, limit int) (int, []string, error) {
	now = now.UTC().Truncate(time.Microsecond)
	query := s.dialectSQL(sqlitePromoteSQL, postgresPromoteSQL)
	var (
		n      int
		queues []string
	)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []struct {
			ID      int64
			Queue   string
			Attempt int
		}
		if err := tx.Raw(query, now, limit).Scan(&rows).Error; err != nil {
			return fmt.Errorf("models: promote scheduled jobs: %w", err)
		}
		n, queues = len(rows), nil
		if n == 0 {
			return nil
		}
		events := make([]JobEvent, len(rows))
		for i, r := range rows {
			events[i] = JobEvent{JobID: r.ID, From: JobScheduled, To: JobEnqueued, At: now, Attempt: r.Attempt, Reason: "due"}
			if !slices.Contains(queues, r.Queue) {
				queues = append(queues, r.Queue)
			}
		}
		if err := tx.Create(&events).Error; err != nil {
			return fmt.Errorf("models: promote events: %w", err)
		}
		counts := countDelta{}
		for _, r := range rows {
			counts.move(r.Queue, JobScheduled, JobEnqueued, 1)
		}
		if err := s.notifyEnqueued(tx, queues...); err != nil {
			return err
		}
		return s.writeCounts(tx, counts)
	})
	return n, queues, err
}

// transition changes one job's state under a lock, with its event, when allowed says it may.
func (s *Store) transition(ctx context.Context, id int64, allowed func(*Job) error, change func(*Job, time.Time) (map[string]any, JobEvent)) (*Job, []string, error) {
	var (
		before *Job
		queues []string
	)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx
		if s.dialect == DialectPostgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var j Job
		if err := q.Take(&j, id).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return Errorf(ENOTFOUND, "Job %d does not exist (it may have been cleaned up).", id)
		} else if err != nil {
			return fmt.Errorf("models: load job %d: %w", id, err)
		}
		if err := allowed(&j); err != nil {
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
		counts.move(j.Queue, j.State, to, 1)
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
	})
	return before, queues, err
}

// CancelJob cancels a job that has not finished: a waiting job never runs, and a running job's
// worker sees its job is no longer Processing and cancels its context. It returns the job as it
// was before, and the queues that got continuations.
func (s *Store) CancelJob(ctx context.Context, id int64, reason string) (*Job, []string, error) {
	return s.transition(ctx, id, func(j *Job) error {
		if j.State.Final() {
			return Errorf(ECONFLICT, "Job %d is already %s.", id, j.State)
		}
		return nil
	}, func(j *Job, now time.Time) (map[string]any, JobEvent) {
		return map[string]any{"state": JobCancelled, "finished_at": now, "lease_until": nil}, JobEvent{Reason: reason, ServerID: j.ServerID}
	})
}

// DeleteJob marks a job Deleted (retention removes it later); a running job is stopped as by
// CancelJob.
func (s *Store) DeleteJob(ctx context.Context, id int64, reason string) (*Job, []string, error) {
	return s.transition(ctx, id, func(j *Job) error {
		if j.State == JobDeleted {
			return Errorf(ECONFLICT, "Job %d is already deleted.", id)
		}
		return nil
	}, func(j *Job, now time.Time) (map[string]any, JobEvent) {
		return map[string]any{"state": JobDeleted, "finished_at": now, "lease_until": nil}, JobEvent{Reason: reason, ServerID: j.ServerID}
	})
}

// RequeueJob starts a job in a final state again, with its attempts reset.
func (s *Store) RequeueJob(ctx context.Context, id int64, reason string) (*Job, []string, error) {
	before, _, err := s.transition(ctx, id, func(j *Job) error {
		if !j.State.Final() {
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
func (s *Store) TriggerJob(ctx context.Context, id int64, reason string) (*Job, []string, error) {
	before, _, err := s.transition(ctx, id, func(j *Job) error {
		if j.State != JobScheduled && j.State != JobAwaiting {
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

// CleanupJobs deletes Succeeded, Cancelled and Deleted jobs that finished before `before`,
// with their events and logs, batch jobs per transaction so the writer is never held for long.
// It returns how many jobs it deleted.
func (s *Store) CleanupJobs(ctx context.Context, before time.Time, batch int) (int64, error) {
	var total int64
	for {
		var ids []int64
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := tx.Model(&Job{}).Where("state IN ? AND finished_at < ?", []JobState{JobSucceeded, JobCancelled, JobDeleted}, before.UTC()).
				Order("id").Limit(batch).Pluck("id", &ids).Error; err != nil {
				return err
			}
			if len(ids) == 0 {
				return nil
			}
			gone, err := countByQueueState(tx.Where("id IN ?", ids))
			if err != nil {
				return err
			}
			counts := countDelta{}
			for k, n := range gone {
				counts.move(k.Queue, k.State, "", n)
			}
			if err := s.writeCounts(tx, counts); err != nil {
				return err
			}
			for _, m := range []any{&JobEvent{}, &JobLog{}} {
				if err := tx.Where("job_id IN ?", ids).Delete(m).Error; err != nil {
					return err
				}
			}
			return tx.Where("id IN ?", ids).Delete(&Job{}).Error
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
