package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// What an alert rule watches.
const (
	// WatchFailed: a job of the rule's scope failed for good.
	WatchFailed = "failed"
	// WatchFailedInARow: the last Threshold finished jobs of the scope all failed.
	WatchFailedInARow = "failed-in-a-row"
	// WatchFailuresWithin: more than Threshold jobs of the scope failed within the last Within.
	WatchFailuresWithin = "failures-within"
	// WatchMissedSchedule: a recurring entry's occurrence did not succeed within Grace of when
	// it was due (a dead-man's switch): never enqueued, still waiting, still running or failed.
	WatchMissedSchedule = "missed-schedule"
	// WatchRunningLonger: a job of the scope has been running for longer than LongerThan.
	WatchRunningLonger = "running-longer"
	// WatchBacklog: more than Threshold jobs of the scope have waited longer than LongerThan
	// past their due time (Threshold 0: any job waited that long).
	WatchBacklog = "backlog"
	// WatchNoWorkers: a queue (the Target, or each queue with jobs waiting) has no live server
	// working it.
	WatchNoWorkers = "no-workers"
)

// Watches lists what a rule may watch.
var Watches = []string{WatchFailed, WatchFailedInARow, WatchFailuresWithin, WatchMissedSchedule, WatchRunningLonger, WatchBacklog, WatchNoWorkers}

// What a rule's Target names: a kind, a queue or a recurring entry.
const (
	ScopeKind      = "kind"
	ScopeQueue     = "queue"
	ScopeRecurring = "recurring"
)

// AlertState is where an alert stands: open while its rule's condition holds, then resolved.
type AlertState string

// The states of an alert.
const (
	AlertOpen     AlertState = "open"
	AlertResolved AlertState = "resolved"
)

// AlertRule says what to watch, when it fires and where its messages go.
type AlertRule struct {
	ID    int64 `gorm:"primaryKey"`
	Name  string
	Watch string // one of Watches
	// Scope and Target: the jobs watched are those of the kind, queue or recurring entry named
	// Target; an empty Target watches every one, each its own alert (its subject).
	Scope  string
	Target string
	// Threshold is N of "N in a row" and "more than N within"; Within is the window of the latter.
	Threshold int
	Within    time.Duration
	// Grace is how long after an occurrence is due it may take to succeed (missed-schedule).
	Grace time.Duration
	// LongerThan is how long a job may run (running-longer) or wait (backlog).
	LongerThan time.Duration
	// Channels are the names of the channels its messages go to.
	Channels []string `gorm:"serializer:json"`
	// RepeatEvery is the least time between two messages of an open alert; 0 never repeats.
	RepeatEvery time.Duration
	Enabled     bool
	CreatedBy   string
	CreatedAt   time.Time
	// CheckedUntil is how far the rule has looked: at the failures of its scope, or (a
	// missed-schedule rule) at its entries' successes.
	CheckedUntil time.Time
}

// Alert is one rule's condition holding for one subject (a kind, queue or recurring entry's
// name): one row from opening to resolution, however many jobs it covers.
type Alert struct {
	ID             int64 `gorm:"primaryKey"`
	RuleID         int64
	Subject        string
	State          AlertState
	OpenedAt       time.Time
	LastNotifiedAt time.Time
	ResolvedAt     *time.Time
	// Count is how many failed jobs (or missed occurrences) it covers; JobIDs the first few.
	Count     int64
	JobIDs    []int64 `gorm:"serializer:json"`
	LastJobID int64   // the newest failed job it covers
	Messages  int64   // how many times it told its channels
	// AcknowledgedBy (at AcknowledgedAt) took it in hand; SilencedUntil mutes it until then.
	// Either stops its repeats; neither stops its resolution being told.
	AcknowledgedBy string
	AcknowledgedAt *time.Time
	SilencedUntil  *time.Time
}

// Quiet reports whether the alert's repeats are suppressed at now: acknowledged, or silenced.
func (a *Alert) Quiet(now time.Time) bool {
	return a.AcknowledgedAt != nil || (a.SilencedUntil != nil && now.Before(*a.SilencedUntil))
}

// Note adds a job to those the alert lists, while it lists fewer than n (its first few are
// what its messages link), and remembers the newest.
func (a *Alert) Note(id int64, n int) {
	if len(a.JobIDs) < n && !slices.Contains(a.JobIDs, id) {
		a.JobIDs = append(a.JobIDs, id)
	}
	a.LastJobID = max(a.LastJobID, id)
}

// Validate checks the rule, reporting each field's fault.
func (r *AlertRule) Validate() error {
	fields := map[string]string{}
	r.Name = strings.TrimSpace(r.Name)
	switch {
	case r.Name == "":
		fields["name"] = "Give the rule a name."
	case len(r.Name) > 200:
		fields["name"] = "Use at most 200 characters."
	}
	known := false
	for _, w := range Watches {
		known = known || r.Watch == w
	}
	if !known {
		fields["watch"] = "Choose one of " + strings.Join(Watches, ", ") + "."
	}
	switch {
	case r.Watch == WatchMissedSchedule && r.Scope != ScopeRecurring:
		fields["scope"] = "A missed schedule is a recurring job's: choose recurring."
	case r.Watch == WatchNoWorkers && r.Scope != ScopeQueue:
		fields["scope"] = "Servers work queues: choose queue."
	case r.Scope != ScopeKind && r.Scope != ScopeQueue && r.Scope != ScopeRecurring:
		fields["scope"] = "Choose kind, queue or recurring."
	}
	if len(r.Target) > 200 {
		fields["target"] = "Use at most 200 characters."
	}
	if (r.Watch == WatchFailedInARow || r.Watch == WatchFailuresWithin) && r.Threshold < 1 {
		fields["threshold"] = "Give a number of failures of 1 or more."
	}
	if r.Watch == WatchFailuresWithin && r.Within <= 0 {
		fields["within"] = "Give the window the failures are counted in, e.g. 10m."
	}
	if (r.Watch == WatchRunningLonger || r.Watch == WatchBacklog) && r.LongerThan <= 0 {
		fields["longer_than"] = "Give how long is too long, e.g. 30m."
	}
	if r.Watch == WatchBacklog && r.Threshold < 0 {
		fields["threshold"] = "Give a number of jobs of 0 or more."
	}
	if r.Grace < 0 {
		fields["grace"] = "The grace period can't be negative."
	}
	if r.Watch == WatchMissedSchedule && r.Grace <= 0 {
		fields["grace"] = "Give how long after it is due a run may take to succeed, e.g. 30m: every run takes some time."
	}
	if r.RepeatEvery < 0 {
		fields["repeat_every"] = "The repeat interval can't be negative."
	}
	for _, c := range r.Channels {
		if strings.TrimSpace(c) == "" {
			fields["channels"] = "A channel's name can't be empty."
		}
	}
	if len(fields) > 0 {
		return &Error{Code: EINVALID, Message: "The rule is not valid.", Fields: fields}
	}
	if r.Threshold < 1 && r.Watch != WatchBacklog {
		r.Threshold = 1
	}
	return nil
}

// checkedRule is in, checked and ready to be written (no id: the name says which rule).
func checkedRule(in *AlertRule) (AlertRule, error) {
	r := *in
	if r.Channels == nil {
		r.Channels = []string{}
	}
	if err := r.Validate(); err != nil {
		return r, err
	}
	r.ID = 0
	return r, nil
}

// newRule is in, checked, as a rule made now stores it: it looks at failures from now on.
func newRule(in *AlertRule, now time.Time) (AlertRule, error) {
	r, err := checkedRule(in)
	if err != nil {
		return r, err
	}
	r.CreatedAt = now.UTC().Truncate(time.Microsecond)
	r.CheckedUntil = r.CreatedAt
	return r, nil
}

// CreateRule stores a new rule; it looks at failures from now on, not at those before.
func (s ruleStore) CreateRule(ctx context.Context, in *AlertRule, now time.Time) (*AlertRule, error) {
	r, err := newRule(in, now)
	if err != nil {
		return nil, err
	}
	err = s.change(ctx, func(tx *gorm.DB) error {
		noteChange(ctx, "rule "+r.Name, nil) // the attempt's target, taken or not
		if err := insertNew(tx, &r, fmt.Sprintf("alert rule %q", r.Name), &Error{Code: ECONFLICT,
			Message: fmt.Sprintf("There is already a rule named %q.", r.Name), Fields: map[string]string{"name": "Choose another name."}}); err != nil {
			return err
		}
		noteChange(ctx, "rule "+r.Name, auditDiff(nil, &r, ruleAudited...))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// UpsertRule stores the rule under its name, as code defines it: an existing rule takes its
// definition and keeps its creation and how far it has looked.
func (s ruleStore) UpsertRule(ctx context.Context, in *AlertRule, now time.Time) (*AlertRule, error) {
	r, err := newRule(in, now)
	if err != nil {
		return nil, err
	}
	err = s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "name"}},
		DoUpdates: clause.AssignmentColumns([]string{"watch", "scope", "target", "threshold", "within", "grace", "longer_than", "channels", "repeat_every", "enabled", "created_by"}),
	}).Create(&r).Error
	if err != nil {
		return nil, fmt.Errorf("models: store alert rule %q: %w", r.Name, err)
	}
	return s.GetRule(ctx, r.Name)
}

// GetRule returns the named rule.
func (s ruleStore) GetRule(ctx context.Context, name string) (*AlertRule, error) {
	var r AlertRule
	err := s.rdb.WithContext(ctx).Where("name = ?", name).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENOTFOUND, "There is no alert rule %q.", name)
	}
	if err != nil {
		return nil, fmt.Errorf("models: get alert rule %q: %w", name, err)
	}
	return &r, nil
}

// ListRules returns every rule, by name.
func (s ruleStore) ListRules(ctx context.Context) ([]AlertRule, error) {
	var out []AlertRule
	if err := s.rdb.WithContext(ctx).Order("name").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: list alert rules: %w", err)
	}
	return out, nil
}

// UpdateRule replaces the named rule's definition: what it watches, of what, its channels,
// repeat interval and whether it is enabled. Its alerts and creation stay, and so does how far
// it has looked, unless it is enabled again or watches something else: then it looks from now.
func (s ruleStore) UpdateRule(ctx context.Context, in *AlertRule, now time.Time) (*AlertRule, error) {
	r, err := checkedRule(in)
	if err != nil {
		return nil, err
	}
	err = s.change(ctx, func(tx *gorm.DB) error {
		var old AlertRule
		if err := tx.Where("name = ?", r.Name).Take(&old).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return Errorf(ENOTFOUND, "There is no alert rule %q.", r.Name)
		} else if err != nil {
			return fmt.Errorf("models: update alert rule %q: %w", r.Name, err)
		}
		cols := []string{"watch", "scope", "target", "threshold", "within", "grace", "longer_than", "channels", "repeat_every", "enabled"}
		// A rule enabled again, or watching something else, starts looking from now: what
		// happened while it was off, or to what it didn't watch, is not its to tell.
		if (r.Enabled && !old.Enabled) || r.Watch != old.Watch || r.Scope != old.Scope || r.Target != old.Target {
			r.CheckedUntil = now.UTC().Truncate(time.Microsecond)
			cols = append(cols, "checked_until")
		}
		if err := tx.Model(&AlertRule{}).Where("id = ?", old.ID).Select(cols).Updates(&r).Error; err != nil {
			return fmt.Errorf("models: update alert rule %q: %w", r.Name, err)
		}
		noteChange(ctx, "rule "+r.Name, auditDiff(&old, &r, ruleAudited...))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.GetRule(ctx, r.Name)
}

// ruleAudited are the fields of a rule an audit entry shows before and after.
var ruleAudited = []string{"Watch", "Scope", "Target", "Threshold", "Within", "Grace", "LongerThan", "Channels", "RepeatEvery", "Enabled"}

// DeleteRule removes the named rule and its alerts.
func (s ruleStore) DeleteRule(ctx context.Context, name string) error {
	return s.change(ctx, func(tx *gorm.DB) error {
		var r AlertRule
		if err := tx.Where("name = ?", name).Take(&r).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return Errorf(ENOTFOUND, "There is no alert rule %q.", name)
		} else if err != nil {
			return fmt.Errorf("models: delete alert rule %q: %w", name, err)
		}
		if err := tx.Where("rule_id = ?", r.ID).Delete(&Alert{}).Error; err != nil {
			return fmt.Errorf("models: delete alert rule %q: %w", name, err)
		}
		if err := tx.Delete(&r).Error; err != nil {
			return fmt.Errorf("models: delete alert rule %q: %w", name, err)
		}
		noteChange(ctx, "rule "+name, auditDiff(&r, nil, ruleAudited...))
		return nil
	})
}

// ListAlerts returns the newest alerts first, the open ones only when open is set.
func (s ruleStore) ListAlerts(ctx context.Context, open bool, limit int) ([]Alert, error) {
	var out []Alert
	q := s.rdb.WithContext(ctx).Order("id DESC").Limit(limit)
	if open {
		q = q.Where("state = ?", AlertOpen)
	}
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: list alerts: %w", err)
	}
	return out, nil
}

// ListAlertHistory returns up to limit resolved alerts older than the alert before (0: from the
// newest), newest first: the dashboard's history, a page at a time.
func (s ruleStore) ListAlertHistory(ctx context.Context, before int64, limit int) ([]Alert, error) {
	var out []Alert
	q := s.rdb.WithContext(ctx).Where("state = ?", AlertResolved).Order("id DESC").Limit(limit)
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: list alert history: %w", err)
	}
	return out, nil
}

// CountOpenAlerts counts the alerts open (for /metrics).
func (s ruleStore) CountOpenAlerts(ctx context.Context) (int64, error) {
	var n int64
	if err := s.rdb.WithContext(ctx).Model(&Alert{}).Where("state = ?", AlertOpen).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("models: count open alerts: %w", err)
	}
	return n, nil
}

// AcknowledgeAlert records that by took the open alert in hand at: it repeats no more.
func (s ruleStore) AcknowledgeAlert(ctx context.Context, id int64, by string, at time.Time) (*Alert, error) {
	at = at.UTC().Truncate(time.Microsecond)
	return s.updateOpenAlert(ctx, id, map[string]any{"acknowledged_by": by, "acknowledged_at": at})
}

// SilenceAlert mutes the open alert's repeats until the given time. A time not after now is
// refused (EINVALID, field "until") rather than taken as an unmute: a silence typed with the
// wrong date would otherwise end at once and say it worked. UnsilenceAlert unmutes.
func (s ruleStore) SilenceAlert(ctx context.Context, id int64, until, now time.Time) (*Alert, error) {
	if !until.After(now) {
		return nil, &Error{Code: EINVALID, Message: "Silence until a time still to come.",
			Fields: map[string]string{"until": "Give a time still to come; to end a silence, unsilence the alert."}}
	}
	until = until.UTC().Truncate(time.Microsecond)
	return s.updateOpenAlert(ctx, id, map[string]any{"silenced_until": until})
}

// UnsilenceAlert ends the open alert's silence, if it has one: its repeats resume.
func (s ruleStore) UnsilenceAlert(ctx context.Context, id int64) (*Alert, error) {
	return s.updateOpenAlert(ctx, id, map[string]any{"silenced_until": nil})
}

func (s ruleStore) updateOpenAlert(ctx context.Context, id int64, set map[string]any) (*Alert, error) {
	var a Alert
	err := s.change(ctx, func(tx *gorm.DB) error {
		err := tx.Where("id = ?", id).Take(&a).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Errorf(ENOTFOUND, "There is no alert %d.", id)
		}
		if err != nil {
			return fmt.Errorf("models: get alert %d: %w", id, err)
		}
		before := a
		res := tx.Model(&Alert{}).Where("id = ? AND state = ?", id, AlertOpen).Updates(set)
		if res.Error != nil {
			return fmt.Errorf("models: update alert %d: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			return Errorf(ECONFLICT, "Alert %d is resolved already.", id)
		}
		a = Alert{} // read afresh: a NULL leaves a field's old value
		if err := tx.Where("id = ?", id).Take(&a).Error; err != nil {
			return fmt.Errorf("models: get alert %d: %w", id, err)
		}
		noteChange(ctx, fmt.Sprintf("alert %d", id), auditDiff(&before, &a, "AcknowledgedBy", "SilencedUntil"))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}
