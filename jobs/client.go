package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/kilnhq/kiln/models"
)

// EnqueueParams is one job of an EnqueueMany batch.
type EnqueueParams struct {
	Kind string
	Args any
	Opts []Option
}

// Enqueue stores a fire-and-forget job of the kind with args (marshalled to JSON) and wakes
// this process's workers. Options: Queue, Priority, MaxAttempts, Timeout, UniqueKey, RunAt.
// With a UniqueKey that is taken, it returns the existing job and creates none. Any kind is
// taken, registered anywhere or not: a producer process legitimately enqueues kinds that only
// its workers' processes register. The API and the dashboard are stricter: they refuse a kind
// that is not in KnownKinds unless the caller allows an unknown kind.
func (e *Engine) Enqueue(ctx context.Context, kind string, args any, opts ...Option) (*models.Job, error) {
	jobs, err := e.EnqueueMany(ctx, []EnqueueParams{{Kind: kind, Args: args, Opts: opts}})
	if err != nil {
		return nil, err
	}
	return jobs[0], nil
}

// Schedule stores a job to run at `at`.
func (e *Engine) Schedule(ctx context.Context, at time.Time, kind string, args any, opts ...Option) (*models.Job, error) {
	return e.Enqueue(ctx, kind, args, append(opts, RunAt(at))...)
}

// ScheduleIn stores a job to run after delay d.
func (e *Engine) ScheduleIn(ctx context.Context, d time.Duration, kind string, args any, opts ...Option) (*models.Job, error) {
	return e.Schedule(ctx, time.Now().Add(d), kind, args, opts...)
}

// ContinueWith stores a continuation: a job that waits (Awaiting) until job parentID reaches a
// final state, then runs if the parent succeeded (or whatever the outcome, with
// OnAnyFinalState) and is cancelled otherwise.
func (e *Engine) ContinueWith(ctx context.Context, parentID int64, kind string, args any, opts ...Option) (*models.Job, error) {
	j, err := e.newJob(ctx, kind, args, opts, "on any final state")
	if err != nil {
		return nil, err
	}
	j.ParentID, j.Note = &parentID, note(ctx, "enqueued")
	if j.ContinueOn == "" {
		j.ContinueOn = models.ContinueOnSuccess
	}
	span := e.traceEnqueue(ctx, []*models.Job{j})
	models.AuditEnqueue(ctx, []*models.Job{j})
	_, err = e.store.Jobs.InsertJobs(ctx, []*models.Job{j}, time.Now())
	endEnqueue(span, []*models.Job{j}, err)
	if err != nil {
		return nil, err
	}
	e.wake(j.Queue)
	return j, nil
}

// EnqueueMany stores a batch of jobs in one transaction.
func (e *Engine) EnqueueMany(ctx context.Context, batch []EnqueueParams) ([]*models.Job, error) {
	results, err := e.EnqueueResults(ctx, batch)
	if err != nil {
		return nil, err
	}
	jobs := make([]*models.Job, len(results))
	for i, r := range results {
		jobs[i] = r.Job
	}
	return jobs, nil
}

// EnqueueResult is what enqueueing one job did.
type EnqueueResult struct {
	Job *models.Job
	// Duplicate: the job's unique key was taken, and Job is the job that holds it.
	Duplicate bool
}

// EnqueueResults is EnqueueMany, saying of each job whether it was a duplicate of one stored
// before.
func (e *Engine) EnqueueResults(ctx context.Context, batch []EnqueueParams) ([]EnqueueResult, error) {
	// With tracing on, one span covers the batch and its context goes with each job (tracing.go).
	jobs := make([]*models.Job, len(batch))
	for i, p := range batch {
		j, err := e.newJob(ctx, p.Kind, p.Args, p.Opts)
		if err != nil {
			if len(batch) > 1 {
				return nil, &BatchError{Index: i, Err: err}
			}
			return nil, err
		}
		j.Note = note(ctx, "enqueued")
		jobs[i] = j
	}
	span := e.traceEnqueue(ctx, jobs)
	out, err := e.enqueueResults(ctx, jobs)
	endEnqueue(span, jobs, err)
	return out, err
}

// enqueueResults stores the jobs EnqueueResults built.
func (e *Engine) enqueueResults(ctx context.Context, jobs []*models.Job) ([]EnqueueResult, error) {
	out := make([]EnqueueResult, len(jobs))
	for i, j := range jobs {
		out[i].Job = j
	}
	models.AuditEnqueue(ctx, jobs)                  // someone's enqueue: its audit entry names what it stored
	if len(jobs) == 1 && jobs[0].UniqueKey == nil { // a unique job is never claimed at insert
		if stored, err := e.enqueueToWorker(ctx, jobs[0]); err != nil {
			return nil, err
		} else if stored {
			return out, nil
		}
	}
	var dups []int
	var err error
	if len(jobs) == 1 { // single enqueues from many callers share transactions
		res := e.group.Do(ctx, jobs)
		dups, err = res.dups, res.err
	} else {
		dups, err = e.store.Jobs.InsertJobs(ctx, jobs, time.Now())
	}
	if err != nil {
		return nil, err
	}
	for i, j := range jobs { // a duplicate's entry is now the job that holds the key
		out[i].Job = j
	}
	for _, i := range dups {
		out[i].Duplicate = true
	}
	e.wakeReady(jobs)
	return out, nil
}

// wakeReady nudges the fetchers of the queues that got jobs to run now (not delayed, not
// awaiting a parent).
func (e *Engine) wakeReady(jobs []*models.Job) {
	var queues []string
	for _, j := range jobs {
		if j.State == models.JobEnqueued && !slices.Contains(queues, j.Queue) {
			queues = append(queues, j.Queue)
		}
	}
	if len(queues) > 0 { // wake() with no queue wakes every pool
		e.wake(queues...)
	}
}

// EnqueueTx stores a job inside the caller's transaction, so it exists only if the caller's
// work commits. Workers find it at their next poll (PollInterval).
func (e *Engine) EnqueueTx(tx *gorm.DB, kind string, args any, opts ...Option) (*models.Job, error) {
	ctx := tx.Statement.Context
	if ctx == nil {
		ctx = context.Background()
	}
	j, err := e.newJob(ctx, kind, args, opts)
	if err != nil {
		return nil, err
	}
	span := e.traceEnqueue(ctx, []*models.Job{j})
	_, err = e.store.Jobs.InsertJobsTx(tx, []*models.Job{j}, time.Now())
	endEnqueue(span, []*models.Job{j}, err)
	if err != nil {
		return nil, err
	}
	return j, nil
}

// newJob builds a job row from the kind's defaults and the options, its arguments checked.
func (e *Engine) newJob(ctx context.Context, kind string, args any, opts []Option, extra ...string) (*models.Job, error) {
	raw, err := marshalArgs(args)
	if err != nil {
		return nil, err
	}
	if err := e.CheckArgs(ctx, kind, raw); err != nil {
		return nil, err
	}
	return e.jobOf(kind, raw, opts, extra...)
}

// jobOf builds a job row of kind with these arguments (JSON) from the kind's defaults and the
// options.
func (e *Engine) jobOf(kind, raw string, opts []Option, extra ...string) (*models.Job, error) {
	s := collect(opts)
	if err := s.only("a job", append([]string{"unique key", "run at", "tags"}, extra...)...); err != nil {
		return nil, err
	}
	if s.uniqueKey != nil {
		if s.idempotencyKey != nil {
			return nil, &models.Error{Code: models.EINVALID, Message: "Give a unique key or an idempotency key, not both.",
				Fields: map[string]string{"unique_key": "Give a unique key or an idempotency key, not both."}}
		}
		if err := CheckUniqueKey(*s.uniqueKey); err != nil {
			return nil, err
		}
	}
	j := &models.Job{Kind: kind, Args: raw, ContinueOn: s.continueOn}
	d := e.defaultsOf(kind)
	s.apply(j, d)
	if err := models.KindName.Check(j.Kind); err != nil { // the store checks too; here a batch can say which job
		return nil, err
	}
	if err := models.QueueName.Check(j.Queue); err != nil {
		return nil, err
	}
	if d.unique != nil && j.UniqueKey == nil {
		due := j.RunAt
		if due.IsZero() {
			due = e.clock.Now()
		}
		key, err := d.unique.key(j, due)
		if err != nil {
			return nil, err
		}
		j.UniqueKey, j.UniqueStates = &key, d.unique.states()
	}
	if s.tags != nil {
		if err := j.SetTags(s.tags); err != nil {
			return nil, err
		}
	}
	return j, nil
}

// CheckArgs vets args (JSON) for a new job of the kind, as enqueueing does: kinds whose
// arguments check themselves (see Validator) and the built-in http.request and exec refuse bad
// ones with a models.Error (EINVALID) naming the argument. A kind not registered here passes.
func (e *Engine) CheckArgs(ctx context.Context, kind, args string) error {
	k, ok := e.kind(kind)
	if !ok || k.check == nil {
		return nil
	}
	err := k.check(ctx, args)
	if err == nil {
		return nil
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		field := "args"
		if fe.Field != "args" {
			field = "args." + fe.Field
		}
		return &models.Error{Code: models.EINVALID, Message: fmt.Sprintf("The arguments of %s are not valid: %s", kind, fe.Error()),
			Fields: map[string]string{field: fe.Message}}
	}
	var me *models.Error
	if errors.As(err, &me) {
		return err
	}
	return &models.Error{Code: models.EINVALID, Message: fmt.Sprintf("The arguments of %s are not valid: %v", kind, err),
		Fields: map[string]string{"args": err.Error()}}
}

// Cancel cancels a job that has not finished. A waiting job is cancelled at once; a running
// job's context is cancelled (at once on this server, within a second on another).
func (e *Engine) Cancel(ctx context.Context, id int64) error {
	before, queues, err := e.store.Jobs.CancelJob(ctx, id, "cancelled by "+actor(ctx))
	if err != nil {
		return err
	}
	e.afterStop(before, queues)
	return nil
}

// Delete marks a job Deleted (a running one is stopped as by Cancel); retention removes it later.
func (e *Engine) Delete(ctx context.Context, id int64) error {
	before, queues, err := e.store.Jobs.DeleteJob(ctx, id, "deleted by "+actor(ctx))
	if err != nil {
		return err
	}
	e.afterStop(before, queues)
	return nil
}

func (e *Engine) afterStop(before *models.Job, queues []string) {
	if before.State == models.JobProcessing && before.ServerID == e.cfg.ServerID {
		e.cancelLocal(before.ID)
	}
	e.wake(queues...)
}

// Requeue runs a succeeded, failed, cancelled or deleted job again, with its attempts reset.
func (e *Engine) Requeue(ctx context.Context, id int64) error {
	_, queues, err := e.store.Jobs.RequeueJob(ctx, id, "requeued by "+actor(ctx))
	if err != nil {
		return err
	}
	e.wake(queues...)
	return nil
}

// TriggerNow runs a scheduled or awaiting job now.
func (e *Engine) TriggerNow(ctx context.Context, id int64) error {
	_, queues, err := e.store.Jobs.TriggerJob(ctx, id, fmt.Sprintf("triggered now by %s", actor(ctx)))
	if err != nil {
		return err
	}
	e.wake(queues...)
	return nil
}

// enqueueToWorker stores a job and hands it straight to a free worker of this process, when its
// queue has one here: InsertAndClaimJob claims the job in the transaction that stores it, so it
// starts without a claim of its own. It reports false, having stored nothing, when no worker is
// free; true, once the job is stored (claimed and running, or waiting like any other job); and
// an error when storing it failed.
func (e *Engine) enqueueToWorker(ctx context.Context, j *models.Job) (bool, error) {
	e.mu.RLock()
	p := e.pools[j.Queue]
	if !e.accepting || p == nil || e.paused[j.Queue] || !p.reserve() {
		e.mu.RUnlock()
		return false, nil
	}
	e.work.Add(1) // under mu, so Stop, which first clears accepting, waits for this job too
	workCtx := e.workCtx
	e.mu.RUnlock()
	now := time.Now()
	claim := e.claims.begin(now)
	defer e.claims.end(claim)
	claimed, err := e.store.Jobs.InsertAndClaimJob(ctx, j, now, models.ClaimParams{
		Queue: j.Queue, ServerID: e.cfg.ServerID, Limit: 1, Lease: e.cfg.Lease, Idle: p.drained.Load(),
	})
	if claimed && err != nil { // stored and claimed all the same: it runs, in a trace link short
		e.log.Warn("jobs: store trace parent", "job", j.ID, "err", err)
		err = nil
	}
	if err != nil || !claimed {
		p.busy.Add(-1)
		e.work.Done()
		if err == nil {
			e.wakeReady([]*models.Job{j})
		}
		return err == nil, err
	}
	e.startRun(workCtx, p, j)
	return true, nil
}
