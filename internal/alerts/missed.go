package alerts

import (
	"fmt"
	"strings"
	"time"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// maxMissedCounted bounds the occurrences an alert counts as missed.
const maxMissedCounted = 1000

// missed evaluates a dead-man's switch on recurring entries, from the schedule Kiln has: the
// occurrence due next after the entry's last success (or after the rule, or the entry, was
// made) must succeed within Grace of when it was due. It holds whatever kept it from doing
// so: paused, no node up, skipped for overlap, waiting, running or failed; it clears when a
// job made for that occurrence or a later one succeeds.
func (ev *evaluation) missed() error {
	r := ev.rule
	entries, err := ev.tx.RecurringEntries(r.Target)
	if err != nil {
		return err
	}
	if len(entries) > MaxSubjectsPerRule {
		entries = entries[:MaxSubjectsPerRule]
	}
	open, err := ev.tx.OpenAlerts(r.ID)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for i := range entries {
		rj := &entries[i]
		seen[rj.Name] = true
		if err := ev.missedEntry(rj, open[rj.Name]); err != nil {
			return fmt.Errorf("recurring job %q: %w", rj.Name, err)
		}
	}
	for name, a := range open {
		if seen[name] || len(entries) == MaxSubjectsPerRule {
			continue
		}
		err := ev.resolve(a, words{title: fmt.Sprintf("%s: resolved", describe(r.Scope, name)),
			summary: fmt.Sprintf("Recurring job %s no longer exists.", name)})
		if err != nil {
			return err
		}
	}
	return ev.tx.SetCheckedUntil(r.ID, ev.now)
}

func (ev *evaluation) missedEntry(rj *models.RecurringJob, a *models.Alert) error {
	r := ev.rule
	sched, err := jobs.ParseSchedule(rj.Spec, rj.TimeZone)
	if err != nil {
		return nil // an entry whose schedule no longer parses never fires; its own page says why
	}
	last, err := ev.tx.LastSuccess(rj.ID, ev.now)
	if err != nil {
		return err
	}
	base := watchedSince(r, rj, last)
	due := sched.Next(base)
	if ev.now.Before(due.Add(r.Grace)) {
		if a == nil {
			return ev.missedBetween(rj, sched)
		}
		return ev.resolve(a, words{title: fmt.Sprintf("%s: resolved", describe(r.Scope, rj.Name)),
			summary: fmt.Sprintf("Recurring job %s succeeded again; its next run is due %s.", rj.Name, due.UTC().Format(time.RFC3339))})
	}
	count := int64(len(sched.Occurrences(base, ev.now.Add(-r.Grace), maxMissedCounted)))
	runs, err := ev.tx.RecurringJobsSince(rj.ID, due, MaxJobsInMessage)
	if err != nil {
		return err
	}
	w := words{
		title:   fmt.Sprintf("%s: the run due %s did not succeed within %s", describe(r.Scope, rj.Name), due.UTC().Format(time.RFC3339), r.Grace),
		summary: fmt.Sprintf("%s. %s missed since the last success.", why(rj, due, r.Grace, runs), plural(count, "occurrence", "occurrences")),
	}
	if a == nil {
		_, err := ev.open(rj.Name, count, runs, w)
		return err
	}
	a.Count = count
	for _, j := range runs {
		a.Note(j.ID, MaxJobsInMessage)
	}
	return ev.repeat(a, w)
}

// watchedSince is the time the occurrence the switch waits for follows: the rule's making, the
// entry's, or the made time of the entry's last success (lastSuccess, nil for none), the latest.
func watchedSince(r *models.AlertRule, rj *models.RecurringJob, lastSuccess *time.Time) time.Time {
	base := r.CreatedAt
	if rj.CreatedAt.After(base) {
		base = rj.CreatedAt
	}
	if lastSuccess != nil && lastSuccess.After(base) {
		base = *lastSuccess
	}
	return base
}

// missedBetween fires and resolves at once the switch of an entry that was down at some moment
// since the rule last looked (CheckedUntil) and is up again: an occurrence went by its grace
// period before a job succeeded for it. That is a switch down while no node evaluated the
// rules (every node stopped, then one started and caught up), or between two evaluations.
func (ev *evaluation) missedBetween(rj *models.RecurringJob, sched *jobs.Schedule) error {
	r := ev.rule
	after := r.CheckedUntil
	if after.IsZero() {
		after = r.CreatedAt
	}
	lastBefore, successes, err := ev.tx.SuccessesBetween(rj.ID, after, ev.now, maxMissedCounted)
	if err != nil {
		return err
	}
	base := watchedSince(r, rj, lastBefore)
	for _, s := range successes {
		due := sched.Next(base)
		if s.FinishedAt != nil && due.Add(r.Grace).Before(*s.FinishedAt) {
			return ev.missedThenSucceeded(rj, sched, base, due, s)
		}
		if s.CreatedAt.After(base) {
			base = s.CreatedAt
		}
	}
	return nil
}

// missedThenSucceeded opens the alert of the occurrence due at due, which succeeded only with
// job s, and resolves it.
func (ev *evaluation) missedThenSucceeded(rj *models.RecurringJob, sched *jobs.Schedule, base, due time.Time, s models.Job) error {
	r := ev.rule
	count := int64(len(sched.Occurrences(base, s.FinishedAt.Add(-r.Grace), maxMissedCounted)))
	runs, err := ev.tx.RecurringJobsSince(rj.ID, due, MaxJobsInMessage)
	if err != nil {
		return err
	}
	reason := fmt.Sprintf("Its job %d succeeded only at %s", s.ID, s.FinishedAt.UTC().Format(time.RFC3339))
	if late := enqueuedLate(due, r.Grace, runs); late != "" {
		reason = fmt.Sprintf("%s; its job %d succeeded at %s", late, s.ID, s.FinishedAt.UTC().Format(time.RFC3339))
	}
	a, err := ev.open(rj.Name, count, runs, words{
		title:   fmt.Sprintf("%s: the run due %s did not succeed within %s", describe(r.Scope, rj.Name), due.UTC().Format(time.RFC3339), r.Grace),
		summary: fmt.Sprintf("%s. %s missed before that success.", reason, plural(count, "occurrence", "occurrences")),
	})
	if err != nil {
		return err
	}
	return ev.resolve(a, words{title: fmt.Sprintf("%s: resolved", describe(r.Scope, rj.Name)),
		summary: fmt.Sprintf("Recurring job %s succeeded again at %s, %s after the run was due.", rj.Name,
			s.FinishedAt.UTC().Format(time.RFC3339), s.FinishedAt.Sub(due).Round(time.Second))})
}

// why says what kept the occurrence due at due from succeeding within grace, from the entry
// and the jobs it made since.
func why(rj *models.RecurringJob, due time.Time, grace time.Duration, runs []models.Job) string {
	if len(runs) == 0 {
		switch {
		case rj.Paused:
			return "It is paused, so nothing was enqueued"
		case rj.LastSkippedAt != nil && !rj.LastSkippedAt.Before(due):
			return "It was skipped: the run before had not finished (overlap: skip)"
		default:
			return "Nothing was enqueued for it: no Kiln node was running it"
		}
	}
	j := runs[len(runs)-1]
	var now string
	switch j.State {
	case models.JobEnqueued, models.JobScheduled, models.JobAwaiting:
		now = fmt.Sprintf("Its job %d is still waiting to run", j.ID)
	case models.JobProcessing:
		now = fmt.Sprintf("Its job %d is still running", j.ID)
	case models.JobFailed:
		now = fmt.Sprintf("Its job %d failed: %s", j.ID, firstLine(j.LastError))
	default:
		now = fmt.Sprintf("Its job %d ended %s", j.ID, j.State)
	}
	if late := enqueuedLate(due, grace, runs); late != "" {
		return late + "; " + strings.ToLower(now[:1]) + now[1:]
	}
	return now
}

// enqueuedLate says that nothing was enqueued for the occurrence until after its grace period,
// if so: no node ran the schedule (or the entry was paused) until then.
func enqueuedLate(due time.Time, grace time.Duration, runs []models.Job) string {
	if len(runs) == 0 || !runs[0].CreatedAt.After(due.Add(grace)) {
		return ""
	}
	return fmt.Sprintf("Nothing was enqueued for it until %s: no Kiln node was running it, or it was paused",
		runs[0].CreatedAt.UTC().Format(time.RFC3339))
}
