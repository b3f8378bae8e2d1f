package models

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
)

// On PostgreSQL, every transaction that makes jobs of a queue ready to run (inserted, promoted,
// rescued, requeued, released, or continuations let go) sends a NOTIFY, which PostgreSQL
// delivers at commit to every Kiln node that LISTENs: an idle node's fetcher claims the job at
// once instead of at its next poll. Polling stays as the fallback, should a notification be lost
// with a dropped connection. The payload is "<origin> <queue>": a store ignores its own
// notifications, since its engine already woke its fetchers.

// notifyChannel is the channel of a schema's job notifications: nodes on other schemas of the
// same database (tests, say) don't hear each other.
func notifyChannel(schema string) string { return "kiln_jobs." + schema }

// newOrigin names this store in its notifications.
func newOrigin() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// notifyEnqueued tells the other nodes that jobs of queues are ready (PostgreSQL only; delivered
// when tx commits, and not at all if it rolls back).
func (s *Store) notifyEnqueued(tx *gorm.DB, queues ...string) error {
	if s.dialect != DialectPostgres {
		return nil
	}
	seen := make(map[string]bool, len(queues))
	for _, q := range queues {
		if seen[q] {
			continue
		}
		seen[q] = true
		if err := tx.Exec("SELECT pg_notify(?, ?)", s.channel, s.origin+" "+q).Error; err != nil {
			return fmt.Errorf("models: notify: %w", err)
		}
	}
	return nil
}

// ListenForJobs calls wake with the queue of every job another node makes ready, until ctx
// ends. It keeps one connection of its own, and reconnects (waiting up to 5 s between attempts)
// when it drops. On SQLite, where one process owns the database, it just waits for ctx.
func (s *Store) ListenForJobs(ctx context.Context, wake func(queue string), onError func(error)) {
	if s.dialect != DialectPostgres {
		<-ctx.Done()
		return
	}
	for pause := 100 * time.Millisecond; ctx.Err() == nil; pause = min(2*pause, 5*time.Second) {
		err := s.listen(ctx, wake, func() { pause = 100 * time.Millisecond })
		if ctx.Err() != nil {
			return
		}
		onError(err)
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
}

func (s *Store) listen(ctx context.Context, wake func(string), connected func()) error {
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		return fmt.Errorf("models: listen: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return fmt.Errorf("models: listen: %w", err)
	}
	connected()
	// Jobs made ready while this connection was down were missed: look for them now.
	wake("")
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("models: listen: %w", err)
		}
		origin, queue, ok := strings.Cut(n.Payload, " ")
		if ok && origin != s.origin {
			wake(queue)
		}
	}
}
