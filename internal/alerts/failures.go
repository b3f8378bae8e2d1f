package alerts

import (
	"fmt"
	"time"

	"github.com/kilnhq/kiln/models"
)

// failures evaluates a rule on failed jobs: the failures that finished since the rule last
// looked (CheckedUntil) are read grouped by subject through the index of failed jobs, so that
// 10,000 failures cost one grouped read, add to one alert, and send no more messages than one.
// The rule reads no further than the horizon: a failure that finished before it and is
// written later (a batch still on its way, an outcome held through an outage) would be behind
// the cursor, never read.
func (ev *evaluation) failures() error {
	r := ev.rule
	upto := ev.horizon
	if r.Watch == models.WatchFailuresWithin {
		upto = ev.now.Add(-ev.v.cfg.Settle) // it reads its whole window each time
	}
	after := r.CheckedUntil
	open, err := ev.tx.OpenAlerts(r.ID)
	if err != nil {
		return err
	}
	var fresh []models.SubjectFailures
	if upto.After(after) {
		if fresh, err = ev.tx.Failures(ev.scope(r.Target), after, upto, MaxSubjectsPerRule); err != nil {
			return err
		}
	}
	// The open alerts' counts grow by the new failures; their first jobs fill up.
	for _, g := range fresh {
		if a := open[g.Subject]; a != nil {
			if err := ev.addFailures(a, g, after, upto); err != nil {
				return err
			}
		}
	}
	if r.Watch == models.WatchFailuresWithin {
		err = ev.failuresWithin(open, upto)
	} else {
		err = ev.failuresEach(open, fresh, after, upto)
	}
	if err != nil {
		return err
	}
	if upto.After(after) {
		return ev.tx.SetCheckedUntil(r.ID, upto)
	}
	return nil
}

func (ev *evaluation) addFailures(a *models.Alert, g models.SubjectFailures, after, upto time.Time) error {
	a.Count += g.Count
	if n := MaxJobsInMessage - len(a.JobIDs); n > 0 {
		jobs, err := ev.tx.FailedJobs(ev.scope(g.Subject), after, upto, n)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			a.Note(j.ID, MaxJobsInMessage)
		}
	}
	a.Note(g.LastJobID, MaxJobsInMessage)
	return nil
}

// failuresEach: a job failed for good (WatchFailed), or the last Threshold jobs all failed
// (WatchFailedInARow). The condition holds until a job of the subject made after the alert's
// newest failure succeeds.
func (ev *evaluation) failuresEach(open map[string]*models.Alert, fresh []models.SubjectFailures, after, upto time.Time) error {
	r := ev.rule
	for _, a := range open {
		ok, err := ev.tx.SucceededAfter(ev.scope(a.Subject), a.LastJobID)
		if err != nil {
			return err
		}
		if ok {
			err = ev.resolve(a, words{
				title:   fmt.Sprintf("%s: resolved", describe(r.Scope, a.Subject)),
				summary: fmt.Sprintf("A later job of %s succeeded. The alert covered %s.", describe(r.Scope, a.Subject), plural(a.Count, "failed job", "failed jobs")),
			})
		} else {
			err = ev.repeat(a, ev.failingWords(a.Subject, a.Count, a.OpenedAt))
		}
		if err != nil {
			return err
		}
	}
	for _, g := range fresh {
		if open[g.Subject] != nil {
			continue
		}
		count := g.Count
		if r.Watch == models.WatchFailedInARow {
			last, err := ev.tx.LastOutcomes(ev.scope(g.Subject), r.Threshold)
			if err != nil {
				return err
			}
			if !allFailed(last, r.Threshold) {
				continue
			}
			count = max(count, int64(r.Threshold))
		}
		jobs, err := ev.tx.FailedJobs(ev.scope(g.Subject), after, upto, MaxJobsInMessage)
		if err != nil {
			return err
		}
		a, err := ev.open(g.Subject, count, jobs, ev.failingWords(g.Subject, count, time.Time{}))
		if err != nil {
			return err
		}
		a.Note(g.LastJobID, MaxJobsInMessage)
		if err := ev.tx.SaveAlert(a); err != nil {
			return err
		}
	}
	return nil
}

// failuresWithin: more than Threshold jobs failed within the last Within. The condition
// clears when the failures within the window are back to Threshold or fewer.
func (ev *evaluation) failuresWithin(open map[string]*models.Alert, upto time.Time) error {
	r := ev.rule
	from := upto.Add(-r.Within)
	window, err := ev.tx.Failures(ev.scope(r.Target), from, upto, MaxSubjectsPerRule)
	if err != nil {
		return err
	}
	return ev.level(open, holdings(window, int64(r.Threshold)),
		func(subject string) ([]models.Job, error) {
			return ev.tx.FailedJobs(ev.scope(subject), from, upto, MaxJobsInMessage)
		},
		func(h holding, since time.Time) words { return ev.failingWords(h.subject, h.count, since) },
		func(a *models.Alert) words {
			return words{title: fmt.Sprintf("%s: resolved", describe(r.Scope, a.Subject)),
				summary: fmt.Sprintf("No more than %d jobs of %s failed within the last %s. The alert covered %s.", r.Threshold, describe(r.Scope, a.Subject), r.Within, plural(a.Count, "failed job", "failed jobs"))}
		})
}

// failingWords says what a failure alert fires for; since is its opening, zero when it opens.
func (ev *evaluation) failingWords(subject string, count int64, since time.Time) words {
	r := ev.rule
	what := describe(r.Scope, subject)
	var title string
	switch r.Watch {
	case models.WatchFailedInARow:
		title = fmt.Sprintf("%s: %d failed in a row", what, r.Threshold)
	case models.WatchFailuresWithin:
		title = fmt.Sprintf("%s: more than %d failed within %s", what, r.Threshold, r.Within)
	default:
		title = fmt.Sprintf("%s: %s failed", what, plural(count, "job", "jobs"))
	}
	summary := fmt.Sprintf("%s of %s failed for good.", plural(count, "job", "jobs"), what)
	switch {
	case since.IsZero():
	case r.Watch == models.WatchFailuresWithin:
		summary = fmt.Sprintf("Still failing: %s of %s failed for good since %s, more than %d within %s.", plural(count, "job", "jobs"), what, since.UTC().Format(time.RFC3339), r.Threshold, r.Within)
	default:
		summary = fmt.Sprintf("Still failing: %s of %s failed for good since %s, and none made since has succeeded.", plural(count, "job", "jobs"), what, since.UTC().Format(time.RFC3339))
	}
	return words{title: title, summary: summary}
}

// scope is the jobs the rule reads for subject: never the deliveries of its messages (a
// channel that fails would feed the alert that tells of it), unless the rule names their kind.
func (ev *evaluation) scope(subject string) models.AlertScope {
	sc := models.AlertScope{Scope: ev.rule.Scope, Subject: subject}
	if ev.rule.Scope != models.ScopeKind || ev.rule.Target != KindDeliver {
		sc.ExceptKinds = []string{KindDeliver}
	}
	return sc
}

// allFailed reports whether the n outcomes are n failures.
func allFailed(states []models.JobState, n int) bool {
	if len(states) < n {
		return false
	}
	for _, s := range states {
		if s != models.JobFailed {
			return false
		}
	}
	return true
}
