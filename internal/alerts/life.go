package alerts

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kilnhq/kiln/models"
)

// An alert's life. It opens when its rule's condition holds for a subject (a message says it
// fires), repeats while the condition holds no more often than the rule's RepeatEvery (unless
// acknowledged or silenced), and resolves when the condition clears (a message says so, even
// when it is acknowledged or silenced: the record of its end is never muted). Each change and
// its messages, one per channel, are written in the evaluation's transaction.

// evaluation is one rule's evaluation in one transaction.
type evaluation struct {
	v    *Evaluator
	tx   *models.AlertTx
	rule *models.AlertRule
	now  time.Time
	// horizon is how far the rules that read each failure once read (readsFailuresOnce): the
	// store's FailuresHorizon less Config.Settle.
	horizon time.Time
}

func (ev *evaluation) run() error {
	switch ev.rule.Watch {
	case models.WatchMissedSchedule:
		return ev.missed()
	case models.WatchRunningLonger, models.WatchBacklog:
		return ev.stuck()
	case models.WatchNoWorkers:
		return ev.noWorkers()
	default:
		return ev.failures()
	}
}

// words is what a message says of an alert: its title and summary.
type words struct{ title, summary string }

// open opens an alert of the rule for subject, covering count jobs (or occurrences), the
// first of them jobs, and tells the channels.
func (ev *evaluation) open(subject string, count int64, jobs []models.Job, w words) (*models.Alert, error) {
	a := &models.Alert{RuleID: ev.rule.ID, Subject: subject, State: models.AlertOpen, OpenedAt: ev.now,
		LastNotifiedAt: ev.now, Count: count, JobIDs: []int64{}}
	for _, j := range jobs {
		a.Note(j.ID, MaxJobsInMessage)
	}
	a.Messages = 1
	if err := ev.tx.SaveAlert(a); err != nil {
		return nil, err
	}
	return a, ev.tell(a, StatusFiring, w)
}

// repeat tells the channels again that the alert still fires, if its interval has passed and
// nobody acknowledged or silenced it; it saves the alert either way (its count may have grown).
func (ev *evaluation) repeat(a *models.Alert, w words) error {
	due := ev.rule.RepeatEvery > 0 && !a.Quiet(ev.now) && !ev.now.Before(a.LastNotifiedAt.Add(ev.rule.RepeatEvery))
	if due {
		a.LastNotifiedAt = ev.now
		a.Messages++
	}
	if err := ev.tx.SaveAlert(a); err != nil {
		return err
	}
	if !due {
		return nil
	}
	return ev.tell(a, StatusFiring, w)
}

// resolve closes the alert and tells the channels.
func (ev *evaluation) resolve(a *models.Alert, w words) error {
	at := ev.now
	a.State, a.ResolvedAt, a.LastNotifiedAt = models.AlertResolved, &at, at
	a.Messages++
	if err := ev.tx.SaveAlert(a); err != nil {
		return err
	}
	return ev.tell(a, StatusResolved, w)
}

// tell enqueues the alert's message to each of the rule's channels.
func (ev *evaluation) tell(a *models.Alert, status Status, w words) error {
	jobs, err := ev.tx.JobsByID(a.JobIDs)
	if err != nil {
		return err
	}
	m := Message{Rule: ev.rule.Name, AlertID: a.ID, Status: status, Title: w.title, Summary: w.summary,
		Count: int(a.Count), Jobs: make([]JobRef, 0, len(jobs)), URL: ev.subjectURL(a.Subject), At: ev.now}
	for _, j := range jobs {
		m.Jobs = append(m.Jobs, JobRef{ID: j.ID, Kind: j.Kind, Queue: j.Queue, State: string(j.State),
			Error: firstLine(j.LastError), URL: ev.link("/dashboard/jobs/" + strconv.FormatInt(j.ID, 10))})
	}
	for _, ch := range ev.rule.Channels {
		if _, err := Deliver(ev.v.e, ev.tx.DB(), ch, m); err != nil {
			return fmt.Errorf("alerts: deliver to channel %q: %w", ch, err)
		}
	}
	return nil
}

// subjectURL is the page of the alert's subject.
func (ev *evaluation) subjectURL(subject string) string {
	switch ev.rule.Scope {
	case models.ScopeKind:
		return ev.link("/dashboard/kinds/" + url.PathEscape(subject))
	case models.ScopeQueue:
		return ev.link("/dashboard/queues")
	default:
		return ev.link("/dashboard/recurring")
	}
}

// link makes path absolute under the public URL, or empty without one.
func (ev *evaluation) link(path string) string {
	if ev.v.cfg.PublicURL == "" {
		return ""
	}
	return ev.v.cfg.PublicURL + path
}

// firstLine is an error's first line, which is what a message has room for.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// describe names a rule's subject in words: "kind report.build".
func describe(scope, subject string) string {
	switch scope {
	case models.ScopeRecurring:
		return "recurring job " + subject
	default:
		return scope + " " + subject
	}
}

// plural says n things, "1 job" or "3 jobs".
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + many
}
