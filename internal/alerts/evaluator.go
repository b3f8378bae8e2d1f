package alerts

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// Defaults of Config.
const (
	// DefaultEvery is how often a node evaluates the rules.
	DefaultEvery = 15 * time.Second
	// DefaultSettle is how far behind now failures are looked at: a finish is stamped before
	// its transaction commits, so a span closed at now could miss one that commits a moment
	// later.
	DefaultSettle = 2 * time.Second
	// MaxSubjectsPerRule bounds the subjects (kinds, queues, entries) one rule looks at per
	// evaluation, so that an evaluation stays small whatever fails.
	MaxSubjectsPerRule = 100
)

// Config configures an Evaluator. Zero fields take the defaults.
type Config struct {
	Every  time.Duration // DefaultEvery
	Settle time.Duration // DefaultSettle
	// PublicURL is Kiln's address as people reach it (e.g. https://kiln.example.com): messages
	// link to pages under it; without it they carry no links.
	PublicURL string
	// Now tells the time (time.Now); tests give their own.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Every <= 0 {
		c.Every = DefaultEvery
	}
	if c.Settle <= 0 {
		c.Settle = DefaultSettle
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	return c
}

// Evaluator evaluates the alert rules every Config.Every, as one of the engine's periodic
// duties (jobs.Engine.Periodic): every node runs one, and the store's lease (EvaluateAlerts)
// lets one of them evaluate each tick and write each alert's change with its messages in one
// transaction, so each message is sent once.
type Evaluator struct {
	e     *jobs.Engine
	rules models.RuleStore
	cfg   Config

	mu     sync.Mutex
	code   []models.AlertRule // rules defined in code, stored at the first evaluation
	stored bool
}

// New returns an evaluator of the rules in store that enqueues its messages through e.
func New(e *jobs.Engine, store models.RuleStore, cfg Config) *Evaluator {
	return &Evaluator{e: e, rules: store, cfg: cfg.withDefaults()}
}

// Register stores the rules defined in code so far and makes the evaluator one of the
// engine's periodic duties; call it before the engine starts.
func (v *Evaluator) Register(ctx context.Context) error {
	if err := v.storeCode(ctx, v.cfg.Now().UTC()); err != nil {
		return err
	}
	return v.e.Periodic("evaluate alert rules", v.cfg.Every, func(ctx context.Context) error {
		_, err := v.Evaluate(ctx)
		return err
	})
}

// Evaluate evaluates every enabled rule once, unless another node did less than half an
// interval ago (ran is false then).
func (v *Evaluator) Evaluate(ctx context.Context) (ran bool, err error) {
	now := v.cfg.Now().UTC().Truncate(time.Microsecond)
	if err := v.storeCode(ctx, now); err != nil {
		return false, err
	}
	return v.rules.EvaluateAlerts(ctx, now, v.cfg.Every/2, func(tx *models.AlertTx) error {
		rules, err := tx.Rules()
		if err != nil {
			return err
		}
		for i := range rules {
			ev := &evaluation{v: v, tx: tx, rule: &rules[i], now: now}
			if err := ev.run(); err != nil {
				return fmt.Errorf("alerts: rule %q: %w", rules[i].Name, err)
			}
		}
		return nil
	})
}

// storeCode stores the rules defined in code, once.
func (v *Evaluator) storeCode(ctx context.Context, now time.Time) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.stored {
		return nil
	}
	for i := range v.code {
		if _, err := v.rules.UpsertRule(ctx, &v.code[i], now); err != nil {
			return fmt.Errorf("alerts: store rule %q: %w", v.code[i].Name, err)
		}
	}
	v.stored = true
	return nil
}

// Rule defines a rule in code, stored (by name, replacing its definition) by Register, or
// at the next evaluation after it. It is checked now.
func (v *Evaluator) Rule(r models.AlertRule) error {
	r.Enabled = true
	if err := r.Validate(); err != nil {
		return fmt.Errorf("alerts: rule %q: %w", r.Name, err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.code = append(v.code, r)
	v.stored = false
	return nil
}

// OnFailure defines a rule in code that alerts the channels when a job of the kind, queue or
// recurring entry (scope: models.ScopeKind, ...) named target fails for good, repeating every
// repeat while no later job of it has succeeded. It is the embedder's AlertOnFailure.
func (v *Evaluator) OnFailure(name, scope, target string, channels []string, repeat time.Duration) error {
	return v.Rule(models.AlertRule{Name: name, Watch: models.WatchFailed, Scope: scope, Target: target, Channels: channels, RepeatEvery: repeat})
}

// OnMissedSchedule defines a rule in code that alerts the channels when an occurrence of the
// recurring entry has not succeeded within grace of when it was due.
func (v *Evaluator) OnMissedSchedule(name, recurring string, grace time.Duration, channels []string, repeat time.Duration) error {
	return v.Rule(models.AlertRule{Name: name, Watch: models.WatchMissedSchedule, Scope: models.ScopeRecurring, Target: recurring, Grace: grace, Channels: channels, RepeatEvery: repeat})
}
