package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/kilnhq/kiln/models"
)

// historyChunk is how many jobs the fill writes per transaction.
const historyChunk = 20_000

// FillHistory writes cfg.Jobs finished jobs into store, copies of jobs an engine worked (see
// the top of history.go). It is for the bench's own database: the jobs take the ids after the
// highest, and nothing else may write jobs meanwhile.
func FillHistory(ctx context.Context, store *models.Store, cfg HistoryConfig, progress func(string)) (HistoryReport, error) {
	var r HistoryReport
	if cfg.Span <= 0 {
		cfg.Span = 28 * 24 * time.Hour
	}
	start := time.Now()
	templates, err := makeTemplates(ctx, store)
	if err != nil {
		return r, err
	}
	w := newHistoryWriter(store)
	first, err := w.reserveIDs(ctx, cfg.Jobs)
	if err != nil {
		return r, err
	}
	// The fill ends an hour ago: the engine keeps per-second stats for minutes only.
	end := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
	begin := end.Add(-cfg.Span)
	rnd := rand.New(rand.NewPCG(cfg.Seed, 1))
	tally := newHistoryTally()
	for done := 0; done < cfg.Jobs; {
		var b historyBatch
		for k := done; k < min(done+historyChunk, cfg.Jobs); k++ {
			ts := templates[pickShape(rnd)]
			t := &ts[rnd.IntN(len(ts))]
			created := begin.Add(time.Duration(float64(cfg.Span) * float64(k) / float64(cfg.Jobs))).Truncate(time.Microsecond)
			j, events, logs := cloneJob(t, first+int64(k), k, created)
			b.add(&j, events, logs, t.tags)
			tally.add(t, &j)
		}
		if err := w.write(ctx, &b); err != nil {
			return r, fmt.Errorf("history: %w", err)
		}
		done += len(b.jobs)
		r.Jobs += int64(len(b.jobs))
		r.Events += int64(len(b.events))
		r.LogLines += int64(len(b.logs))
		progress(fmt.Sprintf("history fill: %d/%d jobs", done, cfg.Jobs))
	}
	if err := w.finish(ctx, tally); err != nil {
		return r, fmt.Errorf("history: %w", err)
	}
	r.Took = time.Since(start)
	r.JobsPerSec = float64(r.Jobs) / r.Took.Seconds()
	if r.DBBytes, err = store.Size(ctx); err != nil {
		return r, err
	}
	counts, err := store.JobQueries.CountJobsByState(ctx)
	if err != nil {
		return r, err
	}
	var all int64
	for _, n := range counts {
		all += n
	}
	if all > 0 {
		r.BytesPerJob = float64(r.DBBytes) / float64(all)
	}
	return r, nil
}

// historyBatch is the rows of one transaction of the fill, column values in table order.
type historyBatch struct {
	jobs, events, logs, tags [][]any
}

var (
	historyJobColumns = []string{"id", "kind", "queue", "priority", "args", "state", "attempt", "max_attempts",
		"run_at", "created_at", "started_at", "finished_at", "lease_until", "server_id", "last_error", "unique_key",
		"parent_id", "continue_on", "recurring_id", "rescues", "runs", "progress", "timeout", "result", "tags", "trace_parent"}
	historyEventColumns = []string{"job_id", "from_state", "to_state", "at", "attempt", "reason", "error", "server_id", "duration"}
	historyLogColumns   = []string{"job_id", "attempt", "at", "message"}
	historyTagColumns   = []string{"tag", "job_id"}
)

func (b *historyBatch) add(j *models.Job, events []models.JobEvent, logs []models.JobLog, tags []string) {
	b.jobs = append(b.jobs, []any{j.ID, j.Kind, j.Queue, int64(j.Priority), j.Args, string(j.State), int64(j.Attempt),
		int64(j.MaxAttempts), j.RunAt, j.CreatedAt, orNil(j.StartedAt), orNil(j.FinishedAt), orNil(j.LeaseUntil), j.ServerID,
		j.LastError, orNil(j.UniqueKey), orNil(j.ParentID), j.ContinueOn, orNil(j.RecurringID), int64(j.Rescues),
		int64(j.Runs), int64(j.Progress), int64(j.Timeout), j.Result, j.Tags, orNil(j.TraceParent)})
	for _, e := range events {
		b.events = append(b.events, []any{e.JobID, string(e.From), string(e.To), e.At, int64(e.Attempt), e.Reason, e.Error, e.ServerID, int64(e.Duration)})
	}
	for _, l := range logs {
		b.logs = append(b.logs, []any{l.JobID, int64(l.Attempt), l.At, l.Message})
	}
	for _, t := range tags {
		b.tags = append(b.tags, []any{t, j.ID})
	}
}

// orNil is *p, or an untyped nil (NULL) for a nil p.
func orNil[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// historyTally is what the engine would have added to the counters and the stats for the
// filled jobs.
type historyTally struct {
	counts map[[3]string]int64 // queue, kind, state
	hours  map[time.Time]*models.JobStat
	kinds  map[models.KindStat]*models.KindStat // by bucket, kind and slot only
}

func newHistoryTally() *historyTally {
	return &historyTally{counts: map[[3]string]int64{}, hours: map[time.Time]*models.JobStat{}, kinds: map[models.KindStat]*models.KindStat{}}
}

// add counts j, a copy of t: the counters count every job; the stats count a success or a
// failure in the hour it finished in, and its last run's duration in its kind's slot.
func (y *historyTally) add(t *historyTemplate, j *models.Job) {
	y.counts[[3]string{j.Queue, j.Kind, string(j.State)}]++
	if (t.final != models.JobSucceeded && t.final != models.JobFailed) || j.FinishedAt == nil {
		return
	}
	bucket := j.FinishedAt.UTC().Truncate(time.Hour)
	h := y.hours[bucket]
	if h == nil {
		h = &models.JobStat{Period: models.PeriodHour, Bucket: bucket}
		y.hours[bucket] = h
	}
	key := models.KindStat{Bucket: bucket, Kind: j.Kind, Slot: models.DurationSlot(t.run)}
	k := y.kinds[key]
	if k == nil {
		k = &models.KindStat{Bucket: bucket, Kind: j.Kind, Slot: key.Slot}
		y.kinds[key] = k
	}
	if t.final == models.JobSucceeded {
		h.Succeeded++
		k.Succeeded++
	} else {
		h.Failed++
		k.Failed++
	}
	k.TotalNS += int64(t.run)
	k.MaxNS = max(k.MaxNS, int64(t.run))
}

// historyWriter writes the fill in the store's dialect.
type historyWriter struct {
	store *models.Store
	db    *gorm.DB
	fast  historyCopier
	// node is the stats' node of the fill: 0 on SQLite, as on any database of one node; on
	// PostgreSQL a node's random number, as a node that has since gone.
	node int
}

// historyCopier writes a batch's rows in one transaction, the fastest way its dialect has.
type historyCopier interface {
	copyBatch(ctx context.Context, b *historyBatch) error
}

func newHistoryWriter(store *models.Store) *historyWriter {
	w := &historyWriter{store: store, db: store.ToolDB()}
	if store.Dialect() == models.DialectPostgres {
		w.fast, w.node = pgCopier{db: w.db}, 1+rand.IntN(1<<30)
	} else {
		w.fast = sqliteInserter{db: w.db}
	}
	return w
}

// reserveIDs returns the first of n job ids that no job has and the store won't give.
func (w *historyWriter) reserveIDs(ctx context.Context, n int) (int64, error) {
	db := w.db.WithContext(ctx)
	var last int64
	if w.store.Dialect() == models.DialectPostgres {
		// nextval then setval: the sequence moves past the n ids at once.
		err := db.Raw("SELECT setval(pg_get_serial_sequence('jobs', 'id'), nextval(pg_get_serial_sequence('jobs', 'id')) + ? - 1)", n).Scan(&last).Error
		if err != nil {
			return 0, fmt.Errorf("history: reserve ids: %w", err)
		}
		return last - int64(n) + 1, nil
	}
	// SQLite's AUTOINCREMENT keeps the highest id ever given in sqlite_sequence, and moves it
	// past ids inserted explicitly.
	err := db.Raw("SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'jobs'), 0), COALESCE((SELECT MAX(id) FROM jobs), 0))").Scan(&last).Error
	if err != nil {
		return 0, fmt.Errorf("history: reserve ids: %w", err)
	}
	return last + 1, nil
}

func (w *historyWriter) write(ctx context.Context, b *historyBatch) error {
	return w.fast.copyBatch(ctx, b)
}

// finish writes what the engine would have added to the counters and the stats, and has the
// database update its planner's statistics (as autovacuum or ANALYZE would after such growth).
func (w *historyWriter) finish(ctx context.Context, y *historyTally) error {
	db := w.db.WithContext(ctx)
	deltas := make([]models.JobCountDelta, 0, len(y.counts))
	for k, n := range y.counts {
		deltas = append(deltas, models.JobCountDelta{Queue: k[0], Kind: k[1], State: models.JobState(k[2]), Delta: n})
	}
	greatest := "MAX"
	if w.store.Dialect() == models.DialectPostgres {
		greatest = "GREATEST"
	}
	err := db.Transaction(func(tx *gorm.DB) error {
		if len(deltas) > 0 {
			if err := tx.CreateInBatches(deltas, 500).Error; err != nil {
				return fmt.Errorf("count deltas: %w", err)
			}
		}
		for _, h := range y.hours {
			h.Node = w.node
			err := tx.Clauses(clause.OnConflict{
				Columns: []clause.Column{{Name: "period"}, {Name: "bucket"}, {Name: "node"}},
				DoUpdates: clause.Assignments(map[string]any{
					"succeeded": gorm.Expr("job_stats.succeeded + excluded.succeeded"),
					"failed":    gorm.Expr("job_stats.failed + excluded.failed"),
				}),
			}).Create(h).Error
			if err != nil {
				return fmt.Errorf("job stats: %w", err)
			}
		}
		for _, k := range y.kinds {
			k.Node = w.node
			err := tx.Clauses(clause.OnConflict{
				Columns: []clause.Column{{Name: "bucket"}, {Name: "kind"}, {Name: "node"}, {Name: "slot"}},
				DoUpdates: clause.Assignments(map[string]any{
					"succeeded": gorm.Expr("kind_stats.succeeded + excluded.succeeded"),
					"failed":    gorm.Expr("kind_stats.failed + excluded.failed"),
					"total_ns":  gorm.Expr("kind_stats.total_ns + excluded.total_ns"),
					"max_ns":    gorm.Expr(greatest + "(kind_stats.max_ns, excluded.max_ns)"),
				}),
			}).Create(k).Error
			if err != nil {
				return fmt.Errorf("kind stats: %w", err)
			}
		}
		return nil
	})
	if err != nil || w.store.Dialect() != models.DialectPostgres {
		return err
	}
	// Autovacuum would vacuum and analyze tables grown this much, in the middle of what is
	// timed next: do it now. (Kiln never has SQLite analyze: its planner goes without.)
	if err := db.Exec("VACUUM (ANALYZE) jobs, job_events, job_logs, job_tags").Error; err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	return nil
}
