// Package groupcommit gives concurrent writes one transaction between them (group commit): the
// engine's single enqueues and job logs, and the web server's audit entries.
package groupcommit

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
)

// Group is a group commit. The first caller of Do leads: it writes every request waiting by
// then in one call of Write, then hands the lead to the first request that arrived meanwhile.
// Nothing waits on a timer, so a lone write costs what it did; under load, many share a commit
// (SQLite writes one transaction at a time, PostgreSQL commits each with a WAL flush).
type Group[T, R any] struct {
	// Write stores the batch and answers every request in it on its Done channel.
	Write func(batch []*Req[T, R])
	// Size is a request's weight against Max (nil: 1 each); Max bounds one batch.
	Size func(T) int
	Max  int
	// Failed is the answer to the requests of a batch whose write panicked.
	Failed func(error) R

	mu      sync.Mutex
	pending []*Req[T, R]
	busy    bool // a leader is writing
}

// Req is one caller's request in a batch.
type Req[T, R any] struct {
	Ctx  context.Context
	Item T
	Done chan R        // buffered: the leader never blocks on it
	lead chan struct{} // buffered: told to lead the next batch
}

// Do writes item, in a transaction shared with concurrent callers, and returns its result.
func (g *Group[T, R]) Do(ctx context.Context, item T) R {
	req := &Req[T, R]{Ctx: ctx, Item: item, Done: make(chan R, 1), lead: make(chan struct{}, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, req)
	if g.busy {
		g.mu.Unlock()
		select {
		case res := <-req.Done:
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
	g.mu.Unlock()

	g.writeSafely(batch)

	g.mu.Lock()
	if len(g.pending) > 0 {
		g.pending[0].lead <- struct{}{}
	} else {
		g.busy = false
	}
	g.mu.Unlock()
	return <-req.Done
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
