package alerts

import (
	"fmt"
	"slices"
	"time"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// Rules whose condition is a level, true or false at each evaluation, per subject: too many
// failures within a window, jobs running or waiting too long, a queue nobody works. An alert
// opens for each subject it holds for, repeats while it holds and resolves once it does not.

// holding is a subject the condition holds for now, with how many jobs it covers.
type holding struct {
	subject string
	count   int64
	lastJob int64
}

// level opens, repeats and resolves the rule's alerts by the subjects that hold now; jobsOf
// reads the first jobs of a subject for its opening, say what it fires for, clear what its
// resolution says.
func (ev *evaluation) level(open map[string]*models.Alert, holds []holding,
	jobsOf func(subject string) ([]models.Job, error), say func(h holding, since time.Time) words, clear func(a *models.Alert) words) error {
	now := map[string]holding{}
	for _, h := range holds {
		now[h.subject] = h
	}
	for _, a := range open {
		h, ok := now[a.Subject]
		if !ok {
			if err := ev.resolve(a, clear(a)); err != nil {
				return err
			}
			continue
		}
		a.Count = max(a.Count, h.count)
		if h.lastJob > 0 {
			a.Note(h.lastJob, MaxJobsInMessage)
		}
		if err := ev.repeat(a, say(h, a.OpenedAt)); err != nil {
			return err
		}
	}
	for _, h := range holds {
		if open[h.subject] != nil {
			continue
		}
		first, err := jobsOf(h.subject)
		if err != nil {
			return err
		}
		if _, err := ev.open(h.subject, h.count, first, say(h, time.Time{})); err != nil {
			return err
		}
	}
	return nil
}

func holdings(groups []models.SubjectFailures, more int64) []holding {
	var out []holding
	for _, g := range groups {
		if g.Count > more {
			out = append(out, holding{subject: g.Subject, count: g.Count, lastJob: g.LastJobID})
		}
	}
	return out
}

// stuck evaluates running-longer and backlog rules.
func (ev *evaluation) stuck() error {
	r := ev.rule
	open, err := ev.tx.OpenAlerts(r.ID)
	if err != nil {
		return err
	}
	before := ev.now.Add(-r.LongerThan)
	state, more, doing := models.JobProcessing, int64(0), "running"
	var groups []models.SubjectFailures
	if r.Watch == models.WatchRunningLonger {
		groups, err = ev.tx.RunningLonger(ev.scope(r.Target), before, MaxSubjectsPerRule)
	} else {
		state, more, doing = models.JobEnqueued, int64(r.Threshold), "waiting"
		groups, err = ev.tx.WaitingLonger(ev.scope(r.Target), before, MaxSubjectsPerRule)
	}
	if err != nil {
		return err
	}
	return ev.level(open, holdings(groups, more),
		func(subject string) ([]models.Job, error) {
			return ev.tx.StuckJobs(ev.scope(subject), state, before, MaxJobsInMessage)
		},
		func(h holding, since time.Time) words {
			w := words{
				title:   fmt.Sprintf("%s: %s %s longer than %s", describe(r.Scope, h.subject), plural(h.count, "job", "jobs"), doing, r.LongerThan),
				summary: fmt.Sprintf("%s of %s %s been %s for longer than %s.", plural(h.count, "job", "jobs"), describe(r.Scope, h.subject), has(h.count), doing, r.LongerThan),
			}
			if r.Watch == models.WatchBacklog && r.Threshold > 0 {
				w.summary += fmt.Sprintf(" The rule allows %d.", r.Threshold)
			}
			if !since.IsZero() {
				w.summary += " Still so since " + since.UTC().Format(time.RFC3339) + "."
			}
			return w
		},
		func(a *models.Alert) words {
			return words{title: fmt.Sprintf("%s: resolved", describe(r.Scope, a.Subject)),
				summary: fmt.Sprintf("No more jobs of %s than the rule allows have been %s for longer than %s.", describe(r.Scope, a.Subject), doing, r.LongerThan)}
		})
}

// noWorkers evaluates no-workers rules: a queue (the target, or each with jobs waiting) that no
// server heard from within three heartbeats works.
func (ev *evaluation) noWorkers() error {
	r := ev.rule
	open, err := ev.tx.OpenAlerts(r.ID)
	if err != nil {
		return err
	}
	queues := []string{r.Target}
	if r.Target == "" {
		if queues, err = ev.tx.QueuesWaiting(); err != nil {
			return err
		}
		if len(queues) > MaxSubjectsPerRule {
			queues = queues[:MaxSubjectsPerRule]
		}
	}
	silent := 3 * ev.v.e.ServerHeartbeat()
	servers, err := ev.tx.LiveServers(silent)
	if err != nil {
		return err
	}
	worked := map[string]bool{}
	for _, srv := range servers {
		qs, err := jobs.ParseQueues(srv.Queues)
		if err != nil {
			continue // a server of another version may write them otherwise; it works none we know
		}
		for _, q := range qs {
			worked[q.Name] = true
		}
	}
	var holds []holding
	for _, q := range queues {
		if !worked[q] && !slices.ContainsFunc(holds, func(h holding) bool { return h.subject == q }) {
			holds = append(holds, holding{subject: q})
		}
	}
	return ev.level(open, holds,
		func(string) ([]models.Job, error) { return nil, nil },
		func(h holding, since time.Time) words {
			w := words{title: fmt.Sprintf("queue %s: no live server works it", h.subject),
				summary: fmt.Sprintf("No server heard from in the last %s works queue %s: its jobs wait. Start a node with --queues %s=N.", silent, h.subject, h.subject)}
			if !since.IsZero() {
				w.summary += " Still so since " + since.UTC().Format(time.RFC3339) + "."
			}
			return w
		},
		func(a *models.Alert) words {
			return words{title: fmt.Sprintf("queue %s: resolved", a.Subject),
				summary: fmt.Sprintf("A live server works queue %s again.", a.Subject)}
		})
}

// has is "has" or "have" for n things.
func has(n int64) string {
	if n == 1 {
		return "has"
	}
	return "have"
}
