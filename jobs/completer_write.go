package jobs

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/kilnhq/kiln/models"
)

// A finished run's outcome must reach the database, however long it is away: a run that ended
// must not run again because its outcome was dropped (a one-attempt job, an exec, runs once).
// So the completer retries a batch for as long as the process lives, at most a second apart,
// and at once when the heartbeat sees the database again. Memory stays bounded: once the
// channel's 4 FinishBatches wait (besides the batches being written), a worker that finishes
// waits too, and takes no new job. What waits is in /metrics.
//
// Two things end a retry. The database refusing a batch for what it holds (models' Refused: a
// value it can't store, not a lost connection, a lock or a full disk): the batch is split until
// the refused outcome is found, and that one is written without its result and error. And a
// stop whose deadline passes while the database is still away: what is left is given up.

// writeTimeout bounds one attempt to write a batch: a connection that hangs (a network that
// drops packets rather than refusing them) is given up and the batch tried on another.
const writeTimeout = 30 * time.Second

// retries is the completer's record of what waits to be written, and of how retries end.
type retries struct {
	pending  atomic.Int64  // outcomes handed over and not yet written (or given up)
	failures atomic.Uint64 // attempts to write that failed
	dropped  atomic.Uint64 // outcomes given up: at a stop's deadline, or refused even bare

	heldMu sync.Mutex
	held   map[int64]heldOutcomes // the jobs of the pending outcomes: this server's, whatever their leases say

	kickMu sync.Mutex
	kick   chan struct{} // closed (and replaced) to end every retry's pause: the database answers

	abandonOnce sync.Once
	abandoned   chan struct{}      // closed when a stop's deadline passes: retries end
	ctx         context.Context    // the writes' context, cancelled with abandoned
	cancel      context.CancelFunc // cancels ctx
}

// heldOutcomes are a job's pending outcomes: how many, and when the oldest was stamped.
type heldOutcomes struct {
	n     int
	since time.Time
}

func (r *retries) init() {
	r.held, r.kick, r.abandoned = map[int64]heldOutcomes{}, make(chan struct{}), make(chan struct{})
	r.ctx, r.cancel = context.WithCancel(context.Background())
}

// hold records an outcome handed over to be written.
func (r *retries) hold(f models.JobFinish) {
	r.pending.Add(1)
	r.heldMu.Lock()
	h, ok := r.held[f.JobID]
	if !ok || f.At.Before(h.since) {
		h.since = f.At
	}
	h.n++
	r.held[f.JobID] = h
	r.heldMu.Unlock()
}

// finished forgets outcomes written (or given up).
func (r *retries) finished(batch []models.JobFinish) {
	r.pending.Add(-int64(len(batch)))
	r.heldMu.Lock()
	defer r.heldMu.Unlock()
	for _, f := range batch {
		h := r.held[f.JobID]
		if h.n--; h.n <= 0 {
			delete(r.held, f.JobID)
		} else {
			r.held[f.JobID] = h
		}
	}
}

// unwrittenSince is when the oldest pending outcome was stamped, or nil when none waits: the
// heartbeat tells it, and the alert rules on failures read no further than it, so that an
// outcome written late (a slow batch, an outage) is still seen.
func (r *retries) unwrittenSince() *time.Time {
	r.heldMu.Lock()
	defer r.heldMu.Unlock()
	var oldest *time.Time
	for _, h := range r.held {
		if oldest == nil || h.since.Before(*oldest) {
			since := h.since
			oldest = &since
		}
	}
	return oldest
}

// heldIDs returns the jobs whose outcomes wait to be written.
func (r *retries) heldIDs() []int64 {
	r.heldMu.Lock()
	defer r.heldMu.Unlock()
	ids := make([]int64, 0, len(r.held))
	for id := range r.held {
		ids = append(ids, id)
	}
	return ids
}

// waiting is how many outcomes wait to be written.
func (r *retries) waiting() int64 { return r.pending.Load() }

// retryNow ends the pause of every write that failed: the database answers again.
func (r *retries) retryNow() {
	r.kickMu.Lock()
	close(r.kick)
	r.kick = make(chan struct{})
	r.kickMu.Unlock()
}

// kicked is closed at the next retryNow.
func (r *retries) kicked() <-chan struct{} {
	r.kickMu.Lock()
	defer r.kickMu.Unlock()
	return r.kick
}

// abandon ends every retry, and the writes under way that have not begun.
func (r *retries) abandon() {
	r.abandonOnce.Do(func() {
		close(r.abandoned)
		r.cancel()
	})
}

// stop writes what is pending and ends the loop. When ctx ends first (the database still
// doesn't take them), the outcomes left are given up: their jobs go back to their queues once
// this server is gone, and run again. Workers blocked handing over an outcome are let go too.
func (c *completer) stop(ctx context.Context) error {
	unwatch := context.AfterFunc(ctx, c.abandon)
	defer unwatch()
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.in)
		close(c.closing)
	}
	c.mu.Unlock()
	<-c.done
	if n := c.dropped.Load(); n > 0 {
		return fmt.Errorf("jobs: stopped before the outcomes of %d finished jobs could be written: %w", n, context.Cause(ctx))
	}
	return nil
}

// write stores one batch, retrying until it is stored (see the top of this file).
func (c *completer) write(batch []models.JobFinish) { c.writeBatch(batch, false) }

// writeBatch writes batch; suspect says that a batch it was part of was refused, so that a
// refusal is split at once rather than tried again.
func (c *completer) writeBatch(batch []models.JobFinish, suspect bool) {
	var failedAt time.Time
	refusals := 0
	for pause := 10 * time.Millisecond; ; pause = min(2*pause, time.Second) {
		kick := c.kicked()
		queues, err := c.attempt(batch)
		if err == nil {
			c.finished(batch)
			if !failedAt.IsZero() {
				c.e.log.Info("jobs: finished jobs written after the database failed", "jobs", len(batch), "waited", time.Since(failedAt).Round(time.Millisecond))
			}
			if len(queues) > 0 { // none: wake would wake every pool
				c.e.wake(queues...)
			}
			return
		}
		c.failures.Add(1)
		if failedAt.IsZero() {
			failedAt = time.Now()
			c.e.logFailure("jobs: writing finished jobs failed; retrying until the database takes them", "jobs", len(batch), "err", err)
		}
		if c.e.store.Refused(err) {
			// Twice, lest a batch be split for a fluke; its halves at once.
			if refusals++; suspect || refusals >= 2 {
				if len(batch) == 1 {
					c.refused(batch[0], err)
					return
				}
				half := len(batch) / 2
				c.writeBatch(batch[:half], true)
				c.writeBatch(batch[half:], true)
				return
			}
		}
		if !c.pause(pause, kick) {
			c.giveUp(batch, err)
			return
		}
	}
}

// attempt writes batch once, and returns the queues whose fetchers should look again.
func (c *completer) attempt(batch []models.JobFinish) ([]string, error) {
	ctx, cancel := context.WithTimeout(c.ctx, writeTimeout)
	defer cancel()
	var span trace.Span
	if c.e.tracer != nil {
		span = c.e.traceFinish(batch)
	}
	_, queues, err := c.e.store.Jobs.FinishJobs(ctx, batch)
	if span != nil {
		endFinish(span, err)
	}
	if err != nil {
		return nil, err
	}
	for _, f := range batch { // a capped kind's slot came free
		if f.FreesSlotIn != "" && !slices.Contains(queues, f.FreesSlotIn) {
			queues = append(queues, f.FreesSlotIn)
		}
	}
	return queues, nil
}

// pause waits d, or less if kicked; false when the retries are abandoned.
func (c *completer) pause(d time.Duration, kick <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-kick:
	case <-c.abandoned:
		return false
	}
	return true
}

// giveUp drops outcomes that could not be written before a stop's deadline.
func (c *completer) giveUp(batch []models.JobFinish, err error) {
	c.finished(batch)
	c.dropped.Add(uint64(len(batch)))
	c.e.log.Error("jobs: stopped with finished jobs unwritten; they will run again", "jobs", len(batch), "err", err)
}

// refused deals with an outcome the database refuses: it is written without its result and
// error, which are what can be refused (a value the database won't store), so that the job
// still ends as it did, retried as any batch is. If even that is refused, it is dropped: this
// server no longer holds the job, so it takes the job back (see Engine.rescue), and it runs
// again.
func (c *completer) refused(f models.JobFinish, err error) {
	bare := f
	bare.Result = ""
	if bare.Error != "" {
		bare.Error = "(the run's error could not be stored)"
	}
	bare.Reason = fmt.Sprintf("%s; its result and error could not be stored: %v", f.Reason, err)
	for pause := 10 * time.Millisecond; ; pause = min(2*pause, time.Second) {
		kick := c.kicked()
		queues, err2 := c.attempt([]models.JobFinish{bare})
		switch {
		case err2 == nil:
			c.finished([]models.JobFinish{f})
			c.e.log.Error("jobs: the database refused a job's result or error; its outcome was written without them", "job", f.JobID, "err", err)
			if len(queues) > 0 {
				c.e.wake(queues...)
			}
			return
		case c.e.store.Refused(err2):
			c.finished([]models.JobFinish{f})
			c.dropped.Add(1)
			c.e.log.Error("jobs: the database refuses the outcome of a job; it will run again", "job", f.JobID, "err", err2)
			return
		}
		c.failures.Add(1)
		if !c.pause(pause, kick) {
			c.giveUp([]models.JobFinish{f}, err2)
			return
		}
	}
}
