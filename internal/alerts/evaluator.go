package alerts

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// Defaults of Config.
const (
	// DefaultEvery is how often a node evaluates the rules.
	DefaultEvery = 15 * time.Second
	// DefaultSettle is how far behind their horizon (models.AlertTx.FailuresHorizon) the
	// rules on failures read. The horizon is already no later than the last heartbeat of any
	// server with jobs running, so Settle covers what clocks add: a node's clock (finished_at)
	// behind the database's (heartbeat_at, on PostgreSQL), and the moment between a finish
	// stamped and the engine holding it.
	DefaultSettle = 10 * time.Second
	// MaxHorizonLag bounds how far behind now the failure rules' horizon may stay: a node whose
	// outcomes can't be written for longer (a batch the database keeps refusing for a reason
	// it doesn't name) must not stop every failure rule of the cluster. Past it, failures
	// still unwritten that far back are no longer waited for, and the evaluator logs so.
	MaxHorizonLag = 15 * time.Minute
	// prunePerEvaluation bounds the resolved alerts past their retention one evaluation
	// deletes; the next deletes more.
	prunePerEvaluation = 500
	// MaxSubjectsPerRule bounds the subjects (kinds, queues, entries) one rule looks at per
	// evaluation, so that an evaluation stays small whatever fails.
	MaxSubjectsPerRule = 100
)

// Evaluator evaluates the alert rules every Config.Every, as one of the engine's periodic
// duties (jobs.Engine.Periodic): every node runs one, and the store's lease (EvaluateAlerts)
// lets one of them evaluate each tick and write each alert's change with its messages in one
// transaction, so each message is sent once.
type Evaluator struct {
	e     *jobs.Engine
	rules models.RuleStore
	cfg   Config
	// lagWarned is when (Unix seconds) the horizon's lag was last logged.
	lagWarned atomic.Int64
}

// New returns an evaluator of the rules in store that enqueues its messages through e.
func New(e *jobs.Engine, store models.RuleStore, cfg Config) *Evaluator {
	return &Evaluator{e: e, rules: store, cfg: cfg.withDefaults()}
}

// Register makes the evaluator one of the engine's periodic duties; call it before the
// engine starts. (Rules defined in code, jobs.AlertOnFailure and others, are stored by the
// engine's Start.)
func (v *Evaluator) Register() error {
	return v.e.Periodic("evaluate alert rules", v.cfg.Every, func(ctx context.Context) error {
		_, err := v.Evaluate(ctx)
		return err
	})
}

// Evaluate evaluates every enabled rule once, unless another node did less than half an
// interval ago (ran is false then).
func (v *Evaluator) Evaluate(ctx context.Context) (ran bool, err error) {
	now := v.cfg.Now().UTC().Truncate(time.Microsecond)
	return v.rules.EvaluateAlerts(ctx, now, v.cfg.Every/2, func(tx *models.AlertTx) error {
		rules, err := tx.Rules()
		if err != nil {
			return err
		}
		horizon := now
		if slices.ContainsFunc(rules, func(r models.AlertRule) bool { return readsFailuresOnce(r.Watch) }) {
			if horizon, err = tx.FailuresHorizon(now); err != nil {
				return err
			}
			if lag := now.Sub(horizon); lag > MaxHorizonLag {
				v.warnLag(now, lag)
				horizon = now.Add(-MaxHorizonLag)
			}
		}
		for i := range rules {
			ev := &evaluation{v: v, tx: tx, rule: &rules[i], now: now, horizon: horizon.Add(-v.cfg.Settle)}
			if err := ev.run(); err != nil {
				return fmt.Errorf("alerts: rule %q: %w", rules[i].Name, err)
			}
		}
		_, err = tx.PruneResolved(now.Add(-v.cfg.Retention), prunePerEvaluation)
		return err
	})
}

// readsFailuresOnce reports whether rules that watch w read each failure once, behind a cursor
// (AlertRule.CheckedUntil), and so must not move it past a failure still to be written.
func readsFailuresOnce(w string) bool {
	return w == models.WatchFailed || w == models.WatchFailedInARow
}

// warnLag logs, at most every ten minutes, that a node's unwritten outcomes held the failure
// rules back for longer than MaxHorizonLag.
func (v *Evaluator) warnLag(now time.Time, lag time.Duration) {
	last := v.lagWarned.Load()
	if now.Unix()-last < 600 || !v.lagWarned.CompareAndSwap(last, now.Unix()) {
		return
	}
	v.e.Logger().Warn("alerts: a server has held outcomes unwritten for too long; failure rules no longer wait for them",
		"held_for", lag.Round(time.Second), "waits_at_most", MaxHorizonLag)
}
