package jobs

import (
	"context"
	"slices"

	"github.com/kilnhq/kiln/models"
)

// Which kinds some server registers. Every server records its kinds when it starts and on each
// heartbeat, so that a node knows the kinds others work too. The engine's Enqueue takes any kind
// (an embedder's producer enqueues kinds only its workers' processes register); the API and the
// dashboard hold a person's or a script's new job to KnownKinds, where a typo shows at once.

// kindNames is the names of the kinds registered here.
func (e *Engine) kindNames() []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	names := make([]string, 0, len(e.kinds))
	for name := range e.kinds {
		names = append(names, name)
	}
	return names
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
	all := append(e.kindNames(), seen...)
	slices.Sort(all)
	return slices.Compact(all), nil
}
