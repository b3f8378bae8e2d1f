package jobs

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"

	"github.com/kilnhq/kiln/models"
)

// recurring keeps the engine's recurring jobs. Each is a row in recurring_jobs holding its
// definition, paused flag and next occurrence; that row is the truth. gocron is the timer that
// fires at each occurrence. A firing enqueues one job per due occurrence with the unique key
// recurring:<name>:<occurrence unix time>, so servers firing the same tick create one job, and
// an occurrence missed while no server ran is handled by the entry's misfire policy.
type recurring struct {
	e      *Engine
	mu     sync.Mutex
	defs   map[string]*recurringDef // defined by this process's code
	timers map[string]*Schedule     // the schedule each armed gocron timer follows
	sched  gocron.Scheduler
	stopCh chan struct{}
	done   chan struct{}
}

type recurringDef struct {
	row      models.RecurringJob
	schedule *Schedule
}

// DefaultRecurringResync is how often a server brings its timers in line with the recurring_jobs rows
// (edited on another server, or defined by another server's code).
const DefaultRecurringResync = 15 * time.Second

func newRecurring(e *Engine) *recurring {
	return &recurring{e: e, defs: map[string]*recurringDef{}, timers: map[string]*Schedule{}}
}

// Recurring defines (or redefines) a recurring job: every occurrence of spec (see Schedule)
// enqueues a job of kind with args. Options: Queue, Priority, MaxAttempts, Timeout, TimeZone
// (default UTC) and Misfire (default relaxed). A paused entry stays paused across restarts,
// and a schedule edited on the dashboard is kept over the one given here.
func (e *Engine) Recurring(name, spec, kind string, args any, opts ...Option) error {
	def, _, err := e.recurringDef(name, spec, kind, args, opts)
	if err != nil {
		return err
	}
	name = def.row.Name
	r := e.recurring
	r.mu.Lock()
	r.defs[name] = def
	running := r.sched != nil
	r.mu.Unlock()
	if running {
		if err := r.store(context.Background(), def); err != nil {
			return err
		}
		return r.sync(context.Background())
	}
	return nil
}

// recurringDef checks a recurring job's definition and fills in the kind's defaults.
func (e *Engine) recurringDef(name, spec, kind string, args any, opts []Option) (*recurringDef, *Schedule, error) {
	s := collect(opts)
	if err := s.only("Recurring", "time zone", "misfire", "overlap"); err != nil {
		return nil, nil, err
	}
	name = strings.TrimSpace(name)
	if err := models.RecurringName.Check(name); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidOption, err) // a *models.Error naming its field too
	}
	if err := models.KindName.Check(kind); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	tz := models.DefaultTimeZone
	if s.tz != nil {
		tz = *s.tz
	}
	sched, err := ParseSchedule(spec, tz)
	if err != nil {
		return nil, nil, err
	}
	misfire := models.MisfireRelaxed
	if s.misfire != nil {
		misfire = *s.misfire
	}
	if misfire != models.MisfireRelaxed && misfire != models.MisfireStrict && misfire != models.MisfireIgnore {
		return nil, nil, invalid(fmt.Errorf("%w: misfire policy %q: use relaxed, strict or ignore", ErrInvalidOption, misfire))
	}
	overlap := models.OverlapAllow
	if s.overlap != nil {
		overlap = *s.overlap
	}
	if !slices.Contains(models.OverlapPolicies, overlap) {
		return nil, nil, invalid(fmt.Errorf("%w: overlap policy %q: use allow, skip or replace", ErrInvalidOption, overlap))
	}
	raw, err := marshalArgs(args)
	if err != nil {
		return nil, nil, err
	}
	var j models.Job
	s.apply(&j, e.defaultsOf(kind))
	if j.Queue != "" {
		if err := models.QueueName.Check(j.Queue); err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
		}
	}
	def := &recurringDef{schedule: sched, row: models.RecurringJob{
		Name: name, Spec: sched.Spec(), TimeZone: tz, Kind: kind, Args: raw, Queue: j.Queue,
		Priority: j.Priority, MaxAttempts: j.MaxAttempts, Timeout: j.Timeout, Misfire: misfire, Overlap: overlap,
	}}
	return def, sched, nil
}

// start stores the definitions, fires each entry once (catching up on misfires), arms the
// timers, and keeps them in line with the database.
func (r *recurring) start(ctx context.Context) error {
	sched, err := gocron.NewScheduler(gocron.WithLocation(time.UTC), gocron.WithClock(r.e.clock))
	if err != nil {
		return fmt.Errorf("jobs: recurring scheduler: %w", err)
	}
	r.mu.Lock()
	r.sched = sched
	defs := make([]*recurringDef, 0, len(r.defs))
	for _, d := range r.defs {
		defs = append(defs, d)
	}
	r.stopCh, r.done = make(chan struct{}), make(chan struct{})
	r.mu.Unlock()
	for _, d := range defs {
		if err := r.store(ctx, d); err != nil {
			return err
		}
	}
	if err := r.sync(ctx); err != nil {
		return err
	}
	sched.Start()
	go r.resyncLoop()
	return nil
}

func (r *recurring) store(ctx context.Context, d *recurringDef) error {
	_, err := r.e.store.Recurring.UpsertRecurring(ctx, &d.row, func() time.Time { return d.schedule.Next(r.e.clock.Now()) })
	return err
}

// sync arms a timer for every recurring row whose schedule has none yet (or a different one),
// firing it once first so that occurrences missed meanwhile follow the misfire policy.
func (r *recurring) sync(ctx context.Context) error {
	rows, err := r.e.store.Recurring.ListRecurring(ctx)
	if err != nil {
		return err
	}
	live := make(map[string]bool, len(rows))
	for _, row := range rows {
		live[row.Name] = true
	}
	r.mu.Lock()
	var gone []string
	for name := range r.timers {
		if !live[name] {
			gone = append(gone, name)
		}
	}
	r.mu.Unlock()
	for _, name := range gone { // deleted on another server
		r.disarm(name)
	}
	for _, row := range rows {
		r.mu.Lock()
		cur := r.timers[row.Name]
		r.mu.Unlock()
		if cur != nil && cur.Spec() == row.Spec && cur.Location().String() == row.TimeZone {
			continue
		}
		sched, err := ParseSchedule(row.Spec, row.TimeZone)
		if err != nil {
			r.e.log.Error("jobs: recurring job has a bad schedule", "name", row.Name, "err", err)
			continue
		}
		r.fire(row.Name)
		if err := r.arm(row.Name, sched); err != nil {
			return err
		}
	}
	return nil
}

// disarm stops the named entry's timer, if it has one.
func (r *recurring) disarm(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.timers, name)
	if r.sched == nil {
		return
	}
	for _, j := range r.sched.Jobs() {
		if j.Name() == name {
			_ = r.sched.RemoveJob(j.ID())
		}
	}
}

// arm (re)creates the gocron timer of the named entry on sched.
func (r *recurring) arm(name string, sched *Schedule) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sched == nil {
		return nil
	}
	for _, j := range r.sched.Jobs() {
		if j.Name() == name {
			if err := r.sched.RemoveJob(j.ID()); err != nil {
				return fmt.Errorf("jobs: reschedule %q: %w", name, err)
			}
		}
	}
	_, err := r.sched.NewJob(
		gocron.CronJob(sched.Spec(), true),
		gocron.NewTask(func() { r.fire(name) }),
		gocron.WithCronImplementation(gocronCron{sched}),
		gocron.WithName(name),
		// No singleton mode: gocron's LimitModeReschedule drops a tick while it still counts
		// the previous firing as running, which lost occurrences (seen as a skipped 08:30 in
		// TestRecurringAcrossClockChanges on a loaded machine). Overlapping firings are safe:
		// each takes the entry's row lock in turn and enqueues only what is due, under unique
		// keys.
	)
	if err != nil {
		return fmt.Errorf("jobs: schedule %q: %w", name, err)
	}
	r.timers[name] = sched
	return nil
}

func (r *recurring) resyncLoop() {
	defer close(r.done)
	t := time.NewTicker(r.e.cfg.RecurringResync)
	defer t.Stop()
	for {
		select {
		case <-r.stopCh:
			return
		case <-t.C:
			if err := r.sync(context.Background()); err != nil {
				r.e.log.Error("jobs: recurring resync failed", "err", err)
			}
		}
	}
}

func (r *recurring) stop() error {
	r.mu.Lock()
	sched, stopCh, done := r.sched, r.stopCh, r.done
	r.mu.Unlock()
	if sched == nil {
		return nil
	}
	close(stopCh)
	<-done
	if err := sched.Shutdown(); err != nil {
		return fmt.Errorf("jobs: stop recurring scheduler: %w", err)
	}
	return nil
}

// schedule returns the schedule the named entry's timer follows, if armed.
func (r *recurring) schedule(name string) *Schedule {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.timers[name]
}

// fire enqueues the jobs of every due occurrence of the named entry, under its row lock.
func (r *recurring) fire(name string) {
	e := r.e
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var (
		queue          string
		skipped        []time.Time
		replaced       *models.Job // cancelled for the new occurrence
		replacedQueues []string
	)
	_, err := e.store.Recurring.UpdateRecurring(ctx, name, func(tx models.Tx, rj *models.RecurringJob) error {
		queue, skipped, replaced, replacedQueues = "", nil, nil, nil
		sched := r.schedule(name) // the timer's, unless the row changed since
		if sched == nil || sched.Spec() != rj.Spec || sched.Location().String() != rj.TimeZone {
			var err error
			if sched, err = ParseSchedule(rj.Spec, rj.TimeZone); err != nil {
				return err
			}
		}
		now := e.clock.Now()
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
		if rj.Overlap == models.OverlapSkip || rj.Overlap == models.OverlapReplace {
			busy, err := unfinished(tx, rj.LastJobID)
			if err != nil {
				return err
			}
			switch {
			case busy && rj.Overlap == models.OverlapSkip:
				at := now.UTC()
				rj.Skipped += int64(len(due))
				rj.LastSkippedAt = &at
				skipped = append(skipped, due...)
				return nil // the occurrences pass: the deferred update moves to the next
			case busy:
				reason := fmt.Sprintf("replaced by the %s occurrence of recurring job %s", due[len(due)-1].UTC().Format(time.RFC3339), rj.Name)
				before, queues, err := tx.CancelJob(*rj.LastJobID, reason)
				if err != nil && models.ErrorCode(err) != models.ECONFLICT { // ECONFLICT: it just finished
					return err
				}
				if err == nil {
					replaced, replacedQueues = before, queues
				}
			}
		}
		jobs := make([]*models.Job, len(due))
		for i, occ := range due {
			key := recurringPrefix + rj.Name + ":" + strconv.FormatInt(occ.Unix(), 10)
			jobs[i] = &models.Job{
				Kind: rj.Kind, Args: rj.Args, Queue: rj.Queue, Priority: rj.Priority, MaxAttempts: rj.MaxAttempts,
				Timeout: rj.Timeout, UniqueKey: &key, RecurringID: &rj.ID,
			}
		}
		if _, err := tx.InsertJobs(jobs, now); err != nil {
			return err
		}
		last := jobs[len(jobs)-1]
		at := now.UTC()
		rj.LastRunAt, rj.LastJobID, queue = &at, &last.ID, rj.Queue
		return nil
	})
	if models.ErrorCode(err) == models.ENOTFOUND {
		r.disarm(name) // deleted meanwhile, on this server or another
		return
	}
	if err != nil {
		e.log.Error("jobs: recurring job did not fire", "name", name, "err", err)
		return
	}
	for _, occ := range skipped {
		e.log.Info("jobs: recurring occurrence skipped: the job of the one before has not finished", "name", name, "occurrence", occ.UTC())
	}
	if replaced != nil {
		e.log.Info("jobs: recurring job replaced an unfinished run", "name", name, "cancelled", replaced.ID)
		e.afterStop(replaced, replacedQueues)
	}
	if queue != "" {
		e.wake(queue)
	}
}

// unfinished says whether the job id (a recurring entry's last) exists and has not finished.
func unfinished(tx models.Tx, id *int64) (bool, error) {
	if id == nil {
		return false, nil
	}
	state, err := tx.JobState(*id)
	if err != nil {
		return false, err
	}
	return state != "" && !state.Final(), nil
}

// dueOccurrences returns the occurrences to enqueue now, given the entry's next recorded
// occurrence. On time, that is the one occurrence that just came. After a gap (no server ran):
// relaxed runs once, for the latest missed occurrence; strict runs each missed occurrence, at
// most capN (the latest ones); ignore runs only an occurrence that is within threshold of now.
func dueOccurrences(s *Schedule, next, now time.Time, policy string, threshold time.Duration, capN int) []time.Time {
	if next.After(now) {
		return nil
	}
	n := 1
	if policy == models.MisfireStrict {
		n = max(capN, 1)
	}
	due := latestOccurrences(s, next, now, n)
	latest := due[len(due)-1]
	switch policy {
	case models.MisfireStrict:
		return due
	case models.MisfireIgnore:
		if now.Sub(latest) <= threshold {
			return []time.Time{latest}
		}
		return nil
	default:
		return []time.Time{latest}
	}
}

// latestOccurrences returns the last n of next and the occurrences after it up to now, oldest
// first. It looks back from now over a window that doubles until it holds n of them, so a
// long outage costs about as much as the occurrences kept, not every one missed.
func latestOccurrences(s *Schedule, next, now time.Time, n int) []time.Time {
	for window := time.Minute; ; window *= 2 {
		from := now.Add(-window)
		whole := !from.After(next) || window > 1<<62
		if whole {
			from = next
		}
		ring, count := make([]time.Time, n), 0 // the last n seen, circularly
		keep := func(t time.Time) {
			ring[count%n] = t
			count++
		}
		if whole {
			keep(next)
		}
		for t := s.Next(from); !t.IsZero() && !t.After(now); t = s.Next(t) {
			keep(t)
		}
		if whole || count >= n {
			if count <= n {
				return ring[:count]
			}
			return append(ring[count%n:], ring[:count%n]...)
		}
	}
}
