package models

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// A job's history is its stored events plus the ones its row implies. The happy path of a run
// is not stored: a plain enqueue (the row's created_at, and its note), a claim (the row's started_at, server
// and attempt, or the start of the run an ending event measured) and a success (finished_at).
// Every other change is stored as it happens: schedules, retries, errors, rescues, snoozes,
// releases, manual actions, continuations. That halves the rows a job writes on the way
// through, and loses nothing: a run's claim can always be told from the row or from the event
// that ended it, and before an action rewrites the row's run (a requeue), the events it implies
// are stored (materializeHistory).

// A workflow step that waits for other steps is not stored with an event either: it was created
// awaiting them, as its first stored event (its release, skip or cancel) or its row says, and
// its step and run show on its page (a 10,000-step fan-out stored 10,000 rows fewer, 10% of the
// time kiln bench --workflow took). A continuation's first event is stored: "awaiting job N".

// Reasons of the events a job's row implies, the same words the engine stores.
const (
	reasonEnqueued  = "enqueued"
	reasonSucceeded = "succeeded"
	reasonAwaiting  = "awaiting the steps it depends on"
)

// History returns the job's events, oldest first: stored holds the events stored for j, in
// the order they were stored, and the result adds the ones j's row implies.
func History(j *Job, stored []JobEvent) []JobEvent {
	merged, tail := history(j, stored)
	return append(merged, tail...)
}

// history returns the stored events with the claims they imply put before the events that
// ended those runs (merged), and the events only the row can tell: the current run's claim and
// its success (tail).
func history(j *Job, stored []JobEvent) (merged, tail []JobEvent) {
	merged = make([]JobEvent, 0, len(stored)+3)
	switch {
	case len(stored) == 0 && j.State == JobAwaiting, len(stored) > 0 && stored[0].From == JobAwaiting:
		// A step that waits for others stores no event: it was created awaiting them.
		merged = append(merged, JobEvent{JobID: j.ID, To: JobAwaiting, At: j.CreatedAt, Reason: reasonAwaiting})
	case len(stored) == 0 || stored[0].From != "":
		// A plain enqueue stores no event: the job was created enqueued, by whom its note says.
		reason := reasonEnqueued
		if j.Note != "" {
			reason = j.Note
		}
		merged = append(merged, JobEvent{JobID: j.ID, To: JobEnqueued, At: j.CreatedAt, Reason: reason})
	}
	open, runs := false, 0
	for _, e := range stored {
		if e.From == JobProcessing && !open {
			// A run ended by a stored event began Duration before it.
			merged = append(merged, JobEvent{JobID: j.ID, From: JobEnqueued, To: JobProcessing,
				At: e.At.Add(-e.Duration), Attempt: e.Attempt, ServerID: e.ServerID})
			runs++
		}
		merged = append(merged, e)
		switch {
		case e.To == JobProcessing:
			open = true
			runs++
		case e.From == JobProcessing:
			open = false
		}
	}
	if !open && j.Runs > runs && j.StartedAt != nil {
		// The row's run has no stored event: it is running, or it succeeded.
		tail = append(tail, JobEvent{JobID: j.ID, From: JobEnqueued, To: JobProcessing, At: *j.StartedAt,
			Attempt: j.Attempt, ServerID: j.ServerID})
		open = true
	}
	if open && j.State == JobSucceeded && j.FinishedAt != nil {
		var d time.Duration
		if j.StartedAt != nil {
			d = j.FinishedAt.Sub(*j.StartedAt)
		}
		tail = append(tail, JobEvent{JobID: j.ID, From: JobProcessing, To: JobSucceeded, At: *j.FinishedAt,
			Attempt: j.Attempt, ServerID: j.ServerID, Reason: reasonSucceeded, Duration: d})
	}
	return merged, tail
}

// materializeHistory stores the events only j's row tells (its current run's claim and
// success), before an action changes the row, so the history stays whole. tx holds j's lock.
func (s *conn) materializeHistory(tx *gorm.DB, j *Job) error {
	if j.Runs == 0 {
		return nil
	}
	var stored []JobEvent
	if err := tx.Where("job_id = ?", j.ID).Order("id").Find(&stored).Error; err != nil {
		return fmt.Errorf("models: job %d events: %w", j.ID, err)
	}
	_, tail := history(j, stored)
	if len(tail) == 0 {
		return nil
	}
	if err := tx.Create(&tail).Error; err != nil {
		return fmt.Errorf("models: job %d events: %w", j.ID, err)
	}
	return nil
}
