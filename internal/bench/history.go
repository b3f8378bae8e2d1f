package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// The history fill of kiln bench --dashboard --history N: N finished jobs written straight into
// the tables, so that the dashboard can be timed with a million jobs in history without
// burning a million down first. Nothing is made up: a real engine first works a few template
// jobs of every shape (a success, with log lines or not; a retry then a success; retries
// exhausted; a permanent failure; a cancel before the run), and each filled job is a copy of
// one of them, moved in time, with its own arguments: its row, its stored events (the history
// the row alone doesn't tell, see models.History), its log lines and tags. The counters and
// the stats get what the engine would have added for the same finishes, so they stay equal
// to a GROUP BY of the rows.

// HistoryConfig shapes the history fill.
type HistoryConfig struct {
	Jobs int           // finished jobs to write
	Span time.Duration // they were created over this long, ending an hour ago (default 4 weeks)
	Seed uint64        // of the random mix of shapes, kinds and arguments
}

// HistoryReport is what the fill wrote and how long it took.
type HistoryReport struct {
	Jobs        int64         `json:"jobs"`
	Events      int64         `json:"events"`
	LogLines    int64         `json:"log_lines"`
	Took        time.Duration `json:"took_ns"`
	JobsPerSec  float64       `json:"jobs_per_sec"`
	DBBytes     int64         `json:"db_bytes"`
	BytesPerJob float64       `json:"bytes_per_job"` // the database's size over every job in it
}

// String is the report as kiln bench prints it: a line.
func (r HistoryReport) String() string {
	return fmt.Sprintf("history fill: %d jobs (%d events, %d log lines) in %s, %.0f jobs/s; database %.1f MiB, %.0f bytes per job\n",
		r.Jobs, r.Events, r.LogLines, r.Took.Round(time.Millisecond), r.JobsPerSec, float64(r.DBBytes)/(1<<20), r.BytesPerJob)
}

// historyKind is a kind of the fill: its queue and tags, the arguments of its n-th job, the
// error it fails with and the lines it logs.
type historyKind struct {
	kind, queue string
	tags        []string
	args        func(n int) string
	fails       string
	logs        []string
}

var historyKinds = []historyKind{
	{kind: "email.send", queue: "mail", tags: []string{"mail"}, fails: "smtp: 550 5.1.1 mailbox unavailable",
		args: func(n int) string {
			return fmt.Sprintf(`{"to":"user%d@example.com","template":"%s","order":"ORD-%07d"}`, n%50_000, []string{"welcome", "receipt", "password-reset"}[n%3], n)
		}},
	{kind: "report.build", queue: "reports", tags: []string{"reports", "monthly"}, fails: "report: canceling statement due to statement timeout",
		args: func(n int) string {
			return fmt.Sprintf(`{"account":"acct-%d","month":"2026-%02d","format":"pdf"}`, n%2_000, 1+n%12)
		},
		logs: []string{"loading the month's invoices", "rendered 14 pages"}},
	{kind: "webhook.deliver", queue: jobs.DefaultQueue, fails: "POST https://hooks.example.com: 503 Service Unavailable",
		args: func(n int) string {
			return fmt.Sprintf(`{"url":"https://hooks.example.com/c/%d","event":"invoice.paid","id":"evt_%08x"}`, n%5_000, n)
		}},
	{kind: "image.resize", queue: jobs.DefaultQueue, fails: "image: decode: unexpected EOF",
		args: func(n int) string {
			return fmt.Sprintf(`{"image":"uploads/%d/photo.jpg","width":%d}`, n, []int{320, 640, 1280}[n%3])
		},
		logs: []string{"resized"}},
}

// Shapes of the templates, and how many filled jobs of 1,000 take each.
const (
	shapeOK        = "ok"        // succeeds at once (logging its kind's lines)
	shapeRetried   = "retried"   // fails its first attempt, succeeds its second
	shapeFailed    = "failed"    // fails every one of its 3 attempts
	shapePermanent = "permanent" // fails at once, without retrying
	shapeCancelled = "cancelled" // cancelled while it waited for its time
)

var historyShapes = []struct {
	name     string
	perMille int
}{{shapeOK, 900}, {shapeRetried, 50}, {shapeFailed, 25}, {shapePermanent, 10}, {shapeCancelled, 15}}

// runsPerShape is how many templates of each kind and shape the engine works: their run times
// differ, so the copies spread over several of the kinds' duration slots.
const runsPerShape = 3

// historyTemplate is a finished job of the engine's, and everything stored of it.
type historyTemplate struct {
	kind   *historyKind
	job    models.Job
	events []models.JobEvent
	logs   []models.JobLog
	tags   []string
	// final is the state the job ended in, and run how long its last run took (0 if it never
	// ran): what the engine added to the stats when it finished.
	final models.JobState
	run   time.Duration
}

// makeTemplates has an engine work runsPerShape jobs of every kind and shape on store, and
// reads them back: a template per job, by shape.
func makeTemplates(ctx context.Context, store *models.Store) (map[string][]historyTemplate, error) {
	var (
		mu    sync.Mutex
		shape = map[int64]string{}
		delay = map[int64]time.Duration{}
	)
	queues := map[string]bool{}
	var qcfg []jobs.QueueConfig
	for _, k := range historyKinds {
		if !queues[k.queue] {
			queues[k.queue] = true
			qcfg = append(qcfg, jobs.QueueConfig{Name: k.queue, Workers: 8})
		}
	}
	engine, err := jobs.New(store, jobs.Config{Queues: qcfg, PollInterval: 20 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	for i := range historyKinds {
		k := &historyKinds[i]
		work := func(ctx context.Context, j *models.Job) error {
			mu.Lock()
			s, d := shape[j.ID], delay[j.ID]
			mu.Unlock()
			time.Sleep(d)
			switch {
			case s == shapePermanent:
				return jobs.Permanent(errors.New(k.fails))
			case s == shapeFailed || (s == shapeRetried && j.Attempt == 1):
				return errors.New(k.fails)
			}
			if len(k.logs) > 0 {
				jobs.LogLines(ctx, k.logs)
			}
			return nil
		}
		if err := engine.Register(k.kind, work, jobs.Queue(k.queue), jobs.MaxAttempts(3), jobs.WithBackoff(jobs.ConstantBackoff(10*time.Millisecond))); err != nil {
			return nil, err
		}
	}
	var ids []int64
	var cancel []int64
	for i := range historyKinds {
		k := &historyKinds[i]
		for _, s := range historyShapes {
			for r := range runsPerShape {
				opts := []jobs.Option{jobs.Tags(k.tags...)}
				if s.name == shapeCancelled {
					opts = append(opts, jobs.RunAt(time.Now().Add(time.Hour)))
				}
				j, err := engine.Enqueue(ctx, k.kind, json.RawMessage(k.args(len(ids))), opts...)
				if err != nil {
					return nil, fmt.Errorf("history: template: %w", err)
				}
				ids = append(ids, j.ID)
				mu.Lock()
				shape[j.ID], delay[j.ID] = s.name, time.Duration(1+9*r)*time.Millisecond
				mu.Unlock()
				if s.name == shapeCancelled {
					cancel = append(cancel, j.ID)
				}
			}
		}
	}
	for _, id := range cancel {
		if err := engine.Cancel(ctx, id); err != nil {
			return nil, fmt.Errorf("history: template: %w", err)
		}
	}
	if err := engine.Start(ctx); err != nil {
		return nil, err
	}
	err = waitFinal(ctx, store, ids)
	if stopErr := engine.Stop(context.WithoutCancel(ctx)); err == nil {
		err = stopErr
	}
	if err != nil {
		return nil, err
	}
	out := map[string][]historyTemplate{}
	for i, id := range ids {
		t, err := readTemplate(ctx, store, id)
		if err != nil {
			return nil, err
		}
		t.kind = &historyKinds[i/(len(historyShapes)*runsPerShape)]
		out[shape[id]] = append(out[shape[id]], t)
	}
	return out, nil
}

// waitFinal waits until the jobs ids are all in a final state.
func waitFinal(ctx context.Context, store *models.Store, ids []int64) error {
	deadline := time.Now().Add(time.Minute)
	for _, id := range ids {
		for {
			j, err := store.JobQueries.GetJob(ctx, id)
			if err != nil {
				return fmt.Errorf("history: template %d: %w", id, err)
			}
			if j.State.Final() {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("history: template %d still %s after a minute", id, j.State)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// readTemplate reads job id's row, events, log lines and tags.
func readTemplate(ctx context.Context, store *models.Store, id int64) (historyTemplate, error) {
	var t historyTemplate
	j, err := store.JobQueries.GetJob(ctx, id)
	if err != nil {
		return t, fmt.Errorf("history: template %d: %w", id, err)
	}
	t.job = *j
	// The events stored, not the history JobEvents tells (which adds those the row implies).
	if err := store.ToolDB().WithContext(ctx).Where("job_id = ?", id).Order("id").Find(&t.events).Error; err != nil {
		return t, fmt.Errorf("history: template %d: %w", id, err)
	}
	if t.logs, err = store.JobQueries.JobLogs(ctx, id); err != nil {
		return t, fmt.Errorf("history: template %d: %w", id, err)
	}
	t.tags = j.TagList()
	t.final = j.State
	// The stats count a job's last run, as the event that ended it (or its row) tells.
	h := models.History(j, t.events)
	if last := h[len(h)-1]; last.From == models.JobProcessing {
		t.run = last.Duration
	}
	return t, nil
}

// pickShape returns the shape of the filled job that rnd drew.
func pickShape(rnd *rand.Rand) string {
	n := rnd.IntN(1000)
	for _, s := range historyShapes {
		if n < s.perMille {
			return s.name
		}
		n -= s.perMille
	}
	return shapeOK
}

// cloneJob is template t's job as the job id created at created, with the arguments of the n-th
// job of its kind: every time moved by the same amount, so that the history reads the same.
func cloneJob(t *historyTemplate, id int64, n int, created time.Time) (models.Job, []models.JobEvent, []models.JobLog) {
	shift := created.Sub(t.job.CreatedAt)
	move := func(p *time.Time) *time.Time {
		if p == nil {
			return nil
		}
		at := p.Add(shift).UTC()
		return &at
	}
	j := t.job
	j.ID = id
	j.Args = t.kind.args(n)
	j.CreatedAt = created.UTC()
	j.RunAt = j.RunAt.Add(shift).UTC()
	j.StartedAt, j.FinishedAt, j.LeaseUntil = move(j.StartedAt), move(j.FinishedAt), move(j.LeaseUntil)
	events := make([]models.JobEvent, len(t.events))
	for i, e := range t.events {
		e.ID, e.JobID, e.At = 0, id, e.At.Add(shift).UTC()
		events[i] = e
	}
	logs := make([]models.JobLog, len(t.logs))
	for i, l := range t.logs {
		l.ID, l.JobID, l.At = 0, id, l.At.Add(shift).UTC()
		logs[i] = l
	}
	return j, events, logs
}
