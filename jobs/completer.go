package jobs

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/kilnhq/kiln/models"
)

// completer writes finished jobs in batches: up to FinishBatch outcomes, or whatever arrived
// within FinishDelay of the first, share one transaction. A batch that fails to write is
// retried; if it never can be, the jobs' leases run out and another server runs them again.
type completer struct {
	e    *Engine
	in   chan models.JobFinish
	done chan struct{}

	mu     sync.RWMutex // held for reading while sending, for writing while closing
	closed bool
}

func newCompleter(e *Engine) *completer {
	return &completer{e: e, in: make(chan models.JobFinish, 4*e.cfg.FinishBatch), done: make(chan struct{})}
}

func (c *completer) start() { go c.loop() }

// add queues an outcome to be written. After stop it drops it: the job was released at
// shutdown (its worker ignored cancellation), and the release stands.
func (c *completer) add(f models.JobFinish) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		c.e.log.Warn("jobs: a job finished after the engine stopped; it was already released", "job", f.JobID)
		return
	}
	c.in <- f
}

// stop writes what is pending and ends the loop.
func (c *completer) stop() error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.in)
	}
	c.mu.Unlock()
	<-c.done
	return nil
}

// finishBatchBytes ends a batch once its results and errors add up to this much: a thousand
// jobs with large results must not become one huge statement.
const finishBatchBytes = 4 << 20

func (c *completer) loop() {
	defer close(c.done)
	batch := make([]models.JobFinish, 0, c.e.cfg.FinishBatch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		f, ok := <-c.in
		if !ok {
			return
		}
		batch = append(batch[:0], f)
		size := len(f.Result) + len(f.Error)
		resetTimer(timer, c.e.cfg.FinishDelay)
	gather:
		for len(batch) < c.e.cfg.FinishBatch && size < finishBatchBytes {
			select {
			case f, ok := <-c.in:
				if !ok {
					break gather
				}
				batch = append(batch, f)
				size += len(f.Result) + len(f.Error)
			case <-timer.C:
				break gather
			}
		}
		c.write(batch)
	}
}

// write stores one batch, retrying with growing pauses for up to a lease: past that, the
// leases have run out and other servers own the jobs anyway.
func (c *completer) write(batch []models.JobFinish) {
	deadline := time.Now().Add(c.e.cfg.Lease)
	for pause := 10 * time.Millisecond; ; pause = min(2*pause, time.Second) {
		_, queues, err := c.e.store.FinishJobs(context.Background(), batch)
		if err == nil {
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
		if time.Now().After(deadline) {
			c.e.log.Error("jobs: giving up writing finished jobs; their leases will expire and they will run again", "jobs", len(batch), "err", err)
			return
		}
		c.e.log.Warn("jobs: writing finished jobs failed; retrying", "jobs", len(batch), "err", err)
		time.Sleep(pause)
	}
}
