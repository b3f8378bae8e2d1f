package jobs

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// dbHealth is what this server's heartbeat learnt of the database: whether it answers, and
// since when. Only the heartbeat decides it: a write refused for its own reasons says nothing
// of the database as a whole. A heartbeat that hangs (a network that drops packets) counts as
// an outage as soon as the last one that went through is older than the silence.
type dbHealth struct {
	mu      sync.Mutex
	silence time.Duration // three heartbeats
	down    bool
	downAt  time.Time // when the heartbeat first failed, while down
	upAt    time.Time // when this server last had the database back (or started)
	lastOK  time.Time // when the heartbeat last went through
}

// start records that the server starts: it knows nothing yet of what others went through.
func (h *dbHealth) start(now time.Time, silence time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.silence, h.upAt, h.lastOK = silence, now, now
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

// ok records a heartbeat that went through; when it ends an outage (heartbeats failed, or none
// went through for the silence), it says how long that lasted.
func (h *dbHealth) ok(now time.Time) (outage time.Duration, back bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	stale := now.Sub(h.lastOK) > h.silence
	from := h.lastOK
	if h.down {
		from = h.downAt
	}
	h.lastOK = now
	if !h.down && !stale {
		return 0, false
	}
	h.down, h.upAt = false, now
	return now.Sub(from), true
}

// isDown reports whether the last heartbeat failed.
func (h *dbHealth) isDown() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.down
}

// steady reports whether the database has answered every heartbeat for at least the silence:
// then every live server had the time to say so, and a silent one is presumed dead.
func (h *dbHealth) steady(now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.down && now.Sub(h.lastOK) <= h.silence && now.Sub(h.upAt) >= h.silence
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

// dutyTimeout is the least time a periodic duty's call to the database may take before it is
// given up: a network that drops packets makes calls hang rather than fail.
const dutyTimeout = 5 * time.Second

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
	// Bounded: a call that hangs must end, and count as the failure it is.
	callCtx, cancel := context.WithTimeout(ctx, max(e.silence(), dutyTimeout))
	err := e.heartbeatServer(callCtx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return e.cfg.ServerHeartbeat
		}
		if e.health.fail(now) {
			e.log.Warn("jobs: the database is not answering; running jobs go on, and their outcomes wait here until it answers", "err", err)
		}
		return min(e.cfg.ServerHeartbeat, time.Second)
	}
	if outage, back := e.health.ok(time.Now()); back {
		e.log.Info("jobs: the database answers again", "after", outage.Round(time.Millisecond), "waiting_outcomes", e.completer.waiting())
		// Before anything else: this server's leases, then the outcomes that waited (their
		// writers retry at once), then claims.
		if err := e.extendLeases(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("jobs: extend leases failed", "err", err)
		}
		e.completer.retryNow()
		e.wake()
	}
	// A server silent through an outage this server saw too is not dead: its entry stays until
	// it had the time to say so.
	if e.health.steady(time.Now()) {
		if _, err := e.store.Servers.DeleteStaleServers(ctx, 12*e.cfg.ServerHeartbeat); err != nil && ctx.Err() == nil {
			e.log.Error("jobs: remove stale servers failed", "err", err)
		}
	}
	return e.cfg.ServerHeartbeat
}
