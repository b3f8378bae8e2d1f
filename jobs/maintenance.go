package jobs

import (
	"context"
	"os"
	"time"

	"github.com/kilnhq/kiln/models"
)

// startMaintenance runs the periodic duties of a server until ctx ends:
//   - extend the leases of its running jobs (every Lease/3, one statement);
//   - stop running jobs that were cancelled, deleted or rescued elsewhere (every second);
//   - reload which queues are paused (every PollInterval);
//   - fold the appended job count changes into the per-state totals (every 2 s);
//   - promote scheduled jobs that are due (every PollInterval);
//   - rescue jobs whose lease ran out (every Lease/3; Start also rescues the jobs of servers
//     whose heartbeat stopped);
//   - record itself in the server registry and drop servers silent for 12 heartbeats.
func (e *Engine) startMaintenance(ctx context.Context) {
	e.every(ctx, e.cfg.Lease/3, "extend leases", func(ctx context.Context) error {
		_, err := e.store.ExtendLeases(ctx, e.cfg.ServerID, time.Now().Add(e.cfg.Lease))
		return err
	})
	e.every(ctx, min(time.Second, e.cfg.PollInterval), "check running jobs", e.stopVanishedJobs)
	e.every(ctx, e.cfg.PollInterval, "refresh paused queues", e.refreshPausedQueues)
	e.every(ctx, 2*time.Second, "fold job counts", e.store.FoldJobCounts)
	e.every(ctx, e.cfg.PollInterval, "promote scheduled jobs", func(ctx context.Context) error {
		for {
			n, queues, err := e.store.PromoteScheduled(ctx, time.Now(), 1000)
			if err != nil || n == 0 {
				return err
			}
			e.wake(queues...)
			if n < 1000 {
				return nil
			}
		}
	})
	e.every(ctx, e.cfg.Lease/3, "rescue expired leases", func(ctx context.Context) error {
		return e.rescue(ctx, time.Time{})
	})
	e.every(ctx, e.cfg.ServerHeartbeat, "server heartbeat", func(ctx context.Context) error {
		if err := e.heartbeatServer(ctx); err != nil {
			return err
		}
		_, err := e.store.DeleteStaleServers(ctx, time.Now().Add(-12*e.cfg.ServerHeartbeat))
		return err
	})
}

// rescue takes back the jobs of servers presumed dead: those whose lease ran out and, when
// deadBefore is set, those of servers whose last heartbeat is older than it.
func (e *Engine) rescue(ctx context.Context, deadBefore time.Time) error {
	const batch = 1000
	for {
		r, err := e.store.RescueJobs(ctx, models.RescueParams{
			Now: time.Now(), Limit: batch, MaxRescues: e.cfg.maxRescues(), DeadBefore: deadBefore, Except: e.cfg.ServerID,
		})
		if err != nil {
			return err
		}
		if r.Requeued > 0 {
			e.log.Warn("jobs: put back the jobs of a server presumed dead", "jobs", r.Requeued)
			e.wake(r.Queues...)
		}
		if r.Failed > 0 {
			e.log.Error("jobs: failed jobs that crashed their servers too often", "jobs", r.Failed, "max_rescues", e.cfg.maxRescues())
		}
		if r.Requeued+r.Failed < batch {
			return nil
		}
	}
}

// every runs fn every d until ctx ends, logging its failures.
func (e *Engine) every(ctx context.Context, d time.Duration, what string, fn func(context.Context) error) {
	e.loops.Add(1)
	go func() {
		defer e.loops.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := fn(ctx); err != nil && ctx.Err() == nil {
					e.log.Error("jobs: "+what+" failed", "err", err)
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
	gone, err := e.store.NotRunningHere(ctx, e.cfg.ServerID, ids)
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

// heartbeatServer records this process in the server registry.
func (e *Engine) heartbeatServer(ctx context.Context) error {
	host, _ := os.Hostname()
	workers, busy := 0, 0
	for _, p := range e.pools {
		workers += p.workers
		busy += int(p.busy.Load())
	}
	return e.store.UpsertServer(ctx, &models.Server{
		ID: e.cfg.ServerID, Host: host, PID: os.Getpid(), StartedAt: e.startedAt(), HeartbeatAt: time.Now().UTC(),
		Queues: FormatQueues(e.cfg.Queues), Workers: workers, Busy: busy,
	})
}
