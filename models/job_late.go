package models

import (
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// lateReason begins the reason of the event that applies a late outcome: see finishLate.
const lateReason = "outcome arrived late"

// IsLateOutcome reports the event of an outcome applied after its run had been rescued: the
// run ended as the event says, and took Duration.
func (e JobEvent) IsLateOutcome() bool { return strings.HasPrefix(e.Reason, lateReason) }

// finishLate deals with the outcomes FinishJobs found no running job for, in its transaction
// tx. Most are of runs cancelled or deleted meanwhile, and change nothing. But a server cut off
// from the database past its lease has its jobs rescued while they run, or after they ended;
// once it reaches the database again, their outcomes arrive late:
//   - when the job still waits in its queue from that rescue (not claimed since) and the run
//     ended for good (succeeded or failed), the outcome is applied: the run did end, and
//     running the job again would run a one-attempt job twice. The event says so, with how
//     long the run really took.
//   - otherwise (the job was claimed again, or failed for crashing its servers; or the run
//     asked for a retry, which the rescue's requeue already gives), the outcome goes to the
//     job's log, so that its history still says what the run did.
func (s *conn) finishLate(tx *gorm.DB, batch []JobFinish) (applied int, queues []string, err error) {
	byID := make(map[int64]JobFinish, len(batch))
	ids := make([]int64, 0, len(batch))
	for _, f := range batch {
		byID[f.JobID] = f
		ids = append(ids, f.JobID)
	}
	if len(ids) == 0 {
		return 0, nil, nil
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	var rows []Job
	// Only rescued jobs: the others' outcomes were skipped for a cancel or a delete.
	q := s.drv.LockRows(tx.Select("id", "state", "server_id", "runs", "rescues", "queue", "kind", "last_error").Where("id IN ? AND rescues > 0", ids).Order("id"), "UPDATE")
	if err := q.Find(&rows).Error; err != nil {
		return 0, nil, fmt.Errorf("models: late outcomes: %w", err)
	}
	var (
		events []JobEvent
		logs   []JobLog
	)
	finished := map[JobState][]int64{}
	counts, kinds, delta := countDelta{}, kindStatDelta{}, statDelta{}
	for _, j := range rows {
		f := byID[j.ID]
		ended := fmt.Sprintf("run %d on server %s %s after %s, at %s", f.Run, f.ServerID, outcomeWord(f),
			f.Duration.Round(time.Millisecond), f.At.UTC().Format(time.RFC3339Nano))
		waitingFromRescue := j.State == JobEnqueued && j.ServerID == f.ServerID && j.Runs == f.Run
		failedByRescue := j.State == JobFailed && j.ServerID == f.ServerID && j.Runs == f.Run && strings.HasPrefix(j.LastError, crashedReason)
		switch {
		case waitingFromRescue && f.State.Final():
			set := map[string]any{"state": f.State, "attempt": f.Attempt, "rescues": j.Rescues - 1,
				"finished_at": f.At.UTC().Truncate(time.Microsecond), "last_error": jsonText(truncate(f.Error, JobErrorMax)), "lease_until": nil}
			if f.State == JobSucceeded {
				set["result"], set["progress"] = jsonText(truncate(f.Result, JobResultMax)), 100
			}
			res := tx.Model(&Job{}).Where("id = ? AND state = ? AND server_id = ? AND runs = ?", j.ID, JobEnqueued, f.ServerID, f.Run).Updates(set)
			if res.Error != nil {
				return 0, nil, fmt.Errorf("models: late outcome of job %d: %w", j.ID, res.Error)
			}
			if res.RowsAffected == 0 {
				continue
			}
			events = append(events, JobEvent{JobID: j.ID, From: JobEnqueued, To: f.State, At: now, Attempt: f.Attempt, ServerID: f.ServerID,
				Error: f.Error, Duration: f.Duration,
				Reason: fmt.Sprintf("%s: %s; it reached the database only after the job was rescued, so the job is not run again", lateReason, ended)})
			counts.move(j.Queue, j.Kind, JobEnqueued, f.State, 1)
			kinds.add(j.Kind, f.State, f.Duration)
			finished[f.State] = append(finished[f.State], j.ID)
			if f.State == JobSucceeded {
				delta.succeeded++
			} else if f.State == JobFailed {
				delta.failed++
			}
			applied++
		case waitingFromRescue || failedByRescue || j.Runs > f.Run:
			msg := fmt.Sprintf("%s: %s; it reached the database only after the job was rescued, and was not applied", lateReason, ended)
			if f.Error != "" {
				msg += ": " + FirstLine(f.Error)
			}
			logs = append(logs, JobLog{JobID: j.ID, Attempt: f.Attempt, At: now, Message: msg})
		}
	}
	if len(logs) > 0 {
		if err := tx.Create(&logs).Error; err != nil {
			return 0, nil, fmt.Errorf("models: late outcomes: log: %w", err)
		}
	}
	if len(events) == 0 {
		return 0, nil, nil
	}
	if err := tx.Create(&events).Error; err != nil {
		return 0, nil, fmt.Errorf("models: late outcomes: events: %w", err)
	}
	// kind_stats before job_stats, as every writer of both (see RescueJobs).
	if err := s.addKindStats(tx, kinds, now); err != nil {
		return 0, nil, err
	}
	if err := s.addStats(tx, delta, now); err != nil {
		return 0, nil, err
	}
	if queues, err = s.releaseContinuations(tx, finished, now, counts); err != nil {
		return 0, nil, err
	}
	return applied, queues, s.writeCounts(tx, counts)
}

// outcomeWord says how a run ended, for a late outcome's record.
func outcomeWord(f JobFinish) string {
	switch {
	case f.State == JobScheduled && f.RefundAttempt:
		return "snoozed"
	case f.State == JobScheduled:
		return "failed (to be retried)"
	case f.State == JobEnqueued:
		return "was released"
	}
	return string(f.State)
}
