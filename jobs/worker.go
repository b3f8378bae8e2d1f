package jobs

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/kilnhq/kiln/models"
)

// pool works one queue with a fixed number of concurrent jobs.
type pool struct {
	e       *Engine
	queue   string
	workers int
	busy    atomic.Int64
	wakeCh  chan struct{}
	// drained says the last claim found fewer jobs than it asked for: a worker coming free is no
	// reason to claim again until something says jobs may have arrived (a nudge) or the poll
	// interval passes, which spares an empty write transaction after every job of a quiet queue.
	drained atomic.Bool
	// nudges counts nudges, so that a claim that began before one does not mark the queue
	// drained after it: the jobs the nudge announced may not have been there for that claim.
	nudges atomic.Uint64
}

func newPool(e *Engine, q QueueConfig) *pool {
	return &pool{e: e, queue: q.Name, workers: q.Workers, wakeCh: make(chan struct{}, 1)}
}

// reserve takes a free worker for a job that will be handed over directly, if one is free.
func (p *pool) reserve() bool {
	for {
		busy := p.busy.Load()
		if busy >= int64(p.workers) {
			return false
		}
		if p.busy.CompareAndSwap(busy, busy+1) {
			return true
		}
	}
}

// nudge makes the fetcher look for jobs now instead of at its next poll: jobs may have arrived.
func (p *pool) nudge() {
	p.nudges.Add(1)
	p.drained.Store(false)
	p.signal()
}

// freed tells the fetcher a worker came free, which matters only while jobs wait.
func (p *pool) freed() {
	if !p.drained.Load() {
		p.signal()
	}
}

func (p *pool) signal() {
	select {
	case p.wakeCh <- struct{}{}:
	default:
	}
}

// fetchLoop claims as many jobs as there are free workers, whenever it is nudged (a job was
// enqueued in this process, or a worker came free) or the poll interval passes, until loopCtx
// ends. Jobs run under workCtx, which outlives loopCtx so that Stop can let them finish.
func (p *pool) fetchLoop(loopCtx, workCtx context.Context) {
	e := p.e
	poll := time.NewTimer(0)
	defer poll.Stop()
	failures := 0
	for {
		select {
		case <-loopCtx.Done():
			return
		case <-p.wakeCh:
		case <-poll.C:
		}
		free := p.workers - int(p.busy.Load())
		if free > 0 && free < p.workers/4 {
			// Most workers are busy and one just came free: let a quarter of them free up, for
			// at most a millisecond, so that a claim fetches several jobs instead of one (a
			// write transaction each).
			wait := time.NewTimer(time.Millisecond)
		gather:
			for free < p.workers/4 {
				select {
				case <-loopCtx.Done():
					wait.Stop()
					return
				case <-p.wakeCh:
				case <-wait.C:
					break gather
				}
				free = p.workers - int(p.busy.Load())
			}
			wait.Stop()
		}
		if free > 0 && !e.queuePaused(p.queue) {
			nudges := p.nudges.Load()
			now := time.Now()
			claim := e.claims.begin(now)
			jobs, err := e.store.Jobs.ClaimJobs(loopCtx, models.ClaimParams{
				Queue: p.queue, ServerID: e.cfg.ServerID, Limit: free, Lease: e.cfg.Lease, Now: now,
			})
			if err != nil && loopCtx.Err() == nil {
				failures++
				e.logFailure("jobs: claim failed", "queue", p.queue, "err", err)
			} else {
				failures = 0
			}
			if err == nil {
				// Short means drained, unless jobs were announced while the claim ran; full means
				// more may wait.
				p.drained.Store(len(jobs) < free && p.nudges.Load() == nudges)
			}
			if e.tracer != nil && len(jobs) > 0 {
				e.traceClaim(loopCtx, p.queue, trace.WithTimestamp(now), jobs)
			}
			for _, j := range jobs {
				p.busy.Add(1)
				e.work.Add(1)
				e.startRun(workCtx, p, j)
			}
			e.claims.end(claim) // its jobs are in running now
		}
		resetTimer(poll, e.cfg.PollInterval*time.Duration(1+min(failures, 9)))
	}
}

func resetTimer(t *time.Timer, d time.Duration) {
	t.Stop()
	select {
	case <-t.C:
	default:
	}
	t.Reset(d)
}

// startRun records the job as running here, then works it on a goroutine of its own: from its
// claim on, this server holds it (see held).
func (e *Engine) startRun(workCtx context.Context, p *pool, job *models.Job) {
	ctx, cancel := context.WithCancelCause(workCtx)
	mine := &runningJob{job: job, cancel: cancel}
	e.mu.Lock()
	if stale, ok := e.running[job.ID]; ok {
		// This process still runs an earlier claim of the job: it was rescued while this process
		// was frozen or cut off from the database, and is now claimed here again. Only the new
		// claim may finish it.
		stale.cancel(errNotRunning)
	}
	e.running[job.ID] = mine
	e.mu.Unlock()
	go p.run(ctx, mine)
}

// run works one claimed job and hands its outcome to the completer.
func (p *pool) run(ctx context.Context, mine *runningJob) {
	e, job := p.e, mine.job
	defer func() {
		p.busy.Add(-1)
		p.freed()
		e.work.Done()
	}()
	start := time.Now()
	defer mine.cancel(nil)
	state := &jobState{e: e, job: job}
	ctx = context.WithValue(ctx, jobStateKey{}, state)
	if job.Timeout > 0 {
		var cancelTimeout context.CancelFunc
		ctx, cancelTimeout = context.WithTimeout(ctx, job.Timeout)
		defer cancelTimeout()
	}

	var span trace.Span
	if e.tracer != nil {
		ctx, span = e.startAttempt(ctx, job)
	}
	k, known := e.kind(job.Kind)
	var err error
	if known {
		err = safeWork(ctx, k.work, job)
	} else {
		err = Permanent(fmt.Errorf("%w %q: no worker is registered for it on server %s", ErrUnknownKind, job.Kind, e.cfg.ServerID))
	}
	if err == nil {
		err = state.refused() // a result too big to keep fails the job: its dependents can't have it
	}
	mine.ended.Store(true)

	// The job leaves running once its outcome is the completer's: this server holds it
	// throughout (see held).
	defer func() {
		e.mu.Lock()
		if e.running[job.ID] == mine {
			delete(e.running, job.ID)
		}
		e.mu.Unlock()
	}()
	backoff := DefaultBackoff
	if known {
		backoff = k.defaults.backoff
	}
	f, ok := outcome(job, err, context.Cause(ctx), ctx.Err(), backoff, time.Now(), time.Since(start))
	if span != nil {
		e.endAttempt(span, f, ok, err)
	}
	if !ok {
		return // cancelled, deleted or rescued elsewhere: the database already says so
	}
	f.ServerID, f.Result = e.cfg.ServerID, state.result
	if e.store.Jobs.KindCapped(context.WithoutCancel(ctx), job.Kind) { // in code, on the page or through the API
		f.FreesSlotIn = job.Queue
	}
	if e.cfg.Observer != nil {
		e.cfg.Observer.JobFinished(job.Kind, job.Queue, outcomeName(f), f.Duration)
	}
	e.completer.add(f)
}

// safeWork calls fn, turning a panic into a *PanicError with the stack.
func safeWork(ctx context.Context, fn WorkFunc, job *models.Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: string(debug.Stack())}
		}
	}()
	return fn(ctx, job)
}

// outcome decides what an attempt's result means for the job. It reports false when the job
// stopped because it is no longer this server's to finish.
func outcome(job *models.Job, err, cause, ctxErr error, backoff Backoff, now time.Time, took time.Duration) (models.JobFinish, bool) {
	f := models.JobFinish{JobID: job.ID, Attempt: job.Attempt, Run: job.Runs, At: now, Duration: took}
	var (
		snooze    *SnoozeError
		permanent *PermanentError
	)
	switch {
	case errors.Is(cause, errNotRunning):
		return f, false
	case errors.Is(cause, errShutdown):
		f.State, f.RunAt, f.RefundAttempt = models.JobEnqueued, now, true
		f.Reason = "released: server shutting down"
		return f, true
	case err == nil:
		f.State, f.Reason = models.JobSucceeded, "succeeded"
		return f, true
	case errors.As(err, &snooze):
		f.State, f.RunAt, f.RefundAttempt = models.JobScheduled, now.Add(snooze.d), true
		f.Reason = fmt.Sprintf("snoozed for %s", snooze.d)
		return f, true
	}
	if errors.Is(ctxErr, context.DeadlineExceeded) && job.Timeout > 0 {
		err = fmt.Errorf("timed out after %s: %w", job.Timeout, err)
	}
	f.Error = err.Error()
	switch {
	case errors.As(err, &permanent):
		f.State, f.Reason = models.JobFailed, "failed permanently"
	case job.Attempt >= job.MaxAttempts:
		f.State, f.Reason = models.JobFailed, fmt.Sprintf("failed: attempt %d of %d, none left", job.Attempt, job.MaxAttempts)
	default:
		wait := backoff(job.Attempt)
		f.State, f.RunAt = models.JobScheduled, now.Add(wait)
		f.Reason = fmt.Sprintf("attempt %d of %d failed; retrying in %s", job.Attempt, job.MaxAttempts, wait.Round(time.Second))
	}
	return f, true
}
