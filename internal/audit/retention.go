// Package audit keeps the audit trail's retention: old entries are deleted, in batches, by a
// periodic duty of the job engine on every node, each batch leaving a checkpoint from which
// the rest of the chain still verifies (models.AuditStore.PruneAudit). What is recorded, and
// when, is the web server's.
package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// Defaults of Config.
const (
	// DefaultRetention keeps a year of entries: long enough to answer "who paused it last
	// quarter", apart from the jobs' far shorter retention.
	DefaultRetention = 365 * 24 * time.Hour
	// DefaultEvery is how often each node prunes.
	DefaultEvery = time.Hour
)

// pruneBatch is how many entries one transaction deletes: short transactions, so appends
// (which wait for the same lock) never wait long.
const pruneBatch = 1000

// Config configures the audit trail's retention. The zero value of every field means its
// default.
type Config struct {
	// Retention is how long entries are kept. Default DefaultRetention.
	Retention time.Duration
	// Every is how often old entries are deleted. Default DefaultEvery.
	Every time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.Every == 0 {
		c.Every = DefaultEvery
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports a setting that can't work, naming its flag.
func (c Config) Validate() error {
	if c = c.withDefaults(); c.Retention < time.Hour {
		return fmt.Errorf("--audit-retention must be at least 1h, not %s", c.Retention)
	}
	return nil
}

// Prune deletes the entries older than the retention, and returns how many it deleted.
func Prune(ctx context.Context, store models.AuditStore, cfg Config) (int64, error) {
	cfg = cfg.withDefaults()
	return store.PruneAudit(ctx, cfg.Now().Add(-cfg.Retention), pruneBatch)
}

// Register makes pruning one of e's periodic duties; call it before e starts.
func Register(e *jobs.Engine, store models.AuditStore, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	return e.Periodic("prune the audit trail", cfg.Every, func(ctx context.Context) error {
		_, err := Prune(ctx, store, cfg)
		return err
	})
}
