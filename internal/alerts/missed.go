package alerts

import (
	"fmt"
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
	return nil
}

func (ev *evaluation) missedEntry(rj *models.RecurringJob, a *models.Alert) error {
	r := ev.rule
	sched, err := jobs.ParseSchedule(rj.Spec, rj.TimeZone)
	if err != nil {
		return nil // an entry whose schedule no longer parses never fires; its own page says why
	}
	base := r.CreatedAt
	if rj.CreatedAt.After(base) {
		base = rj.CreatedAt
	}
	last, err := ev.tx.LastSuccess(rj.ID)
	if err != nil {
		return err
	}
	if last != nil && last.After(base) {
		base = *last
	}
	due := sched.Next(base)
	if ev.now.Before(due.Add(r.Grace)) {
		if a == nil {
			return nil
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
		summary: fmt.Sprintf("%s. %s missed since the last success.", why(rj, due, runs), plural(count, "occurrence", "occurrences")),
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

// why says what kept the occurrence due at due from succeeding, from the entry and the jobs
// it made since.
func why(rj *models.RecurringJob, due time.Time, runs []models.Job) string {
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
	switch j.State {
	case models.JobEnqueued, models.JobScheduled, models.JobAwaiting:
		return fmt.Sprintf("Its job %d is still waiting to run", j.ID)
	case models.JobProcessing:
		return fmt.Sprintf("Its job %d is still running", j.ID)
	case models.JobFailed:
		return fmt.Sprintf("Its job %d failed: %s", j.ID, firstLine(j.LastError))
	default:
		return fmt.Sprintf("Its job %d ended %s", j.ID, j.State)
	}
}
