// Package groupcommit gives concurrent writes one transaction between them (group commit): the
// engine's single enqueues and job logs, and the web server's audit entries.
package groupcommit

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
)

// Group is a group commit. A caller of Do that finds a writer free writes its own request, in
// one call of Write (a writer is free only when no request waits); the requests that arrive
// meanwhile queue, and when a write is done the next batch of them, as many as fit in Max, goes
// to its first request's caller, who writes it. Nothing waits on a timer, so a lone
// write costs what it did; under load, many share a commit (SQLite writes one transaction at a
// time, PostgreSQL commits each with a WAL flush).
type Group[T, R any] struct {
	// Write stores the batch and answers every request in it on its Done channel.
	Write func(batch []*Req[T, R])
	// Size is a request's weight against Max (nil: 1 each); Max bounds one batch.
	Size func(T) int
	Max  int
	// Writers is how many batches may be written at once (0: one). A database that runs
	// transactions side by side (PostgreSQL) overlaps one batch's round trips with another's.
	Writers int
	// Failed is the answer to the requests of a batch whose write panicked.
	Failed func(error) R

	mu      sync.Mutex
	pending []*Req[T, R]
	writing int // batches being written
}

// Req is one caller's request in a batch.
type Req[T, R any] struct {
	Ctx  context.Context
	Item T
	Done chan R            // buffered: the writer never blocks on it
	lead chan []*Req[T, R] // buffered: a batch, this request first, for its caller to write
}

// Do writes item, in a transaction shared with concurrent callers, and returns its result.
func (g *Group[T, R]) Do(ctx context.Context, item T) R {
	req := &Req[T, R]{Ctx: ctx, Item: item, Done: make(chan R, 1), lead: make(chan []*Req[T, R], 1)}
	g.mu.Lock()
	g.pending = append(g.pending, req)
	if g.writing < max(1, g.Writers) {
		g.writing++
		batch := g.take()
		g.mu.Unlock()
		g.write(batch)
	} else {
		g.mu.Unlock()
	}
	for {
		select {
		case res := <-req.Done:
			return res
		case batch := <-req.lead: // a batch that starts with this request
			g.write(batch)
		}
	}
}

// write writes batch, then hands the next batch, taken now, to its first request's caller (a
// batch is taken once, whoever writes it), or frees the writer when none waits.
func (g *Group[T, R]) write(batch []*Req[T, R]) {
	g.writeSafely(batch)
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.pending) == 0 {
		g.writing--
		return
	}
	next := g.take()
	next[0].lead <- next
}

// take removes the next batch from pending: at least one request, and as many more as fit in
// Max. g.mu is held.
func (g *Group[T, R]) take() []*Req[T, R] {
	n, weight := 0, 0
	for ; n < len(g.pending); n++ {
		w := 1
		if g.Size != nil {
			w = g.Size(g.pending[n].Item)
		}
		if n > 0 && weight+w > g.Max {
			break
		}
		weight += w
	}
	batch := append([]*Req[T, R](nil), g.pending[:n]...)
	g.pending = append(g.pending[:0:0], g.pending[n:]...)
	return batch
}

// writeSafely writes a batch; a panic in Write answers every request of the batch not yet
// answered with an error instead of leaving them, and every later caller, waiting for ever.
func (g *Group[T, R]) writeSafely(batch []*Req[T, R]) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		res := g.Failed(fmt.Errorf("groupcommit: write panicked: %v\n%s", v, debug.Stack()))
		for _, r := range batch {
			select {
			case r.Done <- res:
			default: // answered before the panic
			}
		}
	}()
	g.Write(batch)
}
