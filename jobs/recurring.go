package jobs

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"gorm.io/gorm"

	"github.com/kilnhq/kiln/models"
)

// recurring keeps the engine's recurring jobs. Each is a row in recurring_jobs holding its
// definition, paused flag and next occurrence; that row is the truth. gocron is the timer that
// fires at each occurrence. A firing enqueues one job per due occurrence with the unique key
// recurring:<name>:<occurrence unix time>, so servers firing the same tick create one job, and
// an occurrence missed while no server ran is handled by the entry's misfire policy.
type recurring struct {
	e     *Engine
	mu    sync.Mutex
	defs  map[string]*recurringDef
	sched gocron.Scheduler
}

type recurringDef struct {
	row      models.RecurringJob
	schedule *Schedule
}

func newRecurring(e *Engine) *recurring {
	return &recurring{e: e, defs: map[string]*recurringDef{}}
}

// Recurring defines (or redefines) a recurring job: every occurrence of spec (see Schedule)
// enqueues a job of kind with args. Options: Queue, Priority, MaxAttempts, Timeout, TimeZone
// (default UTC) and Misfire (default relaxed). A paused entry stays paused across restarts.
func (e *Engine) Recurring(name, spec, kind string, args any, opts ...Option) error {
	s := collect(opts)
	if err := s.only("Recurring", "time zone", "misfire"); err != nil {
		return err
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 || kind == "" {
		return fmt.Errorf("%w: a recurring job needs a name (at most 200 characters) and a kind", ErrInvalidOption)
	}
	tz := "UTC"
	if s.tz != nil {
		tz = *s.tz
	}
	sched, err := ParseSchedule(spec, tz)
	if err != nil {
		return err
	}
	misfire := models.MisfireRelaxed
	if s.misfire != nil {
		misfire = *s.misfire
	}
	if misfire != models.MisfireRelaxed && misfire != models.MisfireStrict && misfire != models.MisfireIgnore {
		return fmt.Errorf("%w: misfire policy %q: use relaxed, strict or ignore", ErrInvalidOption, misfire)
	}
	raw, err := marshalArgs(args)
	if err != nil {
		return err
	}
	var j models.Job
	s.apply(&j, e.defaultsOf(kind))
	def := &recurringDef{schedule: sched, row: models.RecurringJob{
		Name: name, Spec: sched.Spec(), TimeZone: tz, Kind: kind, Args: raw, Queue: j.Queue,
		Priority: j.Priority, MaxAttempts: j.MaxAttempts, Timeout: j.Timeout, Misfire: misfire,
	}}
	r := e.recurring
	r.mu.Lock()
	r.defs[name] = def
	running := r.sched != nil
	r.mu.Unlock()
	if running {
		return r.add(context.Background(), def)
	}
	return nil
}

// start stores every definition, fires each once (catching up on misfires), and starts the timers.
func (r *recurring) start(ctx context.Context) error {
	sched, err := gocron.NewScheduler(gocron.WithLocation(time.UTC))
	if err != nil {
		return fmt.Errorf("jobs: recurring scheduler: %w", err)
	}
	r.mu.Lock()
	r.sched = sched
	defs := make([]*recurringDef, 0, len(r.defs))
	for _, d := range r.defs {
		defs = append(defs, d)
	}
	r.mu.Unlock()
	for _, d := range defs {
		if err := r.add(ctx, d); err != nil {
			return err
		}
	}
	sched.Start()
	return nil
}

// add stores the definition, handles occurrences already due, and arms its timer.
func (r *recurring) add(ctx context.Context, d *recurringDef) error {
	if _, err := r.e.store.UpsertRecurring(ctx, &d.row, func() time.Time { return d.schedule.Next(time.Now()) }); err != nil {
		return err
	}
	r.fire(d.row.Name)
	name := d.row.Name
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, j := range r.sched.Jobs() {
		if j.Name() == name {
			if err := r.sched.RemoveJob(j.ID()); err != nil {
				return fmt.Errorf("jobs: reschedule %q: %w", name, err)
			}
		}
	}
	_, err := r.sched.NewJob(
		gocron.CronJob(d.schedule.Spec(), true),
		gocron.NewTask(func() { r.fire(name) }),
		gocron.WithCronImplementation(gocronCron{d.schedule}),
		gocron.WithName(name),
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
	)
	if err != nil {
		return fmt.Errorf("jobs: schedule %q: %w", name, err)
	}
	return nil
}

func (r *recurring) stop() error {
	r.mu.Lock()
	sched := r.sched
	r.mu.Unlock()
	if sched == nil {
		return nil
	}
	if err := sched.Shutdown(); err != nil {
		return fmt.Errorf("jobs: stop recurring scheduler: %w", err)
	}
	return nil
}

func (r *recurring) schedule(name string) *Schedule {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d, ok := r.defs[name]; ok {
		return d.schedule
	}
	return nil
}

// fire enqueues the jobs of every due occurrence of the named entry, under its row lock.
func (r *recurring) fire(name string) {
	e := r.e
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var queue string
	_, err := e.store.UpdateRecurring(ctx, name, func(tx *gorm.DB, rj *models.RecurringJob) error {
		sched := r.schedule(name)
		if sched == nil || sched.Spec() != rj.Spec || sched.Location().String() != rj.TimeZone {
			var err error
			if sched, err = ParseSchedule(rj.Spec, rj.TimeZone); err != nil {
				return err
			}
		}
		now := time.Now()
		defer func() {
			if rj.NextRunAt == nil || !rj.NextRunAt.After(now) {
				next := sched.Next(now).UTC()
				rj.NextRunAt = &next
			}
		}()
		if rj.Paused || rj.NextRunAt == nil {
			return nil
		}
		due := dueOccurrences(sched, *rj.NextRunAt, now, rj.Misfire, e.cfg.MisfireThreshold, e.cfg.StrictMisfireCap)
		if len(due) == 0 {
			return nil
		}
		jobs := make([]*models.Job, len(due))
		for i, occ := range due {
			key := "recurring:" + rj.Name + ":" + strconv.FormatInt(occ.Unix(), 10)
			jobs[i] = &models.Job{
				Kind: rj.Kind, Args: rj.Args, Queue: rj.Queue, Priority: rj.Priority, MaxAttempts: rj.MaxAttempts,
				Timeout: rj.Timeout, UniqueKey: &key, RecurringID: &rj.ID,
			}
		}
		if _, err := e.store.InsertJobsTx(tx, jobs, now); err != nil {
			return err
		}
		last := jobs[len(jobs)-1]
		at := now.UTC()
		rj.LastRunAt, rj.LastJobID, queue = &at, &last.ID, rj.Queue
		return nil
	})
	if err != nil {
		e.log.Error("jobs: recurring job did not fire", "name", name, "err", err)
		return
	}
	if queue != "" {
		e.wake(queue)
	}
}

// dueOccurrences returns the occurrences to enqueue now, given the entry's next recorded
// occurrence. On time, that is the one occurrence that just came. After a gap (no server ran):
// relaxed runs once, for the latest missed occurrence; strict runs each missed occurrence, at
// most capN (the latest ones); ignore runs only an occurrence that is within threshold of now.
func dueOccurrences(s *Schedule, next, now time.Time, policy string, threshold time.Duration, capN int) []time.Time {
	if next.After(now) {
		return nil
	}
	ring := []time.Time{next}
	latest, count := next, 1
	for t := s.Next(next); !t.IsZero() && !t.After(now) && count < 10_000_000; t = s.Next(t) {
		latest, count = t, count+1
		if policy == models.MisfireStrict {
			ring = append(ring, t)
			if len(ring) > capN {
				ring = ring[1:]
			}
		}
	}
	switch policy {
	case models.MisfireStrict:
		return ring
	case models.MisfireIgnore:
		if now.Sub(latest) <= threshold {
			return []time.Time{latest}
		}
		return nil
	default:
		return []time.Time{latest}
	}
}

// TriggerRecurring enqueues a job of the named recurring entry now, outside its schedule.
func (e *Engine) TriggerRecurring(ctx context.Context, name string) (*models.Job, error) {
	var job *models.Job
	_, err := e.store.UpdateRecurring(ctx, name, func(tx *gorm.DB, rj *models.RecurringJob) error {
		job = &models.Job{Kind: rj.Kind, Args: rj.Args, Queue: rj.Queue, Priority: rj.Priority,
			MaxAttempts: rj.MaxAttempts, Timeout: rj.Timeout, RecurringID: &rj.ID}
		if _, err := e.store.InsertJobsTx(tx, []*models.Job{job}, time.Now()); err != nil {
			return err
		}
		now := time.Now().UTC()
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
	_, err := e.store.UpdateRecurring(ctx, name, func(_ *gorm.DB, rj *models.RecurringJob) error {
		if !paused && rj.Paused {
			s, err := ParseSchedule(rj.Spec, rj.TimeZone)
			if err != nil {
				return err
			}
			next := s.Next(time.Now()).UTC()
			rj.NextRunAt = &next
		}
		rj.Paused = paused
		return nil
	})
	return err
}
