package jobs

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/kilnhq/kiln/models"
)

// Which kinds some server registers. Every server records its kinds when it starts and on each
// heartbeat, so that a node knows the kinds others work too. The engine's Enqueue takes any kind
// (an embedder's producer enqueues kinds only its workers' processes register); the API and the
// dashboard hold a person's or a script's new job to KindKnown, where a typo shows at once.

// knownKindsFresh is how long KindKnown trusts a kind it found known without reading the
// database again: every single enqueue through the API asks, and a kind known for days is
// still known a minute later. A kind not found is looked for again each time, so that one a
// server just registered is taken at once.
const knownKindsFresh = time.Minute

// seenKinds is the last read of the kinds other servers registered.
type seenKinds struct {
	mu    sync.Mutex
	at    time.Time
	kinds map[string]bool
}

// kindNames is the names of the kinds registered here.
func (e *Engine) kindNames() []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return slices.Collect(maps.Keys(e.kinds))
}

// recordKinds records the kinds registered here as seen now.
func (e *Engine) recordKinds(ctx context.Context) error {
	return e.store.Servers.RecordKinds(ctx, e.kindNames())
}

// KnownKinds lists, by name, the kinds registered on this engine and those any server
// registered within models.KnownKindsWindow: the kinds some worker is there to run, or was
// lately (a fleet redeployed weekly stays known in between).
func (e *Engine) KnownKinds(ctx context.Context) ([]string, error) {
	seen, err := e.store.Servers.KindsSeen(ctx, models.KnownKindsWindow)
	if err != nil {
		return nil, err
	}
	set := make(map[string]bool, len(seen))
	for _, k := range seen {
		set[k] = true
	}
	e.seen.mu.Lock()
	e.seen.at, e.seen.kinds = time.Now(), set
	e.seen.mu.Unlock()
	all := append(e.kindNames(), seen...)
	slices.Sort(all)
	return slices.Compact(all), nil
}

// KindKnown reports whether kind is one of KnownKinds, from a read of the database at most
// knownKindsFresh old when it is.
func (e *Engine) KindKnown(ctx context.Context, kind string) (bool, error) {
	if _, ok := e.kind(kind); ok {
		return true, nil
	}
	e.seen.mu.Lock()
	hit := e.seen.kinds[kind] && time.Since(e.seen.at) < knownKindsFresh
	e.seen.mu.Unlock()
	if hit {
		return true, nil
	}
	known, err := e.KnownKinds(ctx)
	if err != nil {
		return false, err
	}
	return slices.Contains(known, kind), nil
}
