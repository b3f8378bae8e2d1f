package models

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
)

// Evaluating the rules. Each evaluation is one transaction that first takes the lease row
// (alert_evaluation): nodes' evaluations take turns, and one that finds the row written less
// than minGap ago leaves the tick to the node that did. Every alert row it opens, repeats or
// resolves, and every delivery job it enqueues (alerts.Deliver, in the same transaction), is
// written under that lease, so three nodes on one database send each message once. The
// queries read failed jobs through idx_jobs_failed_finished, which only failed jobs enter, and
// the other jobs through the indexes the engine keeps anyway; each is bounded.

// EvaluateAlerts runs fn in a transaction that holds the alerts' lease; ran is false when
// another node evaluated less than minGap before now.
func (s ruleStore) EvaluateAlerts(ctx context.Context, now time.Time, minGap time.Duration, fn func(tx *AlertTx) error) (ran bool, err error) {
	now = now.UTC().Truncate(time.Microsecond)
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Exec("UPDATE alert_evaluation SET evaluated_at = ? WHERE id = 1 AND evaluated_at <= ?", now, now.Add(-minGap))
		if res.Error != nil {
			return fmt.Errorf("models: take the alerts' lease: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return nil
		}
		ran = true
		return fn(&AlertTx{tx: tx, conn: s.conn})
	})
	return ran, err
}

// AlertTx is an evaluation's transaction: what the rules read, and the alerts they write.
type AlertTx struct {
	tx   *gorm.DB
	conn *conn
}

// DB is the transaction, for enqueueing the messages with the alert's change
// (alerts.Deliver).
func (a *AlertTx) DB() *gorm.DB { return a.tx }

// Rules returns the enabled rules.
func (a *AlertTx) Rules() ([]AlertRule, error) {
	var out []AlertRule
	if err := a.tx.Where("enabled = ?", true).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: read alert rules: %w", err)
	}
	return out, nil
}

// OpenAlerts returns the rule's open alerts by subject.
func (a *AlertTx) OpenAlerts(ruleID int64) (map[string]*Alert, error) {
	var rows []Alert
	if err := a.tx.Where("rule_id = ? AND state = ?", ruleID, AlertOpen).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("models: read open alerts: %w", err)
	}
	out := make(map[string]*Alert, len(rows))
	for i := range rows {
		out[rows[i].Subject] = &rows[i]
	}
	return out, nil
}

// SaveAlert inserts a new alert or updates one.
func (a *AlertTx) SaveAlert(al *Alert) error {
	if al.JobIDs == nil {
		al.JobIDs = []int64{}
	}
	if err := a.tx.Save(al).Error; err != nil {
		return fmt.Errorf("models: save alert: %w", err)
	}
	return nil
}

// PruneResolved deletes up to n alerts resolved before before, oldest first: history is kept
// as long as the jobs it links to (the jobs' retention).
func (a *AlertTx) PruneResolved(before time.Time, n int) (int64, error) {
	res := a.tx.Exec("DELETE FROM alerts WHERE id IN (SELECT id FROM alerts WHERE state = ? AND resolved_at < ? ORDER BY id LIMIT ?)",
		AlertResolved, before.UTC(), n)
	if res.Error != nil {
		return 0, fmt.Errorf("models: delete old alerts: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// SetCheckedUntil records how far the rule has looked at failures.
func (a *AlertTx) SetCheckedUntil(ruleID int64, t time.Time) error {
	if err := a.tx.Model(&AlertRule{}).Where("id = ?", ruleID).Update("checked_until", t.UTC().Truncate(time.Microsecond)).Error; err != nil {
		return fmt.Errorf("models: save alert rule's progress: %w", err)
	}
	return nil
}

// SubjectFailures is the failed jobs of one subject of a rule's scope in a span of time.
type SubjectFailures struct {
	Subject   string
	Count     int64
	LastJobID int64
}

// subject returns the SQL of a scope's subject and the join it needs.
func subject(scope string) (col, join string) {
	switch scope {
	case ScopeQueue:
		return "jobs.queue", ""
	case ScopeRecurring:
		return "recurring_jobs.name", " JOIN recurring_jobs ON recurring_jobs.id = jobs.recurring_id"
	default:
		return "jobs.kind", ""
	}
}

// AlertScope is the jobs a rule's query reads: those of a kind, queue or recurring entry
// (Scope) named Subject (all of them when it is empty), less those of ExceptKinds (the
// alerts' own deliveries, whose failures would otherwise feed the alerts they tell of).
type AlertScope struct {
	Scope       string
	Subject     string
	ExceptKinds []string
}

// jobs limits q to the scope's jobs.
func (sc AlertScope) jobs(q *gorm.DB) *gorm.DB {
	col, join := subject(sc.Scope)
	q = q.Table("jobs")
	if join != "" {
		q = q.Joins(join)
	}
	if sc.Subject != "" {
		q = q.Where(col+" = ?", sc.Subject)
	}
	if len(sc.ExceptKinds) > 0 {
		q = q.Where("jobs.kind NOT IN ?", sc.ExceptKinds)
	}
	return q
}

// failedIn selects the jobs that failed in a span of time; the literal state lets both
// databases use the partial index idx_jobs_failed_finished (a bound one would not on SQLite).
const failedIn = "jobs.state = 'failed' AND jobs.finished_at > ? AND jobs.finished_at <= ?"

// Failures groups by subject the jobs of the scope that failed for good in (after, until], at
// most limit subjects.
func (a *AlertTx) Failures(sc AlertScope, after, until time.Time, limit int) ([]SubjectFailures, error) {
	col, _ := subject(sc.Scope)
	var out []SubjectFailures
	q := sc.jobs(a.tx).
		Select(col+" AS subject, count(*) AS count, max(jobs.id) AS last_job_id").
		Where(failedIn, after.UTC(), until.UTC()).
		Group(col).Order(col).Limit(limit)
	if err := q.Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("models: read failures: %w", err)
	}
	return out, nil
}

// FailedJobs returns the first n jobs of the scope that failed for good in (after, until].
func (a *AlertTx) FailedJobs(sc AlertScope, after, until time.Time, n int) ([]Job, error) {
	var out []Job
	q := sc.jobs(a.tx).Select("jobs.*").
		Where(failedIn, after.UTC(), until.UTC()).
		Order("jobs.finished_at, jobs.id").Limit(n)
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: read failed jobs: %w", err)
	}
	return out, nil
}

// LastOutcomes returns the states of the scope's newest n jobs that succeeded or failed,
// newest first: "n in a row" holds when all are failed.
func (a *AlertTx) LastOutcomes(sc AlertScope, n int) ([]JobState, error) {
	var out []JobState
	q := sc.jobs(a.tx).
		Where("jobs.state IN ?", []JobState{JobSucceeded, JobFailed}).Order("jobs.id DESC").Limit(n)
	if err := q.Pluck("jobs.state", &out).Error; err != nil {
		return nil, fmt.Errorf("models: read last outcomes: %w", err)
	}
	return out, nil
}

// SucceededAfter reports whether job id, retried, or a job of the scope made after it
// succeeded: the failure was retried by hand and went well, or the next occurrence, or the
// next job of the kind or queue, did.
func (a *AlertTx) SucceededAfter(sc AlertScope, id int64) (bool, error) {
	var ids []int64
	q := sc.jobs(a.tx).
		Where("jobs.state = ? AND jobs.id >= ?", JobSucceeded, id).Order("jobs.id").Limit(1)
	if err := q.Pluck("jobs.id", &ids).Error; err != nil {
		return false, fmt.Errorf("models: look for a success: %w", err)
	}
	return len(ids) > 0, nil
}

// RecurringEntries returns the named recurring entry, or every one when name is empty.
func (a *AlertTx) RecurringEntries(name string) ([]RecurringJob, error) {
	var out []RecurringJob
	q := a.tx.Order("name")
	if name != "" {
		q = q.Where("name = ?", name)
	}
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: read recurring jobs: %w", err)
	}
	return out, nil
}

// LastSuccess is when the newest job of the recurring entry that succeeded by upto was made, or
// nil. The bound keeps a success stamped after the evaluation's now for the next evaluation,
// which reads the successes since this one's now (SuccessesBetween).
func (a *AlertTx) LastSuccess(recurringID int64, upto time.Time) (*time.Time, error) {
	var rows []Job
	err := a.tx.Where("recurring_id = ? AND state = ? AND finished_at <= ?", recurringID, JobSucceeded, upto.UTC()).Order("id DESC").Limit(1).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("models: read the last success: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return &rows[0].CreatedAt, nil
}

// SuccessesBetween returns the first n jobs of the recurring entry that succeeded, finishing
// after after and at or before upto, in the order they finished; and when the newest job of
// the entry that had succeeded by after was made (nil: none had).
func (a *AlertTx) SuccessesBetween(recurringID int64, after, upto time.Time, n int) (before *time.Time, between []Job, err error) {
	var rows []Job
	err = a.tx.Where("recurring_id = ? AND state = ? AND finished_at <= ?", recurringID, JobSucceeded, after.UTC()).
		Order("id DESC").Limit(1).Find(&rows).Error
	if err != nil {
		return nil, nil, fmt.Errorf("models: read the last success: %w", err)
	}
	if len(rows) > 0 {
		before = &rows[0].CreatedAt
	}
	err = a.tx.Where("recurring_id = ? AND state = ? AND finished_at > ? AND finished_at <= ?", recurringID, JobSucceeded, after.UTC(), upto.UTC()).
		Order("finished_at, id").Limit(n).Find(&between).Error
	if err != nil {
		return nil, nil, fmt.Errorf("models: read the successes: %w", err)
	}
	return before, between, nil
}

// RecurringJobsSince returns the newest n jobs the recurring entry made at or after since,
// oldest first (read newest first, through idx_jobs_recurring_id's (recurring_id, id)).
func (a *AlertTx) RecurringJobsSince(recurringID int64, since time.Time, n int) ([]Job, error) {
	var out []Job
	err := a.tx.Where("recurring_id = ? AND created_at >= ?", recurringID, since.UTC()).Order("id DESC").Limit(n).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("models: read a recurring job's runs: %w", err)
	}
	slices.Reverse(out)
	return out, nil
}

// JobsByID returns the jobs of ids that still exist, in the order given.
func (a *AlertTx) JobsByID(ids []int64) ([]Job, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []Job
	if err := a.tx.Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("models: read an alert's jobs: %w", err)
	}
	byID := make(map[int64]Job, len(rows))
	for _, j := range rows {
		byID[j.ID] = j
	}
	out := make([]Job, 0, len(rows))
	for _, id := range ids {
		if j, ok := byID[id]; ok {
			out = append(out, j)
		}
	}
	return out, nil
}
