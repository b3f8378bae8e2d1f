package jobs

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// dbHealth is what this server's heartbeat learnt of the database: whether it answers, and
// since when. Only the heartbeat decides it: a write refused for its own reasons says nothing
// of the database as a whole.
type dbHealth struct {
	mu     sync.Mutex
	down   bool
	downAt time.Time // when the heartbeat first failed, while down
	upAt   time.Time // when the heartbeat last succeeded after failing (zero: it never failed)
	lastOK time.Time // when the heartbeat last succeeded
}

// fail records a failed heartbeat and reports whether it is the first of an outage.
func (h *dbHealth) fail(now time.Time) (first bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down {
		return false
	}
	h.down, h.downAt = true, now
	return true
}

// ok records a heartbeat that succeeded; when it ends an outage, it says how long that lasted.
func (h *dbHealth) ok(now time.Time) (outage time.Duration, back bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastOK = now
	if !h.down {
		return 0, false
	}
	h.down, h.upAt = false, now
	return now.Sub(h.downAt), true
}

// isDown reports whether the last heartbeat failed.
func (h *dbHealth) isDown() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.down
}

// steady reports whether the database has answered every heartbeat for at least d (or since
// the start, if it never failed).
func (h *dbHealth) steady(now time.Time, d time.Duration) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.down && (h.upAt.IsZero() || now.Sub(h.upAt) >= d)
}

// answeredSince reports whether a heartbeat succeeded after t.
func (h *dbHealth) answeredSince(t time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastOK.After(t)
}

// logFailure logs a periodic duty's failure as an error, or only for debugging while the
// database does not answer: the heartbeat said so once, for all of them.
func (e *Engine) logFailure(msg string, args ...any) {
	level := slog.LevelError
	if e.health.isDown() {
		level = slog.LevelDebug
	}
	e.log.Log(context.Background(), level, msg, args...)
}

// silence is how long a server must have been silent to be presumed dead: three heartbeats,
// what the dashboard calls "possibly down". It is also how long a server that lost the database
// waits, once it answers again, before it takes back anybody's jobs: long enough for every live
// server to have said so first.
func (e *Engine) silence() time.Duration { return 3 * e.cfg.ServerHeartbeat }

// keepAlive records this server in the registry every ServerHeartbeat until ctx ends. While
// the database does not answer, it tries every second, so that the end of an outage is seen
// at once; then, before anything else, it renews the leases of this server's jobs and has the
// outcomes that waited written, so that no other server takes them for a dead server's.
func (e *Engine) keepAlive(ctx context.Context) {
	e.alive.Add(1)
	go func() {
		defer e.alive.Done()
		t := time.NewTimer(e.cfg.ServerHeartbeat)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				t.Reset(e.beat(ctx))
			}
		}
	}()
}

// beat records this server once and returns when to do it again.
func (e *Engine) beat(ctx context.Context) time.Duration {
	now := time.Now()
	if err := e.heartbeatServer(ctx); err != nil {
		if ctx.Err() != nil {
			return e.cfg.ServerHeartbeat
		}
		if e.health.fail(now) {
			e.log.Warn("jobs: the database is not answering; running jobs go on, and their outcomes wait here until it answers", "err", err)
		}
		return min(e.cfg.ServerHeartbeat, time.Second)
	}
	if outage, back := e.health.ok(now); back {
		e.log.Info("jobs: the database answers again", "after", outage.Round(time.Millisecond), "waiting_outcomes", e.completer.waiting())
		if _, err := e.store.ExtendLeases(ctx, e.cfg.ServerID, time.Now().Add(e.cfg.Lease)); err != nil && ctx.Err() == nil {
			e.log.Error("jobs: extend leases failed", "err", err)
		}
		e.completer.retryNow()
	}
	// A server silent through an outage this server saw too is not dead: its entry stays until
	// it had the time to say so.
	if e.health.steady(now, e.silence()) {
		if _, err := e.store.DeleteStaleServers(ctx, 12*e.cfg.ServerHeartbeat); err != nil && ctx.Err() == nil {
			e.log.Error("jobs: remove stale servers failed", "err", err)
		}
	}
	return e.cfg.ServerHeartbeat
}
