package models

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Every function here changes job states together with their JobEvent rows in one transaction,
// so a crash at any point leaves each job in a state it can recover from.

// IsRescue reports the event of a rescue: the job went back to its queue because its server
// died while running it.
func (e JobEvent) IsRescue() bool {
	return e.From == JobProcessing && e.To == JobEnqueued && strings.HasPrefix(e.Reason, rescueReason)
}

// crashedReason begins the reason (and the last error) of a job failed by a rescue, for
// crashing its servers too often.
const crashedReason = "crashed its server"

// takeBackReason begins the reason of a claim taken back: see RescueParams.
const takeBackReason = "taken back"

// IsTakeBack reports the event of a claim taken back by its own server, which never got it:
// the job went back to its queue without having run.
func (e JobEvent) IsTakeBack() bool {
	return e.From == JobProcessing && e.To == JobEnqueued && strings.HasPrefix(e.Reason, takeBackReason)
}

// DefaultMaxRescues is how many times a job whose server died while running it goes back to its
// queue before it is taken for a poison pill and failed: the figure Sidekiq Pro's super_fetch
// uses.
const DefaultMaxRescues = 3

// RescueParams says which running jobs to rescue, and how. Unless Starting, a job of another
// server is rescued when its server is presumed dead: silent for SilentFor (its last heartbeat is
// older, by the database's clock on PostgreSQL, or it left the registry) and the job's lease
// ended before Now (unless IgnoreLeases). Both must hold: a lease runs out while its server is
// cut off from the database as surely as when it died, and a server that has been heard from
// since is alive and will renew it.
//
// Self's own jobs are taken only when Self doesn't hold them (Held) and claimed them before
// ClaimedBefore: the server asking is alive, and runs the jobs it holds or keeps their outcomes
// until it can write them. One it doesn't hold is an earlier process's when Starting (the same
// server id: a crash, rescued as any), else a claim whose answer never reached it (the
// connection broke as the claim was written): taken back, as if never claimed.
type RescueParams struct {
	// Now is the time; jobs whose lease ended before it are rescued.
	Now time.Time
	// Limit bounds the jobs rescued in one call.
	Limit int
	// MaxRescues is how many times a job is put back; the rescue after that fails it.
	MaxRescues int
	// Self is the server asking.
	Self string
	// Held are the jobs Self runs or holds the outcome of.
	Held []int64
	// ClaimedBefore bounds the claims of Self's jobs it doesn't hold that are taken: a claim
	// younger than that may not have reached its worker yet. Zero: none is.
	ClaimedBefore time.Time
	// Starting says Self has just started: nothing runs there yet, and other servers may be
	// back from an outage Self did not see, so their jobs are left to a later call.
	Starting bool
	// SilentFor is how long another server must have been silent for its jobs to be rescued
	// (0: any, whatever its heartbeat says: the lease alone decides).
	SilentFor time.Duration
	// IgnoreLeases rescues the jobs of silent servers whatever their leases say: what a crashed
	// node held is taken back without waiting for its leases.
	IgnoreLeases bool
}

// Rescue is what RescueJobs did.
type Rescue struct {
	// Requeued jobs went back to their queue, Failed ones had crashed their servers too often.
	Requeued, Failed int
	// TakenBack are claims of Self that never reached it, back in their queue.
	TakenBack int
	// Queues got jobs.
	Queues []string
}

// rescueRow is a running job RescueJobs found to take back.
type rescueRow struct {
	ID         int64
	ServerID   string
	Attempt    int
	Queue      string
	Kind       string
	Rescues    int
	Runs       int
	StartedAt  *time.Time
	LeaseUntil *time.Time
}

// RescueJobs takes back Processing jobs whose server is presumed dead (see RescueParams). A
// crash is not the job's fault: each goes back to Enqueued without using an attempt, and its
// rescue count grows; a job already rescued MaxRescues times fails instead ("crashed its server
// N times"), so a job that kills its process can't take every node down in turn. A claim taken
// back goes back to Enqueued too, with no rescue counted. Every job keeps its place in its
// queue (run_at): it waited its turn once already. Everything is one transaction, with the
// events, counters, chart statistics and continuations.
func (s jobStore) RescueJobs(ctx context.Context, p RescueParams) (Rescue, error) {
	now := p.Now.UTC().Truncate(time.Microsecond)
	silentSince := s.silentSince(max(p.SilentFor, 0))
	var out Rescue
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		out = Rescue{}
		var rows []rescueRow
		held, err := json.Marshal(append([]int64{}, p.Held...)) // [] rather than null: none held
		if err != nil {
			return fmt.Errorf("models: find jobs to rescue: %w", err)
		}
		claimedBefore := p.ClaimedBefore.UTC().Truncate(time.Microsecond)
		if err := tx.Raw(s.sql.Rescue, p.Self, claimedBefore, string(held), !p.Starting, p.Self, now, p.IgnoreLeases, silentSince, p.Limit).
			Scan(&rows).Error; err != nil {
			return fmt.Errorf("models: find jobs to rescue: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		heard, err := lastHeartbeats(tx, rows)
		if err != nil {
			return err
		}
		var events []JobEvent
		failed := map[JobState][]int64{}
		counts := countDelta{}
		kinds := kindStatDelta{}
		for _, r := range rows {
			set, ev := rescueOf(r, p, now, heard)
			res := tx.Model(&Job{}).Where("id = ? AND state = ? AND server_id = ? AND runs = ?",
				r.ID, JobProcessing, r.ServerID, r.Runs).Updates(set)
			if res.Error != nil {
				return fmt.Errorf("models: rescue job %d: %w", r.ID, res.Error)
			}
			if res.RowsAffected == 0 {
				continue
			}
			counts.move(r.Queue, r.Kind, JobProcessing, ev.To, 1)
			events = append(events, ev)
			switch {
			case ev.IsTakeBack(): // no run: nothing for the run times
			case ev.To == JobFailed:
				kinds.add(r.Kind, ev.To, ev.Duration)
				out.Failed++
				failed[JobFailed] = append(failed[JobFailed], r.ID)
			default:
				kinds.add(r.Kind, ev.To, ev.Duration)
				out.Requeued++
			}
			if ev.IsTakeBack() {
				out.TakenBack++
			}
			if ev.To == JobEnqueued && !slices.Contains(out.Queues, r.Queue) {
				out.Queues = append(out.Queues, r.Queue)
			}
		}
		if len(events) == 0 {
			return nil
		}
		if err := tx.Create(&events).Error; err != nil {
			return fmt.Errorf("models: rescue events: %w", err)
		}
		// kind_stats before job_stats: the order PostgreSQL's finish statement locks them in
		// (it runs its data-modifying parts last first), lest a rescue and a finish of this
		// node, which share rows, deadlock.
		if err := s.addKindStats(tx, kinds, now); err != nil {
			return err
		}
		if err := s.addStats(tx, statDelta{failed: int64(out.Failed), rescued: int64(out.Requeued)}, now); err != nil {
			return err
		}
		if err := s.notifyEnqueued(tx, out.Queues...); err != nil {
			return err
		}
		more, err := s.releaseContinuations(tx, failed, now, counts)
		if err != nil {
			return err
		}
		for _, q := range more {
			if !slices.Contains(out.Queues, q) {
				out.Queues = append(out.Queues, q)
			}
		}
		return s.writeCounts(tx, counts)
	})
	if err != nil {
		return Rescue{}, err
	}
	s.fanOuts.signal() // of fan-outs whose items, or release, it saw
	return out, nil
}

// rescueOf is what a rescue changes of a job's row, and the event that records it.
func rescueOf(r rescueRow, p RescueParams, now time.Time, heard map[string]time.Time) (map[string]any, JobEvent) {
	cause := rescueCause(r.ServerID, p, r.LeaseUntil, now, heard)
	ev := JobEvent{JobID: r.ID, From: JobProcessing, To: JobEnqueued, At: now, Attempt: r.Attempt, Error: cause, ServerID: r.ServerID}
	if r.StartedAt != nil { // the run's claim is not stored: it began Duration before (History), which is not how long it ran
		ev.Duration = now.Sub(*r.StartedAt)
	}
	switch {
	case r.ServerID == p.Self && !p.Starting:
		ev.Reason = takeBackReason + ": " + cause + "; it never ran, and this claim is not counted"
		return map[string]any{"state": JobEnqueued, "lease_until": nil, "last_error": cause, "attempt": r.Attempt - 1}, ev
	case r.Rescues >= p.MaxRescues:
		ev.To = JobFailed
		ev.Reason = fmt.Sprintf("%s %s (%s); not put back after %s", crashedReason, times(r.Rescues+1), cause, plural(p.MaxRescues, "rescue"))
		return map[string]any{"state": JobFailed, "lease_until": nil, "finished_at": now, "last_error": ev.Reason}, ev
	}
	ev.Reason = fmt.Sprintf("%s (%d of %d): %s; this attempt is not counted, and what the run did after its server's last word is unknown",
		rescueReason, r.Rescues+1, p.MaxRescues, cause)
	return map[string]any{"state": JobEnqueued, "lease_until": nil, "last_error": cause, "attempt": r.Attempt - 1, "rescues": r.Rescues + 1}, ev
}

// lastHeartbeats returns the last heartbeat of each server rows name, of those still in the
// registry.
func lastHeartbeats(tx *gorm.DB, rows []rescueRow) (map[string]time.Time, error) {
	var ids []string
	for _, r := range rows {
		if !slices.Contains(ids, r.ServerID) {
			ids = append(ids, r.ServerID)
		}
	}
	var servers []Server
	if err := tx.Select("id", "heartbeat_at").Where("id IN ?", ids).Find(&servers).Error; err != nil {
		return nil, fmt.Errorf("models: servers of jobs to rescue: %w", err)
	}
	heard := make(map[string]time.Time, len(servers))
	for _, srv := range servers {
		heard[srv.ID] = srv.HeartbeatAt
	}
	return heard, nil
}

// rescueCause says why a running job of server is taken back: what its server last said.
func rescueCause(server string, p RescueParams, leaseUntil *time.Time, now time.Time, heard map[string]time.Time) string {
	switch {
	case server == p.Self && p.Starting:
		return fmt.Sprintf("server %s started again: this run is its earlier process's, which ended without a word", server)
	case server == p.Self:
		return fmt.Sprintf("server %s claimed the job but never got it: the answer to its claim was lost", server)
	}
	last := fmt.Sprintf("its last heartbeat was %s ago", now.Sub(heard[server]).Round(time.Second))
	if _, ok := heard[server]; !ok {
		last = "it left the server registry"
	}
	if leaseUntil != nil && leaseUntil.Before(now) {
		return fmt.Sprintf("lease expired: server %s presumed dead (the lease ran out %s ago, and %s)", server, now.Sub(*leaseUntil).Round(time.Second), last)
	}
	return fmt.Sprintf("server %s stopped sending heartbeats: presumed dead (%s)", server, last)
}
