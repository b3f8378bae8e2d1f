package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/kilnhq/kiln/models"
)

// AlertRule defines an alert rule in code (see models.AlertRule): it is stored by name when
// the engine starts, replacing the definition it had. Kiln servers evaluate the rules and send
// their messages (package alerts); this engine need not be one of them. Call it before Start.
func (e *Engine) AlertRule(r models.AlertRule) error {
	r.Enabled = true
	if err := r.Validate(); err != nil {
		return fmt.Errorf("jobs: alert rule %q: %w", r.Name, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		return fmt.Errorf("jobs: alert rule %q: the engine has started", r.Name)
	}
	e.alertRules = append(e.alertRules, r)
	return nil
}

// AlertOnFailure defines a rule that tells the channels (by name) when a job of the kind fails
// for good, again every repeat (0: once) until a later job of the kind succeeds.
func AlertOnFailure(e *Engine, name, kind string, channels []string, repeat time.Duration) error {
	return e.AlertRule(models.AlertRule{Name: name, Watch: models.WatchFailed, Scope: models.ScopeKind, Target: kind,
		Channels: channels, RepeatEvery: repeat})
}

// AlertOnMissedSchedule defines a rule that tells the channels when an occurrence of the
// recurring job has not succeeded within grace of when it was due (a dead-man's switch).
func AlertOnMissedSchedule(e *Engine, name, recurring string, grace time.Duration, channels []string, repeat time.Duration) error {
	return e.AlertRule(models.AlertRule{Name: name, Watch: models.WatchMissedSchedule, Scope: models.ScopeRecurring,
		Target: recurring, Grace: grace, Channels: channels, RepeatEvery: repeat})
}

// storeAlertRules stores the rules defined in code, at Start.
func (e *Engine) storeAlertRules(ctx context.Context) error {
	now := time.Now()
	for i := range e.alertRules {
		if _, err := e.store.Rules.UpsertRule(ctx, &e.alertRules[i], now); err != nil {
			return fmt.Errorf("jobs: store alert rule %q: %w", e.alertRules[i].Name, err)
		}
	}
	return nil
}
