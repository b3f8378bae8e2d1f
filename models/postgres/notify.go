package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
)

// Every transaction that makes jobs of a queue ready to run (inserted, promoted, rescued,
// requeued, released, or continuations let go) sends a NOTIFY, which PostgreSQL delivers at
// commit to every Kiln node that LISTENs: an idle node's fetcher claims the job at once instead
// of at its next poll. Polling stays as the fallback, should a notification be lost with a
// dropped connection. The payload is "<origin> <queue>": a store ignores its own
// notifications, since its engine already woke its fetchers.

// notifyChannel is the channel of a schema's job notifications: nodes on other schemas of the
// same database (tests, say) don't hear each other.
func notifyChannel(schema string) string { return "kiln_jobs." + schema }

// Notify tells the other nodes that jobs of queues are ready (delivered when tx commits, and not
// at all if it rolls back).
func (d *Driver) Notify(tx *gorm.DB, queues []string) error {
	seen := make(map[string]bool, len(queues))
	for _, q := range queues {
		if seen[q] {
			continue
		}
		seen[q] = true
		if err := tx.Exec("SELECT pg_notify(?, ?)", d.channel, d.origin+" "+q).Error; err != nil {
			return fmt.Errorf("models: notify: %w", err)
		}
	}
	return nil
}

// Listen holds a connection of its own, LISTENing on the store's channel, and calls wake with
// the queue of each notification from another store until ctx ends or the connection fails. It
// calls wake("") once it listens: jobs made ready while it didn't were missed.
func (d *Driver) Listen(ctx context.Context, wake func(queue string), connected func()) error {
	conn, err := pgx.Connect(ctx, d.dsn)
	if err != nil {
		return fmt.Errorf("models: listen: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{d.channel}.Sanitize()); err != nil {
		return fmt.Errorf("models: listen: %w", err)
	}
	connected()
	wake("")
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("models: listen: %w", err)
		}
		origin, queue, ok := strings.Cut(n.Payload, " ")
		if ok && origin != d.origin {
			wake(queue)
		}
	}
}
