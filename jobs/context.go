package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/kilnhq/kiln/models"
)

type jobStateKey struct{}

// jobState is what a running job's context carries.
type jobState struct {
	e   *Engine
	job *models.Job

	mu     sync.Mutex
	result string
	// tooBig is why a result was refused (over models.JobResultMax): the job fails with it.
	tooBig error
}

// refused is why the job's result was refused, if it was: a permanent error.
func (s *jobState) refused() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tooBig == nil {
		return nil
	}
	return Permanent(s.tooBig)
}

func stateOf(ctx context.Context) *jobState {
	s, _ := ctx.Value(jobStateKey{}).(*jobState)
	return s
}

// JobFrom returns the job a worker's context belongs to, or nil outside a worker.
func JobFrom(ctx context.Context) *models.Job {
	if s := stateOf(ctx); s != nil {
		return s.job
	}
	return nil
}

// Logf writes a line to the running job's log, shown with its history. Outside a worker it
// does nothing. A failure to store the line is logged, not returned: logging must not fail a job.
func Logf(ctx context.Context, format string, args ...any) {
	s := stateOf(ctx)
	if s == nil {
		return
	}
	line := s.logLine(fmt.Sprintf(format, args...), time.Now())
	// Lines logged at the same time by other jobs share the transaction (group commit); Logf
	// still returns only once its line is stored.
	if err := s.e.logs.Do(context.WithoutCancel(ctx), line); err != nil {
		s.e.log.Warn("jobs: could not store a job log line", "job", s.job.ID, "err", err)
	}
}

// LogLines writes lines to the running job's log in one transaction, in order: for a worker
// that has many at once (an exec job's output), where Logf would store them one by one. Outside
// a worker it does nothing; like Logf, a failure to store them is logged, not returned.
func LogLines(ctx context.Context, msgs []string) {
	s := stateOf(ctx)
	if s == nil || len(msgs) == 0 {
		return
	}
	now := time.Now()
	lines := make([]models.JobLog, len(msgs))
	for i, msg := range msgs {
		lines[i] = s.logLine(msg, now)
	}
	if err := s.e.store.Jobs.AppendJobLogs(context.WithoutCancel(ctx), lines); err != nil {
		s.e.log.Warn("jobs: could not store job log lines", "job", s.job.ID, "lines", len(lines), "err", err)
	}
}

// logLine is msg as a line of the job's log, written at at.
func (s *jobState) logLine(msg string, at time.Time) models.JobLog {
	line := models.JobLog{JobID: s.job.ID, Attempt: s.job.Attempt, At: at}
	line.SetMessage(msg)
	return line
}

// SetProgress records the running job's progress, 0 to 100.
func SetProgress(ctx context.Context, pct int) {
	s := stateOf(ctx)
	if s == nil {
		return
	}
	if err := s.e.store.Jobs.SetJobProgress(context.WithoutCancel(ctx), s.job.ID, pct); err != nil {
		s.e.log.Warn("jobs: could not store job progress", "job", s.job.ID, "err", err)
	}
}

// SetResult stores v, as JSON, as the job's result when it succeeds: the steps of a workflow
// that depend on the job read it (StepResult, ${steps.NAME.result} templates). Keep it small:
// a result over models.JobResultMax bytes is refused, and the job fails with that error even
// if its worker returns nil, unless a later SetResult fits.
func SetResult(ctx context.Context, v any) error {
	s := stateOf(ctx)
	if s == nil {
		return invalid(fmt.Errorf("%w: SetResult outside a running job", ErrInvalidOption))
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("jobs: result of job %d: %w", s.job.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(b) > models.JobResultMax {
		s.tooBig = fmt.Errorf("the job's result is %d bytes; at most %d are kept (models.JobResultMax): keep a large result elsewhere and return where", len(b), models.JobResultMax)
		return fmt.Errorf("jobs: result of job %d: %w", s.job.ID, s.tooBig)
	}
	s.result, s.tooBig = string(b), nil
	return nil
}

// actorKey carries who asked for an action, for the job's history.
type actorKey struct{}

// WithActor names who performs the actions made with ctx (a dashboard user, "api"); the name
// is recorded in the history of the jobs they change.
func WithActor(ctx context.Context, who string) context.Context {
	return context.WithValue(ctx, actorKey{}, who)
}

func actor(ctx context.Context) string {
	if who, _ := ctx.Value(actorKey{}).(string); who != "" {
		return who
	}
	return "api"
}

// note is the first-event note of a job enqueued with ctx: who asked, when someone did.
func note(ctx context.Context, verb string) string {
	if who, _ := ctx.Value(actorKey{}).(string); who != "" {
		return verb + " by " + who
	}
	return ""
}
