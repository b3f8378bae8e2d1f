package jobs

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kilnhq/kiln/models"
)

// Sentinel errors of the jobs package. An error wrapping ErrInvalidSchedule,
// ErrUnknownTimeZone or ErrInvalidOption is also an EINVALID *models.Error (errors.As), so that
// pages, the API and the CLI answer it as any other invalid input, with no case of their own.
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

// invalidError is the engine's refusal of its caller's input: err as it was (its text, and
// errors.Is of its sentinel), holding the EINVALID *models.Error that every caller maps.
type invalidError struct {
	err   error
	coded *models.Error
}

func (e *invalidError) Error() string { return e.err.Error() }

// Unwrap returns err and the coded error, so that errors.Is finds the sentinel and errors.As
// (models.ErrorCode, models.ErrorMessage) the code and the message.
func (e *invalidError) Unwrap() []error { return []error{e.err, e.coded} }

// invalid marks err, which wraps one of the package's sentinels, as invalid input. The message a
// user sees is err's text without the package's prefix ("invalid option: overlap policy ..."),
// as the API has always shown it.
func invalid(err error) error {
	msg := strings.TrimPrefix(err.Error(), "jobs: ")
	return &invalidError{err: err, coded: &models.Error{Code: models.EINVALID, Message: msg}}
}

// SnoozeError is the error Snooze returns: it asks for the job to run again after a delay,
// without using an attempt. It is exported so that code that rewrites a worker's error (the
// built-in kinds mask secrets in it) can find it with errors.As and keep it a snooze.
type SnoozeError struct{ d time.Duration }

func (e *SnoozeError) Error() string { return fmt.Sprintf("snoozed for %s", e.d) }

// Snooze returns an error that, returned by a worker, reschedules the job to run again after d
// without using an attempt.
func Snooze(d time.Duration) error { return &SnoozeError{d: max(d, 0)} }

// PermanentError is the error Permanent returns: it fails the job at once, without further
// attempts. It is exported so that code that rewrites a worker's error (the built-in kinds mask
// secrets in it) can find it with errors.As, even under another error, and keep it permanent.
type PermanentError struct{ err error }

func (e *PermanentError) Error() string { return e.err.Error() }

// Unwrap returns the error Permanent was given.
func (e *PermanentError) Unwrap() error { return e.err }

// Permanent wraps err so that, returned by a worker, it fails the job without retrying.
func Permanent(err error) error {
	if err == nil {
		err = errors.New("failed permanently")
	}
	return &PermanentError{err: err}
}

// FieldError is a problem with one argument of a job, named so that a form or an API response
// can show it next to the field. A kind's argument check (Validator, RegisterChecked) returns
// one to say which argument is wrong.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

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
