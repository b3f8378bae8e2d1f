// Package jobs is Kiln's job engine: a Client API to enqueue, schedule, continue and cancel
// jobs; worker pools per queue with retries, timeouts and leases; recurring schedules (the
// only place that uses gocron); maintenance (rescue, promotion, heartbeats). It knows no kind of
// its own: Kiln's built-in kinds (http.request, exec, retention) are in jobs/builtin, registered
// through the same API as any application's. Everything it knows is stored through models, so
// any number of processes can share one database.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"go.opentelemetry.io/otel/trace"

	"github.com/kilnhq/kiln/internal/groupcommit"
	"github.com/kilnhq/kiln/models"
)

// WorkFunc does one job. A nil error succeeds; any other error retries with backoff (see
// Snooze and Permanent for other outcomes); a panic is recovered and retried. It must return
// soon after ctx is cancelled (job cancelled, timed out, or the server shutting down).
type WorkFunc func(ctx context.Context, job *models.Job) error

type kind struct {
	work     WorkFunc
	defaults kindDefaults
	args     reflect.Type // the arguments' type, for kinds registered with Register; else nil
	// check, when set, vets a new job's arguments (JSON) before it is stored.
	check func(ctx context.Context, args string) error
}

// Engine enqueues jobs and, once started, works them. Create it with New, register job kinds
// and recurring jobs, then Start it; Stop it before closing the store.
type Engine struct {
	cfg     Config
	store   *models.Store
	log     *slog.Logger
	created time.Time
	// clock tells recurring schedules the time and drives their timers; tests swap in a fake
	// one to cross clock changes.
	clock clockwork.Clock

	mu         sync.RWMutex
	kinds      map[string]*kind
	startup    []startupJob
	periodic   []periodicDuty     // upkeep registered from outside (Periodic)
	alertRules []models.AlertRule // defined in code, stored at Start
	started    bool
	stopOnce   sync.Once // Stop's work is done once; later and concurrent calls wait for it
	stopErr    error
	pools      map[string]*pool
	running    map[int64]*runningJob // jobs this process runs, by id
	paused     map[string]bool       // queues no worker takes jobs from, refreshed every poll
	refreshMu  sync.Mutex            // one refresh of paused at a time, so a stale read never wins
	recurring  *recurring
	health     dbHealth  // what the heartbeat learnt of the database
	seen       seenKinds // the kinds other servers registered, as last read
	claims     inflight  // claims under way, which rescues must not take for lost

	completer *completer
	tracer    trace.Tracer                                 // nil: tracing off (tracing.go)
	settling  sync.Map                                     // job id -> its attempt's trace.SpanContext, until its finish is written
	group     *groupcommit.Group[[]*models.Job, insertRes] // single enqueues, group-committed
	logs      *groupcommit.Group[models.JobLog, error]     // running jobs' log lines, group-committed
	accepting bool                                         // under mu: Start ran and Stop has not begun; Enqueue may hand jobs to workers
	workCtx   context.Context                              // the context jobs run under
	stopLoops context.CancelFunc                           // stops fetchers and most maintenance
	stopAlive context.CancelFunc                           // stops heartbeats and lease renewal, once nothing runs
	stopWork  context.CancelCauseFunc                      // cancels every running job
	loops     sync.WaitGroup
	alive     sync.WaitGroup
	work      sync.WaitGroup
}

type runningJob struct {
	job    *models.Job
	cancel context.CancelCauseFunc
	// ended: the run is over and its outcome on its way to the completer; the job stays in
	// running (this server holds it) until the completer has it.
	ended atomic.Bool
}

type startupJob struct {
	kind string
	args any
	opts []Option
}

// errShutdown is the cancellation cause of jobs still running when Stop's soft-stop window ends.
var errShutdown = errors.New("server shutting down")

// errNotRunning is the cancellation cause of a job that was cancelled, deleted or rescued elsewhere.
var errNotRunning = errors.New("job is no longer running here")

// New returns an engine on store: its jobs, recurring jobs, server registry, queues and kinds'
// limits, and its database's errors. A test may put a domain store of its own in a field of a
// copy of the store. Register kinds before Start.
func New(store *models.Store, cfg Config) (*Engine, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.FinishWriters == 0 {
		cfg.FinishWriters = 1
		if store.Shared() {
			cfg.FinishWriters = 2
		}
	}
	e := &Engine{
		cfg:     cfg,
		created: time.Now().UTC(),
		clock:   clockwork.NewRealClock(),
		store:   store,
		log:     cfg.Logger.With("server", cfg.ServerID),
		kinds:   map[string]*kind{},
		pools:   map[string]*pool{},
		running: map[int64]*runningJob{},
		paused:  map[string]bool{},
		tracer:  newTracer(cfg.TracerProvider),
	}
	for _, q := range cfg.Queues {
		e.pools[q.Name] = newPool(e, q)
	}
	e.recurring = newRecurring(e)
	e.group, e.logs = newGroupInserter(store), newLogWriter(store)
	return e, nil
}

// ServerID names this process in job history and the server registry.
func (e *Engine) ServerID() string { return e.cfg.ServerID }

// Logger returns the engine's logger (Config.Logger, naming this server), for code that
// registers kinds and has something to say at start: the built-in kinds warn about a risky
// --exec-allow there.
func (e *Engine) Logger() *slog.Logger { return e.log }

// Register makes fn the worker of jobs of the given kind, with opts as the kind's defaults
// (Queue, Priority, MaxAttempts, Timeout, WithBackoff). Registering a kind twice replaces it.
// fn receives the job's row and decodes its arguments itself: the form for kinds whose
// arguments are free-form JSON. The package-level Register decodes them into a type for you.
func (e *Engine) Register(kindName string, fn WorkFunc, opts ...Option) error {
	return e.register(kindName, fn, nil, nil, opts)
}

func (e *Engine) register(kindName string, fn WorkFunc, args reflect.Type, check func(context.Context, string) error, opts []Option) error {
	s := collect(opts)
	if err := s.only("Register", "backoff", "unique", "max running", "rate limit", "housekeeping"); err != nil {
		return err
	}
	if kindName == "" || fn == nil {
		return invalid(fmt.Errorf("%w: Register needs a kind and a function", ErrInvalidOption))
	}
	if err := models.KindName.Check(kindName); err != nil {
		return invalid(fmt.Errorf("%w: %s", ErrInvalidOption, models.ErrorMessage(err)))
	}
	d := kindDefaults{queue: DefaultQueue, maxAttempts: e.cfg.MaxAttempts, backoff: DefaultBackoff, housekeeping: s.housekeeping}
	var probe models.Job
	s.apply(&probe, d)
	d.queue, d.priority, d.maxAttempts, d.timeout = probe.Queue, probe.Priority, probe.MaxAttempts, probe.Timeout
	if s.backoff != nil {
		d.backoff = s.backoff
	}
	if s.rate != nil {
		if s.rate.n < 0 || (s.rate.n > 0 && s.rate.per < time.Second) {
			return invalid(fmt.Errorf("%w: kind %q: RateLimit needs n >= 0 per at least 1s", ErrInvalidOption, kindName))
		}
		d.rate = *s.rate
	}
	if s.maxRunning != nil {
		if *s.maxRunning < 0 {
			return invalid(fmt.Errorf("%w: kind %q: MaxRunning must be 0 (no cap) or more", ErrInvalidOption, kindName))
		}
		d.maxRunning = *s.maxRunning
	}
	if s.unique != nil {
		if err := s.unique.check(); err != nil {
			return fmt.Errorf("kind %q: %w", kindName, err)
		}
		d.unique = s.unique
	}
	if d.maxAttempts < 1 || d.timeout < 0 {
		return invalid(fmt.Errorf("%w: kind %q: max attempts must be at least 1 and timeout not negative", ErrInvalidOption, kindName))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.kinds[kindName] = &kind{work: fn, defaults: d, args: args, check: check}
	return nil
}

// OnStartup enqueues a job of the kind each time the engine starts: a hosted service's
// start-up work, visible in history like any job.
func (e *Engine) OnStartup(kindName string, args any, opts ...Option) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		return ErrStarted
	}
	e.startup = append(e.startup, startupJob{kind: kindName, args: args, opts: opts})
	return nil
}

func (e *Engine) kind(name string) (*kind, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	k, ok := e.kinds[name]
	return k, ok
}

func (e *Engine) defaultsOf(name string) kindDefaults {
	if k, ok := e.kind(name); ok {
		return k.defaults
	}
	return kindDefaults{queue: DefaultQueue, maxAttempts: e.cfg.MaxAttempts, backoff: DefaultBackoff}
}

// storeKindLimits writes the caps registered kinds declare (MaxRunning), so that every node,
// and every claim, keeps them.
func (e *Engine) storeKindLimits(ctx context.Context) error {
	e.mu.RLock()
	defs := map[string]kindDefaults{}
	for name, k := range e.kinds {
		defs[name] = k.defaults
	}
	e.mu.RUnlock()
	// What the code says, 0 included (a cap or rate taken out of the code goes), where it
	// changed since a server last said it: a limit set on the kind's page stays till then.
	code := make([]models.KindLimit, 0, len(defs))
	for name, d := range defs {
		per := int64(d.rate.per / time.Second)
		if d.rate.n == 0 {
			per = 0
		}
		code = append(code, models.KindLimit{Kind: name, MaxRunning: d.maxRunning, RateN: d.rate.n, RatePerSeconds: per})
	}
	slices.SortFunc(code, func(a, b models.KindLimit) int { return strings.Compare(a.Kind, b.Kind) })
	set, err := e.store.Jobs.ApplyCodeLimits(ctx, code)
	if err != nil {
		return fmt.Errorf("jobs: limits of kinds: %w", err)
	}
	if len(set) > 0 {
		e.log.Info("jobs: limits of kinds set from the code", "kinds", set)
	}
	return nil
}

// Start registers this server, enqueues the start-up jobs, starts the worker pools,
// maintenance and recurring schedules. It returns once they run.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	if e.started {
		e.mu.Unlock()
		return ErrStarted
	}
	e.started = true
	startup := e.startup
	e.mu.Unlock()

	if err := e.storeKindLimits(ctx); err != nil {
		return err
	}
	if err := e.storeAlertRules(ctx); err != nil {
		return err
	}
	if err := e.heartbeatServer(ctx); err != nil {
		return err
	}
	e.health.start(time.Now(), e.silence())
	// What an earlier process with this server's id left running is taken back at once; the
	// jobs of other silent servers three heartbeats later (rescueLoop), whatever their leases
	// say: they may be alive, back from an outage this server did not see.
	if err := e.rescue(ctx, rescueAtStart); err != nil {
		return err
	}
	if err := e.refreshPausedQueues(ctx); err != nil {
		return err
	}
	loopCtx, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	aliveCtx, stopAlive := context.WithCancel(context.WithoutCancel(ctx))
	workCtx, stopWork := context.WithCancelCause(context.WithoutCancel(ctx))
	e.stopLoops, e.stopAlive, e.stopWork = stopLoops, stopAlive, stopWork
	completer := newCompleter(e)
	completer.start()
	e.mu.Lock()
	e.completer = completer // under mu: metrics read it from their own goroutine
	e.workCtx, e.accepting = workCtx, true
	e.mu.Unlock()
	for _, p := range e.pools {
		e.loops.Add(1)
		go func() { defer e.loops.Done(); p.fetchLoop(loopCtx, workCtx) }()
	}
	if len(e.pools) > 0 && e.store.Shared() {
		// Jobs other nodes make ready wake this node's fetchers at once; polling stays the fallback.
		e.loops.Add(1)
		go func() {
			defer e.loops.Done()
			e.store.Jobs.ListenForJobs(loopCtx, func(queue string) {
				if queue == "" {
					e.wake()
				} else {
					e.wake(queue)
				}
			}, func(err error) {
				e.log.Warn("jobs: listening for other nodes' jobs failed; polling meanwhile", "err", err)
			})
		}()
	}
	e.startMaintenance(loopCtx, aliveCtx)
	for _, s := range startup {
		if _, err := e.Enqueue(ctx, s.kind, s.args, s.opts...); err != nil {
			return fmt.Errorf("jobs: start-up job %s: %w", s.kind, err)
		}
	}
	if err := e.recurring.start(ctx); err != nil {
		return err
	}
	e.log.Info("jobs: engine started", "queues", FormatQueues(e.cfg.Queues))
	return nil
}

// Stop shuts down in order: recurring schedules stop firing; workers stop taking jobs; running
// jobs get SoftStop to finish, then their contexts are cancelled and Stop waits for them (until
// ctx ends); jobs that did not finish go back to Enqueued; finished jobs are written; the server
// stops its heartbeat and leaves the registry. Until then its heartbeat and leases go on, so no
// server starting meanwhile takes back a job still running here. Nothing stays Processing after
// a clean stop. A second call, or one made meanwhile, waits for the first and returns its error.
func (e *Engine) Stop(ctx context.Context) error {
	e.mu.Lock()
	started := e.started
	e.mu.Unlock()
	if !started || e.stopLoops == nil {
		return nil
	}
	e.stopOnce.Do(func() { e.stopErr = e.stop(ctx) })
	return e.stopErr
}

// stop is Stop's work, done once.
func (e *Engine) stop(ctx context.Context) error {
	e.mu.Lock()
	e.accepting = false
	e.mu.Unlock()
	var errs []error
	errs = append(errs, e.recurring.stop())
	e.stopLoops()
	e.loops.Wait()

	if !waitTimeout(&e.work, e.cfg.SoftStop) {
		n := e.runningCount()
		e.log.Info("jobs: soft stop over; cancelling running jobs", "running", n)
		e.stopWork(errShutdown)
		if !waitContext(&e.work, ctx) {
			errs = append(errs, e.abandonRunning(ctx))
		}
	}
	e.stopWork(errShutdown)
	errs = append(errs, e.completer.stop(ctx))
	e.stopAlive()
	e.alive.Wait()
	if err := e.store.Servers.DeleteServer(context.WithoutCancel(ctx), e.cfg.ServerID); err != nil {
		errs = append(errs, err)
	}
	e.log.Info("jobs: engine stopped")
	return errors.Join(errs...)
}

// abandonRunning releases jobs whose workers ignored cancellation, so another server runs them;
// the goroutines themselves end with the process.
func (e *Engine) abandonRunning(ctx context.Context) error {
	e.mu.RLock()
	var batch []models.JobFinish
	now := time.Now().UTC().Truncate(time.Microsecond) // as stored, so that now-Duration is the start
	for _, r := range e.running {
		if r.ended.Load() { // its outcome is the completer's to write, or to give up
			continue
		}
		f := models.JobFinish{
			JobID: r.job.ID, ServerID: e.cfg.ServerID, Attempt: r.job.Attempt, Run: r.job.Runs, State: models.JobEnqueued,
			RunAt: now, RefundAttempt: true, At: now, Reason: "released at shutdown: the worker did not stop in time",
		}
		if r.job.StartedAt != nil { // the run's claim is not stored: its history draws it from this
			f.Duration = now.Sub(*r.job.StartedAt)
		}
		batch = append(batch, f)
	}
	e.mu.RUnlock()
	_, _, err := e.store.Jobs.FinishJobs(context.WithoutCancel(ctx), batch)
	return err
}

func (e *Engine) startedAt() time.Time { return e.created }

// ServerHeartbeat is how often servers record themselves; a server silent for three of these
// is possibly down.
func (e *Engine) ServerHeartbeat() time.Duration { return e.cfg.ServerHeartbeat }

// Queues returns the queues this process works, with their workers.
func (e *Engine) Queues() []QueueConfig { return append([]QueueConfig(nil), e.cfg.Queues...) }

func (e *Engine) runningCount() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return len(e.running)
}

// wake nudges the fetchers of the named queues (all queues when none is named).
func (e *Engine) wake(queues ...string) {
	if len(queues) == 0 {
		for _, p := range e.pools {
			p.nudge()
		}
		return
	}
	for _, q := range queues {
		if p, ok := e.pools[q]; ok {
			p.nudge()
		}
	}
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

func waitContext(wg *sync.WaitGroup, ctx context.Context) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// KindInfo is a registered kind and its defaults.
type KindInfo struct {
	Name        string
	Queue       string
	Priority    int
	MaxAttempts int
	Timeout     time.Duration
	// Args is the type of the kind's arguments when it was registered with Register, else nil.
	Args reflect.Type
	// Housekeeping: the kind was registered with Housekeeping, as the system's own upkeep.
	Housekeeping bool
}

// Kinds returns the kinds registered on this engine, by name.
func (e *Engine) Kinds() []KindInfo {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]KindInfo, 0, len(e.kinds))
	for name, k := range e.kinds {
		out = append(out, KindInfo{Name: name, Queue: k.defaults.queue, Priority: k.defaults.priority,
			MaxAttempts: k.defaults.maxAttempts, Timeout: k.defaults.timeout, Args: k.args, Housekeeping: k.defaults.housekeeping})
	}
	slices.SortFunc(out, func(a, b KindInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}
