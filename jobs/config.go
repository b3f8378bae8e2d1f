package jobs

import (
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"

	"github.com/kilnhq/kiln/models"
)

// QueueConfig is a named queue and how many of its jobs this process runs at once.
type QueueConfig struct {
	Name    string
	Workers int
}

// ParseQueues reads "critical=10,default=5,low=2" into queues, in the order given.
func ParseQueues(s string) ([]QueueConfig, error) {
	var out []QueueConfig
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, n, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("%w: queue %q: write name=workers, e.g. default=10", ErrInvalidConfig, part)
		}
		if err := models.QueueName.Check(name); err != nil {
			return nil, fmt.Errorf("%w: queue %q: %s", ErrInvalidConfig, name, models.ErrorMessage(err))
		}
		workers, err := strconv.Atoi(strings.TrimSpace(n))
		switch {
		case err != nil || workers < 1 || workers > 10_000:
			return nil, fmt.Errorf("%w: queue %q: workers must be a whole number from 1 to 10000", ErrInvalidConfig, name)
		case seen[name]:
			return nil, fmt.Errorf("%w: queue %q is listed twice", ErrInvalidConfig, name)
		}
		seen[name] = true
		out = append(out, QueueConfig{Name: name, Workers: workers})
	}
	return out, nil
}

// FormatQueues writes queues the way ParseQueues reads them.
func FormatQueues(qs []QueueConfig) string {
	parts := make([]string, len(qs))
	for i, q := range qs {
		parts[i] = q.Name + "=" + strconv.Itoa(q.Workers)
	}
	return strings.Join(parts, ",")
}

// Defaults of Config, also the kiln command's flag defaults.
const (
	DefaultWorkers          = 10
	DefaultPollInterval     = time.Second
	DefaultLease            = 30 * time.Second
	DefaultSoftStop         = 10 * time.Second
	DefaultServerHeartbeat  = 5 * time.Second
	DefaultFinishBatch      = 1000
	DefaultFinishDelay      = 2 * time.Millisecond
	DefaultMaxAttempts      = models.DefaultMaxAttempts
	DefaultMisfireThreshold = time.Minute
	DefaultStrictMisfireCap = 100
)

// maxFinishWriters bounds Config.FinishWriters: each writer holds a connection while it writes,
// and a node's PostgreSQL pool has 25, which claims, heartbeats and lease renewals need too.
const maxFinishWriters = 8

// Config configures an Engine. The zero value of every field means its default.
type Config struct {
	// Queues this process works, with their concurrency. Default: DefaultQueue with
	// DefaultWorkers workers.
	Queues []QueueConfig
	// NoWorkers makes the engine enqueue and schedule only, working no queue.
	NoWorkers bool
	// PollInterval is how often idle workers look for jobs enqueued by other processes, and how
	// often due scheduled jobs are promoted. Default DefaultPollInterval (1s).
	PollInterval time.Duration
	// Lease is how long a claimed job is reserved for its server; heartbeats extend it every
	// Lease/3, and a job whose lease runs out while its server is silent for three heartbeats
	// is rescued by another server. Default DefaultLease (30s).
	Lease time.Duration
	// SoftStop is how long Stop lets running jobs finish before cancelling their contexts.
	// Default DefaultSoftStop (10s).
	SoftStop time.Duration
	// ServerHeartbeat is how often this process records itself in the server registry.
	// Default DefaultServerHeartbeat (5s); servers silent for 12 heartbeats are removed.
	ServerHeartbeat time.Duration
	// FinishBatch is the most finished jobs written in one transaction. Default DefaultFinishBatch
	// (1,000: a batch's commit costs a WAL flush, so under load bigger batches carry more jobs
	// per flush; kiln bench with 2,000 workers on PostgreSQL: 11,700 jobs/s at 100, 32,400 at
	// 1,000). A batch also ends at finishBatchBytes of results and errors.
	FinishBatch int
	// FinishDelay is how long a finished job may wait for others to share its write. Default
	// DefaultFinishDelay (2ms).
	FinishDelay time.Duration
	// FinishWriters is how many batches of finished jobs may be written at once. Default 2 on
	// a database several nodes share (PostgreSQL), whose transactions run side by side, and 1 on
	// SQLite, which writes one at a time. Writers beyond the first only write while half a
	// FinishBatch waits besides the batch being written (see completer); at most 8.
	FinishWriters int
	// MaxAttempts is the default number of attempts per job. Default DefaultMaxAttempts.
	MaxAttempts int
	// MaxRescues is how many times a job whose server died while running it goes back to its
	// queue (using no attempt); the next such death fails it as a poison pill. Default 3
	// (models.DefaultMaxRescues); a negative value fails a job at the first death of its server.
	MaxRescues int
	// MisfireThreshold is how late an occurrence of a recurring job may fire and still count
	// as on time. Default DefaultMisfireThreshold (1m).
	MisfireThreshold time.Duration
	// StrictMisfireCap bounds the catch-up runs of a recurring job with the strict policy.
	// Default DefaultStrictMisfireCap.
	StrictMisfireCap int
	// RecurringResync is how often this server brings its recurring timers in line with the
	// database: how soon it fires a recurring job another server made, and stops one another
	// server deleted. Default DefaultRecurringResync (15s).
	RecurringResync time.Duration
	// ServerID names this process in job history; default host-pid-random.
	ServerID string
	// Logger receives the engine's logs. Default: discard.
	Logger *slog.Logger
	// Observer hears each attempt's outcome and the rescues, for metrics. Default none.
	Observer Observer
	// TracerProvider makes the spans of enqueues, claims, attempts and finishes (see
	// tracing.go). Default: OpenTelemetry's global provider, if the program set one before New;
	// else tracing is off and costs nothing.
	TracerProvider trace.TracerProvider
}

func (c Config) withDefaults() Config {
	if len(c.Queues) == 0 && !c.NoWorkers {
		c.Queues = []QueueConfig{{Name: DefaultQueue, Workers: DefaultWorkers}}
	}
	if c.NoWorkers {
		c.Queues = nil
	}
	setDefault(&c.PollInterval, DefaultPollInterval)
	setDefault(&c.Lease, DefaultLease)
	setDefault(&c.SoftStop, DefaultSoftStop)
	setDefault(&c.ServerHeartbeat, DefaultServerHeartbeat)
	setDefault(&c.FinishDelay, DefaultFinishDelay)
	setDefault(&c.MisfireThreshold, DefaultMisfireThreshold)
	setDefault(&c.FinishBatch, DefaultFinishBatch)
	setDefault(&c.MaxAttempts, DefaultMaxAttempts)
	setDefault(&c.MaxRescues, models.DefaultMaxRescues)
	c.MaxRescues = max(c.MaxRescues, 0) // negative: none; from here on the count itself
	setDefault(&c.StrictMisfireCap, DefaultStrictMisfireCap)
	setDefault(&c.RecurringResync, DefaultRecurringResync)
	if c.ServerID == "" {
		host, _ := os.Hostname()
		c.ServerID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), uuid.NewString()[:8])
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

func (c Config) validate() error {
	if c.RecurringResync < 0 || c.PollInterval < 0 || c.Lease < 0 || c.SoftStop < 0 || c.ServerHeartbeat < 0 {
		return fmt.Errorf("%w: durations must not be negative", ErrInvalidConfig)
	}
	names := make([]string, 0, len(c.Queues))
	for _, q := range c.Queues {
		if q.Name == "" || q.Workers < 1 {
			return fmt.Errorf("%w: queue %q needs a name and at least 1 worker", ErrInvalidConfig, q.Name)
		}
		names = append(names, q.Name)
	}
	sort.Strings(names)
	for i := 1; i < len(names); i++ {
		if names[i] == names[i-1] {
			return fmt.Errorf("%w: queue %q is listed twice", ErrInvalidConfig, names[i])
		}
	}
	for name, d := range map[string]time.Duration{"poll interval": c.PollInterval, "lease": c.Lease, "soft stop": c.SoftStop, "server heartbeat": c.ServerHeartbeat, "finish delay": c.FinishDelay} {
		if d < 0 {
			return fmt.Errorf("%w: %s must not be negative", ErrInvalidConfig, name)
		}
	}
	if c.Lease < 3*time.Millisecond {
		return fmt.Errorf("%w: lease %s is too short", ErrInvalidConfig, c.Lease)
	}
	if c.FinishWriters < 0 || c.FinishWriters > maxFinishWriters {
		return fmt.Errorf("%w: finish writers must be 0 (the default) to %d, not %d", ErrInvalidConfig, maxFinishWriters, c.FinishWriters)
	}
	if c.FinishBatch < 1 || c.MaxAttempts < 1 {
		return fmt.Errorf("%w: finish batch and max attempts must be at least 1", ErrInvalidConfig)
	}
	return nil
}
