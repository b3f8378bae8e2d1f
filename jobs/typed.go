package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/kilnhq/kiln/models"
)

// Job is a job of a kind registered with Register: its row, and its arguments decoded once,
// before the worker is called.
type Job[T any] struct {
	*models.Job
	Args T
}

// Kind is a kind registered with Register: it enqueues jobs whose arguments are a T, so the
// compiler checks what callers pass.
type Kind[T any] struct {
	name string
	e    *Engine
}

// Register makes fn the worker of jobs of kind name, whose arguments are a T (usually a struct
// with JSON tags). Each job's arguments are decoded into a T before fn is called; arguments
// that don't decode fail the job at once, without a retry, saying why. opts are the kind's
// defaults, as for Engine.Register. The Kind it returns enqueues jobs of the kind:
//
//	emails, err := jobs.Register(engine, "email.send", func(ctx context.Context, job *jobs.Job[EmailArgs]) error {
//		return send(ctx, job.Args.To, job.Args.Subject)
//	}, jobs.MaxAttempts(5))
//	job, err := emails.Enqueue(ctx, EmailArgs{To: "ada@example.com", Subject: "Hi"})
func Register[T any](e *Engine, name string, fn func(ctx context.Context, job *Job[T]) error, opts ...Option) (Kind[T], error) {
	var check func(context.Context, *T) error
	if _, ok := any(new(T)).(Validator); ok {
		check = func(_ context.Context, args *T) error { return any(args).(Validator).Validate() }
	}
	return registerKind(e, name, fn, check, opts)
}

// RegisterChecked is Register with check run on every new job's decoded arguments when the job
// is made on this server, with the enqueuer's context, in place of Validator's Validate: for a
// check that needs more than the arguments (a secret store, the file system, a setting of the
// server). An error refuses the job before it is stored (a *FieldError names the argument). A
// nil check is Register's. The worker should check again: a job made on another server, or
// through the store, was not checked here.
func RegisterChecked[T any](e *Engine, name string, fn func(ctx context.Context, job *Job[T]) error, check func(ctx context.Context, args *T) error, opts ...Option) (Kind[T], error) {
	if check == nil {
		return Register(e, name, fn, opts...)
	}
	return registerKind(e, name, fn, check, opts)
}

// Validator is implemented by argument types that check themselves. A kind registered with
// Register whose arguments (as a pointer) are a Validator has every job's arguments decoded and
// validated when the job is made on this server: a bad one is refused with the error (a
// *FieldError names the argument) instead of failing later in a worker.
type Validator interface {
	Validate() error
}

// registerKind is Register with check run on a new job's decoded arguments (nil: none).
func registerKind[T any](e *Engine, name string, fn func(ctx context.Context, job *Job[T]) error, check func(context.Context, *T) error, opts []Option) (Kind[T], error) {
	if fn == nil {
		return Kind[T]{}, invalid(fmt.Errorf("%w: Register needs a kind and a function", ErrInvalidOption))
	}
	work := func(ctx context.Context, row *models.Job) error {
		var args T
		if err := json.Unmarshal([]byte(row.Args), &args); err != nil {
			return Permanent(fmt.Errorf("the arguments of %s don't fit %s: %v", row.Kind, reflect.TypeFor[T](), err))
		}
		return fn(ctx, &Job[T]{Job: row, Args: args})
	}
	var checkRaw func(context.Context, string) error
	if check != nil {
		checkRaw = func(ctx context.Context, raw string) error {
			var args T
			if err := json.Unmarshal([]byte(raw), &args); err != nil {
				return &FieldError{Field: "args", Message: fmt.Sprintf("the arguments of %s don't fit: %v", name, err)}
			}
			return check(ctx, &args)
		}
	}
	if err := e.register(name, work, reflect.TypeFor[T](), checkRaw, opts); err != nil {
		return Kind[T]{}, err
	}
	return Kind[T]{name: name, e: e}, nil
}

// Name returns the kind's name.
func (k Kind[T]) Name() string { return k.name }

// Enqueue stores a job of the kind with args, to run as soon as a worker is free (see
// Engine.Enqueue for the options).
func (k Kind[T]) Enqueue(ctx context.Context, args T, opts ...Option) (*models.Job, error) {
	return k.e.Enqueue(ctx, k.name, args, opts...)
}

// Schedule stores a job of the kind with args, to run at at.
func (k Kind[T]) Schedule(ctx context.Context, at time.Time, args T, opts ...Option) (*models.Job, error) {
	return k.e.Schedule(ctx, at, k.name, args, opts...)
}

// ContinueWith stores a job of the kind with args, to run after the job parentID succeeds (see
// Engine.ContinueWith).
func (k Kind[T]) ContinueWith(ctx context.Context, parentID int64, args T, opts ...Option) (*models.Job, error) {
	return k.e.ContinueWith(ctx, parentID, k.name, args, opts...)
}
