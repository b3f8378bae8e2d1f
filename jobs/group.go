package jobs

import (
	"context"
	"sync"
	"time"

	"github.com/kilnhq/kiln/models"
)

// groupInserter gives concurrent single-job enqueues one transaction between them (group
// commit). The first caller leads: it writes every request waiting by then in one
// InsertJobs, then hands the lead to the first request that arrived meanwhile. Nothing waits
// on a timer, so a lone enqueue costs what it did; under load, many share a commit (SQLite
// writes one transaction at a time, PostgreSQL commits each with a WAL flush).
type groupInserter struct {
	store   Store
	mu      sync.Mutex
	pending []*insertReq
	busy    bool // a leader is writing
}

type insertReq struct {
	ctx  context.Context
	jobs []*models.Job
	done chan insertRes // buffered: the leader never blocks on it
	lead chan struct{}  // buffered: told to lead the next batch
}

type insertRes struct {
	dups []int
	err  error
}

// maxGroup bounds the jobs of one group commit.
const maxGroup = 256

// insert stores jobs, in a transaction shared with concurrent callers, and reports which were
// duplicates of jobs stored before (see models.Store.InsertJobs).
func (g *groupInserter) insert(ctx context.Context, jobs []*models.Job) ([]int, error) {
	req := &insertReq{ctx: ctx, jobs: jobs, done: make(chan insertRes, 1), lead: make(chan struct{}, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, req)
	if g.busy {
		g.mu.Unlock()
		select {
		case res := <-req.done:
			return res.dups, res.err
		case <-req.lead: // lead the next batch: it starts with this request
		}
	} else {
		g.busy = true
		g.mu.Unlock()
	}
	g.mu.Lock()
	n := 0
	for jobs := 0; n < len(g.pending) && (n == 0 || jobs+len(g.pending[n].jobs) <= maxGroup); n++ {
		jobs += len(g.pending[n].jobs)
	}
	batch := append([]*insertReq(nil), g.pending[:n]...)
	g.pending = append(g.pending[:0:0], g.pending[n:]...)
	g.mu.Unlock()

	g.write(batch)

	g.mu.Lock()
	if len(g.pending) > 0 {
		g.pending[0].lead <- struct{}{}
	} else {
		g.busy = false
	}
	g.mu.Unlock()
	res := <-req.done
	return res.dups, res.err
}

// write stores a batch of requests in one transaction, or, when that fails, each on its own so
// that one request's error is only its own.
func (g *groupInserter) write(batch []*insertReq) {
	// Another caller's cancellation must not undo this one's write: the transaction is short.
	ctx := context.WithoutCancel(batch[0].ctx)
	if len(batch) == 1 {
		dups, err := g.store.InsertJobs(ctx, batch[0].jobs, time.Now())
		batch[0].done <- insertRes{dups, err}
		return
	}
	var all []*models.Job
	for _, r := range batch {
		all = append(all, r.jobs...)
	}
	dups, err := g.store.InsertJobs(ctx, all, time.Now())
	if err != nil {
		for _, r := range batch {
			dups, err := g.store.InsertJobs(context.WithoutCancel(r.ctx), r.jobs, time.Now())
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
		for i := range r.jobs {
			r.jobs[i] = all[off+i] // a duplicate's entry is now the job that holds the key
			if isDup[off+i] {
				mine = append(mine, i)
			}
		}
		off += len(r.jobs)
		r.done <- insertRes{dups: mine}
	}
}
