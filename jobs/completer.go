package jobs

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kilnhq/kiln/models"
)

// completer writes finished jobs in batches: up to FinishBatch outcomes, or whatever arrived
// within FinishDelay of the first, share one transaction.
//
// A batch that fails to write is retried for as long as the process lives, however long the
// database is away: a run that ended must not run again because its outcome was dropped (a
// one-attempt job, an exec, runs once). Memory stays bounded: once 4 FinishBatches wait, the
// workers that finish wait too, and take no new jobs. The outcomes waiting are in /metrics.
// Only when the database answers heartbeats and still refuses a batch (not for a lost
// connection or a full disk) is the batch split, to find the outcome it refuses (see refused).
//
// With FinishWriters above 1, helpers write too, but only while half a FinishBatch of outcomes
// waits besides the batch being written: then a database that runs transactions side by side
// (PostgreSQL) finishes a backlog in parallel, while a lighter load keeps one writer and
// batches as large as before. Measured with kiln bench on PostgreSQL, 2 cores: with 2,000
// workers, 35-45k jobs/s became 47-53k; handing every batch to a free writer instead wrote
// three times as many, smaller batches with 50 workers, and burnt down 20% slower; helpers
// woken at a quarter of a batch still took 16-17% of the batches with 50 workers.
type completer struct {
	e    *Engine
	in   chan models.JobFinish
	done chan struct{}
	// backlog wakes a helper, if any (FinishWriters > 1); big is the backlog that does;
	// closing ends the helpers.
	backlog, closing chan struct{}
	big              int

	mu     sync.RWMutex // held for reading while sending, for writing while closing
	closed bool

	pending  atomic.Int64 // outcomes added and not yet written (or given up at a stop's deadline)
	heldMu   sync.Mutex
	held     map[int64]int // the jobs of the pending outcomes: this server's, whatever their leases say
	failures atomic.Uint64 // writes that failed, each retry counted
	dropped  atomic.Int64  // outcomes given up at a stop's deadline
	kick     chan struct{} // ends a retry's pause: the database answers again
	abandon  chan struct{} // closed when a stop's deadline passes: retries end
}

func newCompleter(e *Engine) *completer {
	return &completer{
		e: e, in: make(chan models.JobFinish, 4*e.cfg.FinishBatch), done: make(chan struct{}),
		backlog: make(chan struct{}, 1), closing: make(chan struct{}),
		big:  max(1, e.cfg.FinishBatch/2),
		kick: make(chan struct{}, 1), abandon: make(chan struct{}), held: map[int64]int{},
	}
}

func (c *completer) start() {
	var writers sync.WaitGroup
	writers.Go(c.loop)
	for range c.e.cfg.FinishWriters - 1 {
		writers.Go(c.help)
	}
	go func() {
		writers.Wait()
		close(c.done)
	}()
}

// add queues an outcome to be written. After stop it drops it: the job was released at
// shutdown (its worker ignored cancellation), and the release stands.
func (c *completer) add(f models.JobFinish) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		c.e.log.Warn("jobs: a job finished after the engine stopped; it was already released", "job", f.JobID)
		return
	}
	c.pending.Add(1)
	c.heldMu.Lock()
	c.held[f.JobID]++
	c.heldMu.Unlock()
	c.in <- f
	if c.e.cfg.FinishWriters > 1 && len(c.in) >= c.big {
		select {
		case c.backlog <- struct{}{}:
		default:
		}
	}
}

// stop writes what is pending and ends the loop. When ctx ends first (the database still
// refuses them), the outcomes left are given up: their jobs' leases run out, and other servers
// run them again. Workers blocked handing over an outcome meanwhile are let go too.
func (c *completer) stop(ctx context.Context) error {
	unwatch := context.AfterFunc(ctx, func() { close(c.abandon) })
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
		return fmt.Errorf("jobs: stopped before the outcomes of %d finished jobs could be written: %w", n, ctx.Err())
	}
	return nil
}

// retryNow ends the pause of a write that failed: the database answers again.
func (c *completer) retryNow() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// waiting is how many outcomes wait to be written.
func (c *completer) waiting() int64 { return c.pending.Load() }

// heldIDs returns the jobs whose outcomes wait to be written.
func (c *completer) heldIDs() []int64 {
	c.heldMu.Lock()
	defer c.heldMu.Unlock()
	ids := make([]int64, 0, len(c.held))
	for id := range c.held {
		ids = append(ids, id)
	}
	return ids
}

// finished forgets outcomes written (or given up).
func (c *completer) finished(batch []models.JobFinish) {
	c.pending.Add(-int64(len(batch)))
	c.heldMu.Lock()
	defer c.heldMu.Unlock()
	for _, f := range batch {
		if c.held[f.JobID]--; c.held[f.JobID] <= 0 {
			delete(c.held, f.JobID)
		}
	}
}

// finishBatchBytes ends a batch once its results and errors add up to this much: a thousand
// jobs with large results must not become one huge statement.
const finishBatchBytes = 4 << 20

// loop is the first writer: it gathers every batch it writes, for up to FinishDelay.
func (c *completer) loop() {
	batch := make([]models.JobFinish, 0, c.e.cfg.FinishBatch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		f, ok := <-c.in
		if !ok {
			return
		}
		resetTimer(timer, c.e.cfg.FinishDelay)
		batch = c.gather(append(batch[:0], f), timer.C)
		c.write(batch)
	}
}

// help is a writer beyond the first: woken by a backlog, it writes what waits, without
// waiting for more, until the backlog is gone.
func (c *completer) help() {
	batch := make([]models.JobFinish, 0, c.e.cfg.FinishBatch)
	for {
		select {
		case <-c.backlog:
		case <-c.closing:
			return // loop writes what is left
		}
		for len(c.in) >= c.big {
			if batch = c.gather(batch[:0], nil); len(batch) > 0 {
				c.write(batch)
			}
		}
	}
}

// gather adds outcomes from in to batch until it is full (FinishBatch outcomes, or
// finishBatchBytes of results and errors) or in is closed, and until fires; with until nil,
// until nothing more waits.
func (c *completer) gather(batch []models.JobFinish, until <-chan time.Time) []models.JobFinish {
	size := 0
	for _, f := range batch {
		size += len(f.Result) + len(f.Error)
	}
	for len(batch) < c.e.cfg.FinishBatch && size < finishBatchBytes {
		var (
			f  models.JobFinish
			ok bool
		)
		if until == nil {
			select {
			case f, ok = <-c.in:
			default:
				return batch
			}
		} else {
			select {
			case f, ok = <-c.in:
			case <-until:
				return batch
			}
		}
		if !ok {
			return batch
		}
		batch = append(batch, f)
		size += len(f.Result) + len(f.Error)
	}
	return batch
}

// write stores one batch, retrying with growing pauses (up to a second) until it is stored,
// or a stop's deadline passes.
func (c *completer) write(batch []models.JobFinish) {
	var failedAt time.Time
	refusals := 0 // failures while the database answers heartbeats
	for pause := 10 * time.Millisecond; ; pause = min(2*pause, time.Second) {
		_, queues, err := c.e.store.FinishJobs(context.Background(), batch)
		if err == nil {
			c.finished(batch)
			if !failedAt.IsZero() {
				c.e.log.Info("jobs: finished jobs written after the database failed", "jobs", len(batch), "waited", time.Since(failedAt).Round(time.Millisecond))
			}
			for _, f := range batch { // a capped kind's slot came free
				if f.FreesSlotIn != "" && !slices.Contains(queues, f.FreesSlotIn) {
					queues = append(queues, f.FreesSlotIn)
				}
			}
			if len(queues) > 0 {
				c.e.wake(queues...)
			}
			return
		}
		c.failures.Add(1)
		if failedAt.IsZero() {
			failedAt = time.Now()
			c.e.log.Warn("jobs: writing finished jobs failed; retrying until the database takes them", "jobs", len(batch), "err", err)
		}
		// Refused, not failed: the database answers (a heartbeat went through since), and says
		// no for another reason than a lost connection or a full disk.
		if c.e.health.answeredSince(failedAt) && !c.e.store.Unreachable(err) && !c.e.store.StorageFull(err) {
			if refusals++; refusals >= 3 { // something in the batch is refused
				if len(batch) == 1 {
					c.refused(batch[0], err)
					return
				}
				half := len(batch) / 2
				c.write(batch[:half])
				c.write(batch[half:])
				return
			}
		}
		select {
		case <-time.After(pause):
		case <-c.kick:
			pause = 5 * time.Millisecond // doubled: the next pause is short again
		case <-c.abandon:
			c.finished(batch)
			c.dropped.Add(int64(len(batch)))
			c.e.log.Error("jobs: stopped with finished jobs unwritten; their leases will run out and other servers will run them again", "jobs", len(batch), "err", err)
			return
		}
	}
}

// refused deals with an outcome the database refuses while it answers: it is written once more
// without its result and error, which are what can be refused (a value the database won't
// store), so that the job still ends as it did. If even that is refused, it is dropped: this
// server no longer holds the job, so its rescue puts the job back in its queue.
func (c *completer) refused(f models.JobFinish, err error) {
	defer c.finished([]models.JobFinish{f})
	bare := f
	bare.Result = ""
	if bare.Error != "" {
		bare.Error = "(the run's error could not be stored)"
	}
	bare.Reason = fmt.Sprintf("%s; its result and error could not be stored: %v", f.Reason, err)
	if _, _, err2 := c.e.store.FinishJobs(context.Background(), []models.JobFinish{bare}); err2 != nil {
		c.e.log.Error("jobs: the database refuses the outcome of a job; it will be rescued and run again", "job", f.JobID, "err", err2)
		return
	}
	c.e.log.Error("jobs: the database refused a job's result or error; its outcome was written without them", "job", f.JobID, "err", err)
}
