package jobs

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/kilnhq/kiln/models"
)

// startMaintenance runs the periodic duties of a server. Until loopCtx ends (when Stop
// begins):
//   - reload which queues are paused (every PollInterval);
//   - fold the appended job count changes into the per-state totals (every 2 s);
//   - refresh the planner's statistics of the jobs table when far more jobs wait than it
//     expects (PostgreSQL; looked at every 5 s, at most once a minute);
//   - promote scheduled jobs that are due (every PollInterval);
//   - rescue the jobs of servers presumed dead: silent for three heartbeats, with their leases
//     run out (rescueLoop: every Lease/3, but not within three heartbeats of its start or of an
//     outage of its own), and its own claims that never reached it;
//   - store on the workflows' fan-outs being stored (storeFanOuts).
//
// Until aliveCtx ends, which Stop lets happen only once no job runs here any more, the duties
// that say this server and its jobs are alive, so that no other server takes back a job that is
// still running here, even while Stop drains:
//   - extend the leases of its running jobs (every Lease/3, one statement);
//   - stop running jobs that were cancelled, deleted or rescued elsewhere (every second);
//   - record itself in the server registry and drop servers silent for 12 heartbeats
//     (keepAlive).
func (e *Engine) startMaintenance(loopCtx, aliveCtx context.Context) {
	e.every(aliveCtx, &e.alive, e.cfg.Lease/3, "extend leases", e.extendLeases)
	e.every(aliveCtx, &e.alive, min(time.Second, e.cfg.PollInterval), "check running jobs", e.stopVanishedJobs)
	e.keepAlive(aliveCtx)
	e.every(loopCtx, &e.loops, e.cfg.PollInterval, "refresh paused queues", e.refreshPausedQueues)
	e.every(loopCtx, &e.loops, 2*time.Second, "fold job counts", e.store.Jobs.FoldJobCounts)
	e.every(loopCtx, &e.loops, 5*time.Second, "refresh the planner's statistics", func(ctx context.Context) error {
		_, err := e.store.Jobs.RefreshJobStatistics(ctx)
		return err
	})
	e.every(loopCtx, &e.loops, e.cfg.PollInterval, "promote scheduled jobs", func(ctx context.Context) error {
		for {
			n, queues, err := e.store.Jobs.PromoteScheduled(ctx, time.Now(), 1000)
			if err != nil || n == 0 {
				return err
			}
			e.wake(queues...)
			if n < 1000 {
				return nil
			}
		}
	})
	for _, d := range e.periodic {
		e.every(loopCtx, &e.loops, d.every, d.what, d.fn)
	}
	e.loops.Add(2)
	go func() { defer e.loops.Done(); e.rescueLoop(loopCtx) }()
	go func() { defer e.loops.Done(); e.storeFanOuts(loopCtx) }()
}

// periodicDuty is upkeep that lives outside the engine, run with its own duties (Periodic).
type periodicDuty struct {
	what  string
	every time.Duration
	fn    func(context.Context) error
}

// Periodic runs fn every d on this server from Start until Stop begins, as the engine's own
// upkeep is run: for upkeep of packages the engine can't know (the alerts' evaluator), which
// then starts and stops with it. A failure is logged as "jobs: <what> failed". Call it before
// Start.
func (e *Engine) Periodic(what string, d time.Duration, fn func(context.Context) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		return fmt.Errorf("jobs: periodic %s: the engine has started", what)
	}
	if d <= 0 {
		return fmt.Errorf("jobs: periodic %s: the interval must be positive, not %s", what, d)
	}
	e.periodic = append(e.periodic, periodicDuty{what: what, every: d, fn: fn})
	return nil
}

// rescueLoop rescues the jobs of servers presumed dead, every Lease/3: first, once this server
// has been up for three heartbeats (every live server had the time to say so), those of every
// silent server whatever their leases say; then those of silent servers whose leases ran out.
// After an outage of its own, it rescues nothing for three heartbeats again: the others' leases
// ran out as this server's did, and they are not dead.
func (e *Engine) rescueLoop(ctx context.Context) {
	mode := rescueFirst
	t := time.NewTimer(e.silence())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		t.Reset(e.cfg.Lease / 3)
		if !e.health.steady(time.Now()) {
			continue
		}
		callCtx, cancel := context.WithTimeout(ctx, max(e.cfg.Lease/3, dutyTimeout))
		err := e.rescue(callCtx, mode)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				e.logFailure("jobs: rescue failed", "err", err)
			}
			continue
		}
		mode = rescuePeriodic
	}
}

// rescueMode says what a rescue takes back.
type rescueMode int

const (
	// rescueAtStart takes this server's own running jobs: an earlier process's, with its id.
	rescueAtStart rescueMode = iota
	// rescueFirst, once up for three heartbeats, also takes those of every silent server.
	rescueFirst
	// rescuePeriodic takes those of silent servers whose leases ran out, and this server's
	// claims that never reached it.
	rescuePeriodic
)

// rescue takes back the jobs of servers presumed dead, and this server's own that it doesn't
// hold (see models.RescueParams and rescueMode).
func (e *Engine) rescue(ctx context.Context, mode rescueMode) error {
	const batch = 1000
	for {
		now := time.Now()
		p := models.RescueParams{
			Now: now, Limit: batch, MaxRescues: e.cfg.MaxRescues, Self: e.cfg.ServerID, SilentFor: e.silence(),
			Starting: mode == rescueAtStart, IgnoreLeases: mode == rescueFirst,
			ClaimedBefore: now, // at start, nothing runs here yet
		}
		if mode != rescueAtStart {
			p.Held, p.ClaimedBefore = e.held(), e.claims.before(now.Add(-e.cfg.Lease))
		}
		r, err := e.store.Jobs.RescueJobs(ctx, p)
		if err != nil {
			return err
		}
		if r.Requeued > 0 {
			e.log.Warn("jobs: put back the jobs of a server presumed dead", "jobs", r.Requeued)
		}
		if r.TakenBack > 0 {
			e.log.Warn("jobs: took back claims whose answer never reached this server", "jobs", r.TakenBack)
		}
		if len(r.Queues) > 0 {
			e.wake(r.Queues...)
		}
		if r.Failed > 0 {
			e.log.Error("jobs: failed jobs that crashed their servers too often", "jobs", r.Failed, "max_rescues", e.cfg.MaxRescues)
		}
		if n := r.Requeued + r.Failed; n > 0 && e.cfg.Observer != nil {
			e.cfg.Observer.JobsRescued(n)
		}
		if r.Requeued+r.Failed+r.TakenBack < batch {
			return nil
		}
	}
}

// every runs fn every d until ctx ends, logging its failures; wg counts the goroutine.
func (e *Engine) every(ctx context.Context, wg *sync.WaitGroup, d time.Duration, what string, fn func(context.Context) error) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				callCtx, cancel := context.WithTimeout(ctx, max(d, dutyTimeout))
				err := fn(callCtx)
				cancel()
				if err != nil && ctx.Err() == nil {
					e.logFailure("jobs: "+what+" failed", "err", err)
				}
			}
		}
	}()
}

// stopVanishedJobs cancels the contexts of running jobs the database no longer has Processing
// on this server.
func (e *Engine) stopVanishedJobs(ctx context.Context) error {
	e.mu.RLock()
	ids := make([]int64, 0, len(e.running))
	for id := range e.running {
		ids = append(ids, id)
	}
	e.mu.RUnlock()
	gone, err := e.store.Jobs.NotRunningHere(ctx, e.cfg.ServerID, ids)
	if err != nil {
		return err
	}
	for _, id := range gone {
		e.cancelLocal(id)
	}
	return nil
}

// cancelLocal cancels the context of a job running in this process, if it is.
func (e *Engine) cancelLocal(id int64) bool {
	e.mu.RLock()
	r, ok := e.running[id]
	e.mu.RUnlock()
	if ok {
		r.cancel(errNotRunning)
	}
	return ok
}

// heartbeatServer records this process in the server registry, and the kinds it registers.
func (e *Engine) heartbeatServer(ctx context.Context) error {
	host, _ := os.Hostname()
	workers, busy := 0, 0
	for _, p := range e.pools {
		workers += p.workers
		busy += int(p.busy.Load())
	}
	err := e.store.Servers.UpsertServer(ctx, &models.Server{
		ID: e.cfg.ServerID, Host: host, PID: os.Getpid(), StartedAt: e.startedAt(), // HeartbeatAt: the database's now
		Queues: FormatQueues(e.cfg.Queues), Workers: workers, Busy: busy, UnwrittenSince: e.unwrittenSince(),
	})
	if err != nil {
		return err
	}
	// Not the heartbeat's failure: that the database answers is what the heartbeat tells.
	if err := e.recordKinds(ctx); err != nil && ctx.Err() == nil {
		e.logFailure("jobs: record kinds failed", "err", err)
	}
	return nil
}

// unwrittenSince is when the oldest outcome waiting to be written was stamped, or nil.
func (e *Engine) unwrittenSince() *time.Time {
	e.mu.RLock()
	c := e.completer // nil before the first start
	e.mu.RUnlock()
	if c == nil {
		return nil
	}
	return c.unwrittenSince()
}

// extendLeases renews the lease of every job this server runs.
func (e *Engine) extendLeases(ctx context.Context) error {
	_, err := e.store.Jobs.ExtendLeases(ctx, e.cfg.ServerID, time.Now().Add(e.cfg.Lease))
	return err
}

// held returns the jobs this server runs, or holds the outcome of.
func (e *Engine) held() []int64 {
	// Running first: a worker hands its outcome to the completer before it leaves running, so a
	// job that moves from one to the other meanwhile is in the second read if not in the first.
	e.mu.RLock()
	ids := make([]int64, 0, len(e.running))
	for id := range e.running {
		ids = append(ids, id)
	}
	e.mu.RUnlock()
	return append(ids, e.completer.heldIDs()...)
}

// storeFanOuts stores on the workflows' fan-outs being stored, outside the finishes (see
// models' StoreFanOuts): those whose items or release this server's finishes saw, as soon as
// they commit, and those of every running run, at start and every Lease/3, for a server that
// died while it stored one (or a wake lost to an outage).
func (e *Engine) storeFanOuts(ctx context.Context) {
	sweep := time.NewTimer(0)
	defer sweep.Stop()
	for {
		all := false
		select {
		case <-ctx.Done():
			return
		case <-e.store.Workflows.FanOutsToStore():
		case <-sweep.C:
			all = true
			sweep.Reset(e.cfg.Lease / 3)
		}
		for more := true; more && ctx.Err() == nil; all = false { // a chunk at a time, each woken at once
			callCtx, cancel := context.WithTimeout(ctx, dutyTimeout)
			queues, again, err := e.store.Workflows.StoreFanOuts(callCtx, all)
			cancel()
			e.wake(queues...)
			if err != nil && ctx.Err() == nil {
				e.logFailure("jobs: store fan-outs failed", "err", err)
			}
			more = again && err == nil
		}
	}
}
