package jobs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kilnhq/kiln/models"
)

// UniqueOpts makes the jobs of a kind unique (Register's Unique option), as River's UniqueOpts
// does: while a job of the kind with the same key is in one of States, enqueueing another
// returns that job (EnqueueResult.Duplicate) and stores nothing. The key is the kind, plus
// whichever of these are set.
type UniqueOpts struct {
	// ByArgs adds the arguments (as JSON with sorted keys): the same kind with other arguments
	// is another job. ArgsFields, when set, adds only those top-level fields of the arguments.
	ByArgs     bool
	ArgsFields []string
	// ByPeriod adds the period (aligned to the Unix epoch) the job is due in: one job per hour
	// with time.Hour.
	ByPeriod time.Duration
	// ByQueue adds the queue.
	ByQueue bool
	// States are the states in which a job holds its key. Default DefaultUniqueStates; a job
	// in another state (cancelled, failed, ...) gives the key up to the next one.
	States []models.JobState
}

// DefaultUniqueStates are the states in which a job of a unique kind holds its key: every
// state but cancelled, failed and deleted.
var DefaultUniqueStates = []models.JobState{models.JobScheduled, models.JobEnqueued, models.JobProcessing, models.JobAwaiting, models.JobSucceeded}

// Unique makes the kind's jobs unique by opts (Register only). A job enqueued with its own
// UniqueKey keeps that key instead.
func Unique(opts UniqueOpts) Option { return func(s *settings) { o := opts; s.unique = &o } }

// check vets the options.
func (o *UniqueOpts) check() error {
	if o.ByPeriod < 0 || (o.ByPeriod > 0 && o.ByPeriod < time.Second) {
		return invalid(fmt.Errorf("%w: a unique period is at least 1s", ErrInvalidOption))
	}
	for _, st := range o.States {
		if !slices.Contains(models.JobStates, st) {
			return invalid(fmt.Errorf("%w: unique state %q is not a job state", ErrInvalidOption, st))
		}
	}
	for _, f := range o.ArgsFields {
		if f == "" {
			return invalid(fmt.Errorf("%w: an empty field name in ArgsFields", ErrInvalidOption))
		}
	}
	return nil
}

// states are the states that hold a key.
func (o *UniqueOpts) states() []models.JobState {
	if len(o.States) == 0 {
		return DefaultUniqueStates
	}
	return o.States
}

// key is the unique key of the job j of the kind, due at due.
func (o *UniqueOpts) key(j *models.Job, due time.Time) (string, error) {
	var b strings.Builder
	b.WriteString(uniquePrefix)
	b.WriteString(j.Kind)
	if o.ByQueue {
		b.WriteString("|queue=" + j.Queue)
	}
	if o.ByPeriod > 0 {
		start := due.Unix() - due.Unix()%int64(o.ByPeriod/time.Second)
		b.WriteString("|period=" + strconv.FormatInt(start, 10))
	}
	if o.ByArgs || len(o.ArgsFields) > 0 {
		canon, err := canonicalArgs(j.Args, o.ArgsFields)
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(canon)
		b.WriteString("|args=" + hex.EncodeToString(sum[:16]))
	}
	if key := b.String(); len(key) <= 255 {
		return key, nil
	}
	sum := sha256.Sum256([]byte(b.String())) // a long kind and queue: the key's column holds 255
	return "unique:" + hex.EncodeToString(sum[:]), nil
}

// canonicalArgs is the JSON args (or their fields, when given) with sorted keys, so that
// {"a":1,"b":2} and {"b":2, "a":1} are the same job.
func canonicalArgs(args string, fields []string) ([]byte, error) {
	dec := json.NewDecoder(strings.NewReader(args))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, invalid(fmt.Errorf("%w: unique by arguments: %v", ErrInvalidOption, err))
	}
	if len(fields) > 0 {
		m, _ := v.(map[string]any)
		picked := map[string]any{}
		for _, f := range fields {
			if x, ok := m[f]; ok {
				picked[f] = x
			}
		}
		v = picked
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, invalid(fmt.Errorf("%w: unique by arguments: %v", ErrInvalidOption, err))
	}
	return bytes.TrimSpace(buf.Bytes()), nil
}
