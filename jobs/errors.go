package jobs

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors of the jobs package.
var (
	// ErrInvalidSchedule is wrapped by every error about a bad schedule or time zone.
	ErrInvalidSchedule = errors.New("jobs: invalid schedule")
	// ErrUnknownTimeZone is wrapped by the error about a time zone Go's tz database doesn't
	// know; it wraps ErrInvalidSchedule.
	ErrUnknownTimeZone = fmt.Errorf("%w: unknown time zone", ErrInvalidSchedule)
	// ErrUnknownKind fails a job no worker is registered for.
	ErrUnknownKind = errors.New("jobs: unknown job kind")
	// ErrInvalidOption reports an option given where it has no meaning.
	ErrInvalidOption = errors.New("jobs: invalid option")
	// ErrStarted reports a registration after Start that must come before it.
	ErrStarted = errors.New("jobs: engine already started")
	// ErrInvalidConfig wraps every configuration error.
	ErrInvalidConfig = errors.New("jobs: invalid config")
)

// snoozeError asks for the job to run again after a delay, without using an attempt.
type snoozeError struct{ d time.Duration }

func (e *snoozeError) Error() string { return fmt.Sprintf("snoozed for %s", e.d) }

// Snooze returns an error that, returned by a worker, reschedules the job to run again after d
// without using an attempt.
func Snooze(d time.Duration) error { return &snoozeError{d: max(d, 0)} }

// permanentError fails the job at once, without further attempts.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent wraps err so that, returned by a worker, it fails the job without retrying.
func Permanent(err error) error {
	if err == nil {
		err = errors.New("failed permanently")
	}
	return &permanentError{err: err}
}

// PanicError is what a worker's panic becomes: the value and the stack, recorded in history.
type PanicError struct {
	Value any
	Stack string
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v\n\n%s", e.Value, e.Stack) }

// BatchError says which job of an EnqueueMany (or EnqueueResults) batch of several was
// refused, and why; the batch stored nothing. It wraps the job's error, so models.ErrorCode and
// models.FieldErrors read through it.
type BatchError struct {
	Index int // the job's place in the batch, from 0
	Err   error
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("jobs: job %d of the batch: %v", e.Index, e.Err)
}

// Unwrap returns the job's error.
func (e *BatchError) Unwrap() error { return e.Err }
