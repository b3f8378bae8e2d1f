package models

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/kilnhq/kiln/models/driver"
)

// notifyEnqueued tells the other nodes that jobs of queues are ready, when tx commits (through
// the driver: PostgreSQL's NOTIFY; nothing on SQLite, whose one process wakes itself).
func (s *conn) notifyEnqueued(tx *gorm.DB, queues ...string) error {
	return s.drv.Notify(tx, queues)
}

// ListenForJobs calls wake with the queue of every job another node makes ready (wake("") after
// each reconnection: jobs made ready meanwhile were missed), until ctx ends. It reconnects,
// waiting up to 5 s between attempts, when its connection drops, and reports each failure to
// onError. On a database without notifications (SQLite) it just waits for ctx.
func (s jobStore) ListenForJobs(ctx context.Context, wake func(queue string), onError func(error)) {
	for pause := 100 * time.Millisecond; ctx.Err() == nil; pause = min(2*pause, 5*time.Second) {
		err := s.drv.Listen(ctx, wake, func() { pause = 100 * time.Millisecond })
		if errors.Is(err, driver.ErrNoListen) {
			<-ctx.Done()
			return
		}
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
