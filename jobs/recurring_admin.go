package jobs

import (
	"context"
	"fmt"
	"slices"

	"github.com/kilnhq/kiln/internal/textcut"
	"github.com/kilnhq/kiln/models"
)

// TriggerRecurring enqueues a job of the named recurring entry now, outside its schedule.
func (e *Engine) TriggerRecurring(ctx context.Context, name string) (*models.Job, error) {
	var job *models.Job
	_, err := e.store.Recurring.UpdateRecurring(ctx, name, func(tx models.Tx, rj *models.RecurringJob) error {
		job = &models.Job{Kind: rj.Kind, Args: rj.Args, Queue: rj.Queue, Priority: rj.Priority,
			MaxAttempts: rj.MaxAttempts, Timeout: rj.Timeout, RecurringID: &rj.ID,
			Note: "triggered now from recurring job " + rj.Name + " by " + actor(ctx)}
		now := e.clock.Now().UTC()
		if _, err := tx.InsertJobs([]*models.Job{job}, now); err != nil {
			return err
		}
		rj.LastRunAt, rj.LastJobID = &now, &job.ID
		return nil
	})
	if err != nil {
		return nil, err
	}
	e.wake(job.Queue)
	return job, nil
}

// PauseRecurring stops the named entry from enqueueing until ResumeRecurring; it survives restarts.
func (e *Engine) PauseRecurring(ctx context.Context, name string) error {
	return e.setPaused(ctx, name, true)
}

// ResumeRecurring lets a paused entry enqueue again, from its next occurrence on (missed ones are
// not caught up).
func (e *Engine) ResumeRecurring(ctx context.Context, name string) error {
	return e.setPaused(ctx, name, false)
}

func (e *Engine) setPaused(ctx context.Context, name string, paused bool) error {
	_, err := e.store.Recurring.UpdateRecurring(ctx, name, func(_ models.Tx, rj *models.RecurringJob) error {
		if !paused && rj.Paused {
			s, err := ParseSchedule(rj.Spec, rj.TimeZone)
			if err != nil {
				return err
			}
			next := s.Next(e.clock.Now()).UTC()
			rj.NextRunAt = &next
		}
		rj.Paused = paused
		return nil
	})
	return err
}

// SetRecurringOverlap sets the overlap policy (models.OverlapAllow, OverlapSkip or
// OverlapReplace) of the recurring job with the given id, as a user does on the dashboard or
// through the API; like an edited schedule, it outlives the code's definition.
func (e *Engine) SetRecurringOverlap(ctx context.Context, id int64, policy string) (*models.RecurringJob, error) {
	if err := checkOverlap(policy); err != nil {
		return nil, err
	}
	rj, err := e.store.Recurring.GetRecurringByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return e.store.Recurring.UpdateRecurring(ctx, rj.Name, func(_ models.Tx, row *models.RecurringJob) error {
		setOverlap(row, policy)
		return nil
	})
}

// checkOverlap refuses a policy that is none of models.OverlapPolicies.
func checkOverlap(policy string) error {
	if !slices.Contains(models.OverlapPolicies, policy) {
		return invalid(fmt.Errorf("%w: overlap policy %q: use allow, skip or replace", ErrInvalidOption, policy))
	}
	return nil
}

// setOverlap sets row's overlap policy as a person does: it then outlives the code's.
func setOverlap(row *models.RecurringJob, policy string) {
	if row.Overlap != policy {
		row.Overlap, row.OverlapSet = policy, true
	}
}

// UpdateRecurringSchedule changes the schedule and time zone of the recurring job with the
// given id, as a user edits it on the dashboard. The change outlives restarts (the code's
// definition no longer replaces it) and reaches every server within Config.RecurringResync (this one at
// once). A bad schedule or zone is an error wrapping ErrInvalidSchedule (ErrUnknownTimeZone for
// the zone) that says why. Overlap, the only option it takes, sets the overlap policy in the
// same change, as SetRecurringOverlap does: the form's fields are saved, and audited, together.
func (e *Engine) UpdateRecurringSchedule(ctx context.Context, id int64, spec, tz string, opts ...Option) (*models.RecurringJob, error) {
	set := collect(opts)
	if err := set.only("a recurring job's schedule", "overlap"); err != nil {
		return nil, err
	}
	if set.overlap != nil {
		if err := checkOverlap(*set.overlap); err != nil {
			return nil, err
		}
	}
	rj, err := e.store.Recurring.GetRecurringByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if tz == "" {
		return nil, invalid(fmt.Errorf("%w %q", ErrUnknownTimeZone, tz))
	}
	sched, err := ParseSchedule(spec, tz)
	if err != nil {
		return nil, err
	}
	rj, err = e.store.Recurring.UpdateRecurring(ctx, rj.Name, func(_ models.Tx, row *models.RecurringJob) error {
		next := sched.Next(e.clock.Now()).UTC()
		row.Spec, row.TimeZone, row.Overridden, row.NextRunAt = sched.Spec(), tz, true, &next
		if set.overlap != nil {
			setOverlap(row, *set.overlap)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := e.recurring.arm(rj.Name, sched); err != nil {
		return nil, err
	}
	return rj, nil
}

// CreateRecurring adds a recurring job at run time, as a person or a program does through the
// API: it is stored (an ECONFLICT error when the name is taken) and this server's timer is
// armed at once; the others arm theirs within Config.RecurringResync. Options: Queue, Priority,
// MaxAttempts, Timeout, TimeZone (default UTC) and Misfire (default relaxed). A bad schedule or
// zone is an error wrapping ErrInvalidSchedule (ErrUnknownTimeZone for the zone).
func (e *Engine) CreateRecurring(ctx context.Context, name, spec, kind string, args any, opts ...Option) (*models.RecurringJob, error) {
	def, sched, err := e.recurringDef(name, spec, kind, args, opts)
	if err != nil {
		return nil, err
	}
	if err := e.CheckArgs(ctx, kind, def.row.Args); err != nil {
		return nil, err
	}
	def.row.Overridden = true // made here, not by code: no definition will replace its schedule
	def.row.CreatedBy = textcut.Truncate(actor(ctx), 64)
	rj, err := e.store.Recurring.CreateRecurring(ctx, &def.row, sched.Next(e.clock.Now()))
	if err != nil {
		return nil, err
	}
	if err := e.recurring.arm(rj.Name, sched); err != nil {
		return nil, err
	}
	return rj, nil
}

// ReplaceRecurring changes everything about a recurring job made at run time (by
// CreateRecurring): schedule, zone, kind, arguments and options, checked as CreateRecurring
// checks them. Its paused flag and run history stay; its next run is recomputed when the
// schedule or zone changed. An entry a server's code defines is refused (ECONFLICT): only its
// schedule can change (UpdateRecurringSchedule).
func (e *Engine) ReplaceRecurring(ctx context.Context, name, spec, kind string, args any, opts ...Option) (*models.RecurringJob, error) {
	def, sched, err := e.recurringDef(name, spec, kind, args, opts)
	if err != nil {
		return nil, err
	}
	if err := e.CheckArgs(ctx, kind, def.row.Args); err != nil {
		return nil, err
	}
	rj, err := e.store.Recurring.UpdateRecurring(ctx, name, func(_ models.Tx, row *models.RecurringJob) error {
		if row.CreatedBy == "" {
			return models.Errorf(models.ECONFLICT, "%s is defined in code: only its schedule and time zone can be changed here.", name)
		}
		d := def.row
		if row.Spec != d.Spec || row.TimeZone != d.TimeZone || row.NextRunAt == nil {
			next := sched.Next(e.clock.Now()).UTC()
			row.NextRunAt = &next
		}
		row.Spec, row.TimeZone, row.Kind, row.Args, row.Queue, row.Priority = d.Spec, d.TimeZone, d.Kind, d.Args, d.Queue, d.Priority
		row.MaxAttempts, row.Timeout, row.Misfire, row.Overlap = d.MaxAttempts, d.Timeout, d.Misfire, d.Overlap
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := e.recurring.arm(rj.Name, sched); err != nil { // a paused entry's firings do nothing
		return nil, err
	}
	return rj, nil
}

// DeleteRecurring removes the named recurring job (the jobs it made stay) and stops its timer
// here; other servers stop theirs within Config.RecurringResync. An entry this process's code defines
// comes back at the next start.
func (e *Engine) DeleteRecurring(ctx context.Context, name string) error {
	if err := e.store.Recurring.DeleteRecurring(ctx, name); err != nil {
		return err
	}
	e.recurring.mu.Lock()
	delete(e.recurring.defs, name)
	e.recurring.mu.Unlock()
	e.recurring.disarm(name)
	return nil
}
