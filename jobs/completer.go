package jobs

import (
	"sync"
	"time"

	"github.com/kilnhq/kiln/models"
)

// completer writes finished jobs in batches: up to FinishBatch outcomes, or whatever arrived
// within FinishDelay of the first, share one transaction.
//
// A batch that fails to write is retried for as long as the process lives, however long the
// database is away (see write, in completer_write.go).
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

	retries // what waits to be written, and how retries end (completer_write.go)
}

func newCompleter(e *Engine) *completer {
	c := &completer{
		e: e, in: make(chan models.JobFinish, 4*e.cfg.FinishBatch), done: make(chan struct{}),
		backlog: make(chan struct{}, 1), closing: make(chan struct{}),
		big: max(1, e.cfg.FinishBatch/2),
	}
	c.retries.init()
	return c
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
	c.hold(f)
	c.in <- f
	if c.e.cfg.FinishWriters > 1 && len(c.in) >= c.big {
		select {
		case c.backlog <- struct{}{}:
		default:
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
