package jobs

import (
	"fmt"
	"strings"
	"time"

	"github.com/kilnhq/kiln/models"
)

// DefaultQueue is the queue of jobs that name none (models.DefaultQueue).
const DefaultQueue = models.DefaultQueue

// Option sets how a job runs. Register takes options as its kind's defaults; Enqueue and
// friends take them for one job, over the kind's defaults; Recurring takes them for each job
// it enqueues, plus TimeZone and Misfire.
type Option func(*settings)

type settings struct {
	queue       *string
	priority    *int
	maxAttempts *int
	timeout     *time.Duration
	backoff     Backoff
	uniqueKey   *string
	// idempotencyKey is the unique key IdempotencyKey made (reserved prefix and all).
	idempotencyKey *string
	unique         *UniqueOpts
	maxRunning     *int
	rate           *kindRate
	runAt          time.Time
	continueOn     string
	tz             *string
	misfire        *string
	overlap        *string
	tags           []string
	housekeeping   bool
}

// Tags labels the job (at most models.MaxTags; each 1 to 50 letters, digits, '.', '_', ':' or
// '-'): the job list and the API filter by them.
func Tags(tags ...string) Option { return func(s *settings) { s.tags = append(s.tags, tags...) } }

// Housekeeping marks the kind as the system's own upkeep (Register only): work such as a sweep
// of overdue tasks, retention cleanup or alert delivery, that runs often and matters to an
// operator mostly when it misbehaves. Its jobs are stored, counted and run like any other; the
// dashboard leaves them out of Recent jobs and of the Jobs list until asked to show them, so
// that a sweep running every minute doesn't bury the application's own jobs.
func Housekeeping() Option { return func(s *settings) { s.housekeeping = true } }

// Queue puts the job on the named queue.
func Queue(name string) Option { return func(s *settings) { s.queue = &name } }

// Priority orders jobs within a queue: higher runs first. Default 0.
func Priority(p int) Option { return func(s *settings) { s.priority = &p } }

// MaxAttempts bounds how often the job runs before it fails for good. Default
// Config.MaxAttempts (DefaultMaxAttempts).
func MaxAttempts(n int) Option { return func(s *settings) { s.maxAttempts = &n } }

// Timeout bounds each attempt: the job's context is cancelled after d. 0 means no timeout.
func Timeout(d time.Duration) Option { return func(s *settings) { s.timeout = &d } }

// WithBackoff sets how long a kind waits before retrying (Register only).
func WithBackoff(b Backoff) Option { return func(s *settings) { s.backoff = b } }

// UniqueKey makes the job unique: while a job with the same key exists, enqueueing returns
// that job and creates none. Keys are shared by every caller; those that begin with one of
// ReservedKeyPrefixes are the engine's own, and refused (see CheckUniqueKey).
func UniqueKey(key string) Option { return func(s *settings) { s.uniqueKey = &key } }

// IdempotencyKey makes the job the one a retry of the same request by the same caller gets
// back, as an HTTP Idempotency-Key: its unique key is idempotency:<caller>:<key>, so a caller
// can't reach another's job (or keep another from making one) by sending the same key. caller
// names the client for good (an API token's id, not its name, which a new token may reuse).
func IdempotencyKey(caller, key string) Option {
	return func(s *settings) { k := idempotencyPrefix + caller + ":" + key; s.idempotencyKey = &k }
}

// The engine's own prefixes of unique keys: recurring occurrences, kinds' uniqueness (Unique),
// and Idempotency-Keys.
const (
	recurringPrefix   = "recurring:"
	uniquePrefix      = "unique:"
	idempotencyPrefix = "idempotency:"
)

// ReservedKeyPrefixes are the beginnings of the unique keys the engine makes itself. A key a
// caller gives may not begin with one: a planted recurring:<name>:<time> would make a recurring
// job skip that occurrence, an idempotency:... key would reach another caller's job.
var ReservedKeyPrefixes = []string{recurringPrefix, uniquePrefix, idempotencyPrefix}

// CheckUniqueKey refuses a unique key a caller may not give: one models.UniqueKeyText refuses
// (control, format or bidi characters...), or one that begins with one of
// ReservedKeyPrefixes. The error is an EINVALID *models.Error naming the unique_key field.
func CheckUniqueKey(key string) error {
	if err := models.UniqueKeyText.Check(key); err != nil {
		return err
	}
	for _, p := range ReservedKeyPrefixes {
		if strings.HasPrefix(key, p) {
			msg := fmt.Sprintf("Keys that begin with %q are the engine's own (%s); choose another.", p, strings.Join(ReservedKeyPrefixes, ", "))
			return &models.Error{Code: models.EINVALID, Message: msg, Fields: map[string]string{"unique_key": msg}}
		}
	}
	return nil
}

// RunAt schedules the job for t instead of now.
func RunAt(t time.Time) Option { return func(s *settings) { s.runAt = t } }

// OnAnyFinalState makes a continuation run whatever its parent's outcome (ContinueWith), or a
// workflow's step whatever the outcome of the steps it depends on; by default they run only
// after those succeeded, and are cancelled (a continuation) or skipped (a step) otherwise.
func OnAnyFinalState() Option { return func(s *settings) { s.continueOn = models.ContinueOnFinish } }

// OnFailure makes a workflow's step run only when one of the steps it depends on did not
// succeed, and be skipped when they all did: a cleanup, a "tell me it failed" (steps only).
func OnFailure() Option { return func(s *settings) { s.continueOn = models.ContinueOnFailure } }

// TimeZone reads a recurring job's cron fields in the IANA zone name (Recurring only). Default UTC.
func TimeZone(name string) Option { return func(s *settings) { s.tz = &name } }

// Misfire chooses what a recurring job does about occurrences missed while no server ran
// (Recurring only): models.MisfireRelaxed (default: one run now), MisfireStrict (one per missed
// occurrence, capped) or MisfireIgnore.
func Misfire(policy string) Option { return func(s *settings) { s.misfire = &policy } }

// Overlap chooses what an occurrence of a recurring job does while the job of the occurrence
// before has not finished (Recurring only): models.OverlapAllow (default: enqueue it anyway),
// OverlapSkip (enqueue nothing; the skip is counted on the entry) or OverlapReplace (cancel the
// unfinished job, then enqueue).
func Overlap(policy string) Option { return func(s *settings) { s.overlap = &policy } }

func collect(opts []Option) settings {
	var s settings
	for _, o := range opts {
		if o != nil {
			o(&s)
		}
	}
	return s
}

// only reports options that make no sense where they were given.
func (s settings) only(where string, allowed ...string) error {
	given := map[string]bool{
		"backoff": s.backoff != nil, "unique key": s.uniqueKey != nil || s.idempotencyKey != nil, "unique": s.unique != nil, "max running": s.maxRunning != nil, "rate limit": s.rate != nil, "run at": !s.runAt.IsZero(),
		"on any final state": s.continueOn != "", "time zone": s.tz != nil, "misfire": s.misfire != nil,
		"overlap": s.overlap != nil, "tags": s.tags != nil, "housekeeping": s.housekeeping,
	}
	for _, a := range allowed {
		delete(given, a)
	}
	for name, set := range given {
		if set {
			return invalid(fmt.Errorf("%w: %s does not apply to %s", ErrInvalidOption, name, where))
		}
	}
	return nil
}

// kindDefaults are a registered kind's settings.
type kindDefaults struct {
	unique      *UniqueOpts
	maxRunning  int
	rate        kindRate
	queue       string
	priority    int
	maxAttempts int
	timeout     time.Duration
	backoff     Backoff
	// housekeeping: the kind is the system's upkeep (Housekeeping).
	housekeeping bool
}

// apply builds a job row from the kind's defaults and the call's settings.
func (s settings) apply(j *models.Job, d kindDefaults) {
	j.Queue, j.Priority, j.MaxAttempts, j.Timeout = d.queue, d.priority, d.maxAttempts, d.timeout
	if s.queue != nil {
		j.Queue = *s.queue
	}
	if s.priority != nil {
		j.Priority = *s.priority
	}
	if s.maxAttempts != nil {
		j.MaxAttempts = *s.maxAttempts
	}
	if s.timeout != nil {
		j.Timeout = *s.timeout
	}
	j.UniqueKey, j.RunAt = s.uniqueKey, s.runAt
	if s.idempotencyKey != nil {
		j.UniqueKey = s.idempotencyKey
	}
}
