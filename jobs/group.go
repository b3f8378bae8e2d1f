package jobs

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/kilnhq/kiln/models"
)

// groupCommit gives concurrent writes one transaction between them (group commit). The first
// caller leads: it writes every request waiting by then in one call of write, then hands the
// lead to the first request that arrived meanwhile. Nothing waits on a timer, so a lone write
// costs what it did; under load, many share a commit (SQLite writes one transaction at a time,
// PostgreSQL commits each with a WAL flush).
type groupCommit[T, R any] struct {
	// write stores the batch and answers every request in it on its done channel.
	write func(batch []*groupReq[T, R])
	// size is a request's weight against max (nil: 1 each); max bounds one batch.
	size func(T) int
	max  int
	// failed is the answer to the requests of a batch whose write panicked.
	failed func(error) R

	mu      sync.Mutex
	pending []*groupReq[T, R]
	busy    bool // a leader is writing
}

type groupReq[T, R any] struct {
	ctx  context.Context
	item T
	done chan R        // buffered: the leader never blocks on it
	lead chan struct{} // buffered: told to lead the next batch
}

// do writes item, in a transaction shared with concurrent callers, and returns its result.
func (g *groupCommit[T, R]) do(ctx context.Context, item T) R {
	req := &groupReq[T, R]{ctx: ctx, item: item, done: make(chan R, 1), lead: make(chan struct{}, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, req)
	if g.busy {
		g.mu.Unlock()
		select {
		case res := <-req.done:
			return res
		case <-req.lead: // lead the next batch: it starts with this request
		}
	} else {
		g.busy = true
		g.mu.Unlock()
	}
	g.mu.Lock()
	n, weight := 0, 0
	for ; n < len(g.pending); n++ {
		w := 1
		if g.size != nil {
			w = g.size(g.pending[n].item)
		}
		if n > 0 && weight+w > g.max {
			break
		}
		weight += w
	}
	batch := append([]*groupReq[T, R](nil), g.pending[:n]...)
	g.pending = append(g.pending[:0:0], g.pending[n:]...)
	g.mu.Unlock()

	g.writeSafely(batch)

	g.mu.Lock()
	if len(g.pending) > 0 {
		g.pending[0].lead <- struct{}{}
	} else {
		g.busy = false
	}
	g.mu.Unlock()
	return <-req.done
}

// writeSafely writes a batch; a panic in write answers every request of the batch not yet
// answered with an error instead of leaving them, and every later caller, waiting for ever.
func (g *groupCommit[T, R]) writeSafely(batch []*groupReq[T, R]) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		res := g.failed(fmt.Errorf("jobs: write panicked: %v\n%s", v, debug.Stack()))
		for _, r := range batch {
			select {
			case r.done <- res:
			default: // answered before the panic
			}
		}
	}()
	g.write(batch)
}

// maxGroup bounds the jobs of one group commit of enqueues.
const maxGroup = 256

type insertRes struct {
	dups []int
	err  error
}

// newGroupInserter group-commits concurrent single-job enqueues.
func newGroupInserter(store *models.Store) *groupCommit[[]*models.Job, insertRes] {
	return &groupCommit[[]*models.Job, insertRes]{
		max: maxGroup, size: func(jobs []*models.Job) int { return len(jobs) },
		failed: func(err error) insertRes { return insertRes{err: err} },
		write:  func(batch []*groupReq[[]*models.Job, insertRes]) { writeInserts(store, batch) },
	}
}

// writeInserts stores a batch of enqueues in one transaction, or, when that fails, each on its
// own so that one request's error is only its own.
func writeInserts(store *models.Store, batch []*groupReq[[]*models.Job, insertRes]) {
	// Another caller's cancellation must not undo this one's write: the transaction is short.
	ctx := context.WithoutCancel(batch[0].ctx)
	if len(batch) == 1 {
		dups, err := store.Jobs.InsertJobs(ctx, batch[0].item, time.Now())
		batch[0].done <- insertRes{dups, err}
		return
	}
	var all []*models.Job
	for _, r := range batch {
		all = append(all, r.item...)
	}
	dups, err := store.Jobs.InsertJobs(ctx, all, time.Now())
	if err != nil {
		for _, r := range batch {
			dups, err := store.Jobs.InsertJobs(context.WithoutCancel(r.ctx), r.item, time.Now())
			r.done <- insertRes{dups, err}
		}
		return
	}
	isDup := make(map[int]bool, len(dups))
	for _, i := range dups {
		isDup[i] = true
	}
	off := 0
	for _, r := range batch {
		var mine []int
		for i := range r.item {
			r.item[i] = all[off+i] // a duplicate's entry is now the job that holds the key
			if isDup[off+i] {
				mine = append(mine, i)
			}
		}
		off += len(r.item)
		r.done <- insertRes{dups: mine}
	}
}

// maxLogGroup bounds the log lines of one group commit.
const maxLogGroup = 512

// newLogWriter group-commits the log lines running jobs write at the same time: with many
// workers logging, one transaction carries many lines instead of one each.
func newLogWriter(store *models.Store) *groupCommit[models.JobLog, error] {
	return &groupCommit[models.JobLog, error]{
		max: maxLogGroup, failed: func(err error) error { return err },
		write: func(batch []*groupReq[models.JobLog, error]) {
			lines := make([]models.JobLog, len(batch))
			for i, r := range batch {
				lines[i] = r.item
			}
			err := store.Jobs.AppendJobLogs(context.WithoutCancel(batch[0].ctx), lines)
			for _, r := range batch {
				if err != nil && len(batch) > 1 { // one line's error is only its own
					r.done <- store.Jobs.AppendJobLogs(context.WithoutCancel(r.ctx), []models.JobLog{r.item})
					continue
				}
				r.done <- err
			}
		},
	}
}
