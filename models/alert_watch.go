package models

import (
	"fmt"
	"slices"
	"time"
)

// The reads of the rules on work that is stuck, backed up or unworked. Each is bounded: the
// running jobs are as many as the workers (idx_jobs_state_id), the waiting ones are read
// through idx_jobs_waiting up to a cap, and the queues with work waiting come from the
// counters.

// MaxBacklogCounted caps the waiting jobs a backlog rule counts in one evaluation: "more than
// 100,000" says enough, and counting a million would cost the evaluation its bound.
const MaxBacklogCounted = 100_000

// RunningLonger groups by subject the scope's jobs running since before startedBefore, at most
// limit subjects.
func (a *AlertTx) RunningLonger(sc AlertScope, startedBefore time.Time, limit int) ([]SubjectFailures, error) {
	col, _ := subject(sc.Scope)
	var out []SubjectFailures
	q := sc.jobs(a.tx).Select(col+" AS subject, count(*) AS count, max(jobs.id) AS last_job_id").
		Where("jobs.state = ? AND jobs.started_at < ?", JobProcessing, startedBefore.UTC()).
		Group(col).Order(col).Limit(limit)
	if err := q.Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("models: read long runs: %w", err)
	}
	return out, nil
}

// WaitingLonger groups by subject the scope's enqueued jobs due before dueBefore, counting at
// most MaxBacklogCounted of them, at most limit subjects.
func (a *AlertTx) WaitingLonger(sc AlertScope, dueBefore time.Time, limit int) ([]SubjectFailures, error) {
	col, _ := subject(sc.Scope)
	inner := sc.jobs(a.tx).Select(col+" AS subject, jobs.id AS id").
		Where("jobs.state = 'enqueued' AND jobs.run_at < ?", dueBefore.UTC()).Limit(MaxBacklogCounted) // literal: idx_jobs_waiting
	var out []SubjectFailures
	err := a.tx.Table("(?) AS waiting", inner).Select("subject, count(*) AS count, max(id) AS last_job_id").
		Group("subject").Order("subject").Limit(limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("models: read the backlog: %w", err)
	}
	return out, nil
}

// StuckJobs returns the first n jobs of the scope in state (processing or enqueued) since
// before the given time: started before it, or due before it.
func (a *AlertTx) StuckJobs(sc AlertScope, state JobState, before time.Time, n int) ([]Job, error) {
	col, where := "jobs.run_at", "jobs.state = 'enqueued' AND jobs.run_at < ?" // literal: idx_jobs_waiting
	if state == JobProcessing {
		col, where = "jobs.started_at", "jobs.state = 'processing' AND jobs.started_at < ?"
	}
	var out []Job
	err := sc.jobs(a.tx).Select("jobs.*").Where(where, before.UTC()).
		Order(col + ", jobs.id").Limit(n).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("models: read stuck jobs: %w", err)
	}
	return out, nil
}

// LiveServers returns the servers heard from within the last d, by the clock heartbeats are
// written with (the database's on PostgreSQL), as the registry judges them.
func (a *AlertTx) LiveServers(d time.Duration) ([]Server, error) {
	var out []Server
	if err := a.tx.Where("heartbeat_at >= ?", a.conn.silentSince(d)).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: read live servers: %w", err)
	}
	return out, nil
}

// QueuesWaiting names the queues with jobs enqueued, from the counters.
func (a *AlertTx) QueuesWaiting() ([]string, error) {
	counts, err := jobQueries{a.conn}.CountJobsByQueue(a.tx.Statement.Context)
	if err != nil {
		return nil, err
	}
	var out []string
	for q, byState := range counts {
		if byState[JobEnqueued] > 0 {
			out = append(out, q)
		}
	}
	slices.Sort(out)
	return out, nil
}

// FailuresHorizon is the time before which every failure that will ever be written is written
// (by the clock finished_at is stamped with), short of the margin the caller subtracts: the
// oldest of now, any server's oldest outcome stamped and not yet written (Server.UnwrittenSince,
// told at each heartbeat), and the last heartbeat of any server that still has jobs running in
// the database. That last one covers a server cut off from the database (an outage, a
// partition): its outcomes since its last heartbeat are unknown until it is back, or until
// its jobs are taken back by a rescue, after which they could no longer be written.
func (a *AlertTx) FailuresHorizon(now time.Time) (time.Time, error) {
	var waiting []Server
	if err := a.tx.Select("id", "unwritten_since").Where("unwritten_since IS NOT NULL").Find(&waiting).Error; err != nil {
		return now, fmt.Errorf("models: read servers' unwritten outcomes: %w", err)
	}
	for _, s := range waiting {
		if s.UnwrittenSince.Before(now) {
			now = *s.UnwrittenSince
		}
	}
	var running []Server
	err := a.tx.Select("id", "heartbeat_at").
		Where("EXISTS (SELECT 1 FROM jobs WHERE jobs.state = ? AND jobs.server_id = servers.id)", JobProcessing).
		Find(&running).Error
	if err != nil {
		return now, fmt.Errorf("models: read servers' heartbeats: %w", err)
	}
	for _, s := range running {
		if s.HeartbeatAt.Before(now) {
			now = s.HeartbeatAt
		}
	}
	return now.UTC(), nil
}
