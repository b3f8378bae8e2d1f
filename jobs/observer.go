package jobs

import (
	"time"

	"github.com/kilnhq/kiln/models"
)

// Observer hears what the engine does, for metrics (see Config.Observer). Its methods are
// called on the engine's goroutines: they must be quick and safe for concurrent use.
type Observer interface {
	// JobFinished reports an attempt's end: outcome is succeeded, failed, retried, snoozed,
	// cancelled or released (given back at shutdown).
	JobFinished(kind, queue, outcome string, took time.Duration)
	// JobsRescued reports jobs taken back from servers presumed dead (requeued or failed).
	JobsRescued(n int)
}

// outcomeName names what an attempt's finish does to its job.
func outcomeName(f models.JobFinish) string {
	switch {
	case f.State == models.JobScheduled && f.RefundAttempt:
		return "snoozed"
	case f.State == models.JobScheduled:
		return "retried"
	case f.State == models.JobEnqueued:
		return "released"
	}
	return string(f.State)
}

// WorkerStat is one queue's workers on this process.
type WorkerStat struct {
	Queue   string
	Workers int
	Busy    int
}

// Workers returns each queue's workers on this process and how many are busy, by queue.
func (e *Engine) Workers() []WorkerStat {
	out := make([]WorkerStat, 0, len(e.cfg.Queues))
	for _, q := range e.cfg.Queues {
		if p := e.pools[q.Name]; p != nil {
			out = append(out, WorkerStat{Queue: q.Name, Workers: p.workers, Busy: int(p.busy.Load())})
		}
	}
	return out
}

// Outcomes is what this process holds of finished jobs' outcomes.
type Outcomes struct {
	// Waiting outcomes are finished runs not yet written to the database: they wait while it
	// does not answer, and are written once it does.
	Waiting int64
	// FailedWrites counts the attempts to write outcomes that failed (each retry counted).
	FailedWrites uint64
	// Dropped counts the outcomes given up: still unwritten when a stop's deadline passed, or
	// refused by the database even without their result and error. Their jobs run again.
	Dropped uint64
}

// Outcomes reports the outcomes this process holds; zero before Start.
func (e *Engine) Outcomes() Outcomes {
	e.mu.RLock()
	c := e.completer
	e.mu.RUnlock()
	if c == nil {
		return Outcomes{}
	}
	return Outcomes{Waiting: c.waiting(), FailedWrites: c.failures.Load(), Dropped: c.dropped.Load()}
}
