package jobs

import (
	"sync"
	"time"
)

// inflight records the claims under way on this server, by the time each began. A claim's
// jobs carry that time (started_at), and until they are in running, this server holds them
// without knowing it: a rescue must not take them for claims whose answer was lost, however
// long the claim waited for a lock.
type inflight struct {
	mu     sync.Mutex
	next   uint64
	starts map[uint64]time.Time
}

// begin records a claim that begins at t; end(the id it returns) when its jobs run here.
func (f *inflight) begin(t time.Time) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.starts == nil {
		f.starts = map[uint64]time.Time{}
	}
	f.next++
	f.starts[f.next] = t
	return f.next
}

// end forgets a claim.
func (f *inflight) end(id uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.starts, id)
}

// before returns t, or the beginning of the oldest claim under way if that is earlier: claims
// of this server made before it may be taken back.
func (f *inflight) before(t time.Time) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, start := range f.starts {
		if start.Before(t) {
			t = start
		}
	}
	return t
}
