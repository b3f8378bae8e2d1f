package models

import (
	"context"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Jobs per queue, kind and state are counted without scanning the jobs table. Every transaction that
// changes states appends its net change per queue, kind and state to job_queue_count_deltas (a few
// rows, never an update of a shared row, so PostgreSQL nodes don't queue on a hot counter);
// FoldJobCounts moves those deltas into job_queue_counts every few seconds; a count is the
// folded total plus the deltas not yet folded. Counting per queue spares the jobs table an index
// on (state, queue), which every state change had to maintain, and makes the queues page a read
// of a few rows.

// JobCount is the folded number of jobs of a queue and kind in a state.
type JobCount struct {
	Queue string   `gorm:"primaryKey"`
	Kind  string   `gorm:"primaryKey"`
	State JobState `gorm:"primaryKey"`
	N     int64
}

// JobCountDelta is a change of the number of jobs of a queue and kind in a state, not yet
// folded into JobCount.
type JobCountDelta struct {
	ID    int64 `gorm:"primaryKey"`
	Queue string
	Kind  string
	State JobState
	Delta int64
}

// TableName names JobCount's table.
func (JobCount) TableName() string { return "job_queue_counts" }

// TableName names JobCountDelta's table.
func (JobCountDelta) TableName() string { return "job_queue_count_deltas" }

// countKey is a queue, a kind and a state.
type countKey struct {
	Queue string
	Kind  string
	State JobState
}

// countDelta accumulates one transaction's changes of jobs per queue, kind and state.
type countDelta map[countKey]int64

// move counts n jobs of queue and kind leaving from and entering to ("" for neither: inserted,
// deleted).
func (d countDelta) move(queue, kind string, from, to JobState, n int64) {
	if from != "" {
		d[countKey{queue, kind, from}] -= n
	}
	if to != "" {
		d[countKey{queue, kind, to}] += n
	}
}

// writeCounts appends the non-zero changes of counts in tx: it runs in every transaction that
// changes states. The usual one or two changes (a batch of one kind) go through a prepared
// statement, a row each; more (several kinds, continuations) in one statement, one round trip.
func (s *conn) writeCounts(tx *gorm.DB, counts countDelta) error {
	keys := make([]countKey, 0, len(counts))
	for k, n := range counts {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	if len(keys) <= 2 {
		stmt, ctx, err := txStmt(tx, s.hot.countDelta)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if _, err := stmt.ExecContext(ctx, k.Queue, k.Kind, string(k.State), counts[k]); err != nil {
				return fmt.Errorf("models: job count deltas: %w", err)
			}
		}
		return nil
	}
	rows := make([]JobCountDelta, len(keys))
	for i, k := range keys {
		rows[i] = JobCountDelta{Queue: k.Queue, Kind: k.Kind, State: k.State, Delta: counts[k]}
	}
	if err := tx.CreateInBatches(&rows, 1000).Error; err != nil {
		return fmt.Errorf("models: job count deltas: %w", err)
	}
	return nil
}

// countByQueueState counts the jobs db selects, per queue, kind and state (db may carry a
// WHERE).
func countByQueueState(db *gorm.DB) (countDelta, error) {
	var rows []struct {
		Queue string
		Kind  string
		State JobState
		N     int64
	}
	if err := db.Model(&Job{}).Select("queue, kind, state, COUNT(*) AS n").Group("queue, kind, state").Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make(countDelta, len(rows))
	for _, r := range rows {
		out[countKey{r.Queue, r.Kind, r.State}] += r.N
	}
	return out, nil
}

// byState sums counts over queues, leaving out states with none.
func (d countDelta) byState() map[JobState]int64 {
	out := make(map[JobState]int64, len(JobStates))
	for k, n := range d {
		out[k.State] += n
	}
	for st, n := range out {
		if n == 0 {
			delete(out, st)
		}
	}
	return out
}

// countersReady is the setting that says job_queue_counts was initialised from the jobs table.
const countersReady = "job-queue-counts-ready"

// initJobCounts counts the jobs once, the first time the counters exist (a database from before
// them, or a new one), in the same transaction that marks them ready. On PostgreSQL it blocks
// writers to jobs while it counts, so that no change is counted twice or missed.
func (s *conn) initJobCounts(db *gorm.DB) error {
	return db.Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&Setting{Name: countersReady, Value: []byte("1")})
		if res.Error != nil {
			return fmt.Errorf("models: init job counts: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return nil // already counted, here or by another node
		}
		if err := s.drv.LockJobs(tx); err != nil {
			return fmt.Errorf("models: init job counts: %w", err)
		}
		counts, err := countByQueueState(tx)
		if err != nil {
			return fmt.Errorf("models: init job counts: %w", err)
		}
		// This runs while the database is migrated, before the hot statements are prepared.
		rows := make([]JobCountDelta, 0, len(counts))
		for k, n := range counts {
			rows = append(rows, JobCountDelta{Queue: k.Queue, Kind: k.Kind, State: k.State, Delta: n})
		}
		if len(rows) == 0 {
			return nil
		}
		if err := tx.CreateInBatches(rows, 200).Error; err != nil {
			return fmt.Errorf("models: init job counts: %w", err)
		}
		return nil
	})
}

// FoldJobCounts moves the appended deltas into the totals. Servers may fold at the same time:
// each folds exactly the deltas its DELETE removed.
func (s jobStore) FoldJobCounts(ctx context.Context) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var removed []JobCountDelta
		if err := tx.Raw("DELETE FROM job_queue_count_deltas RETURNING id, queue, kind, state, delta").Scan(&removed).Error; err != nil {
			return fmt.Errorf("models: fold job counts: %w", err)
		}
		sum := countDelta{}
		for _, r := range removed {
			sum[countKey{r.Queue, r.Kind, r.State}] += r.Delta
		}
		for k, n := range sum {
			if n == 0 {
				continue
			}
			err := tx.Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "queue"}, {Name: "kind"}, {Name: "state"}},
				DoUpdates: clause.Assignments(map[string]any{"n": gorm.Expr("job_queue_counts.n + excluded.n")}),
			}).Create(&JobCount{Queue: k.Queue, Kind: k.Kind, State: k.State, N: n}).Error
			if err != nil {
				return fmt.Errorf("models: fold job counts: %w", err)
			}
		}
		return nil
	})
}

// countJobs reads the counters: the folded totals plus the deltas not folded yet. It reads two
// small tables, never the jobs table.
func (s *conn) countJobs(ctx context.Context) (countDelta, error) {
	db := s.rdb.WithContext(ctx)
	var totals []JobCount
	if err := db.Find(&totals).Error; err != nil {
		return nil, fmt.Errorf("models: count jobs: %w", err)
	}
	out := make(countDelta, len(totals))
	for _, t := range totals {
		out[countKey{t.Queue, t.Kind, t.State}] += t.N
	}
	var pending []struct {
		Queue string
		Kind  string
		State JobState
		N     int64
	}
	if err := db.Model(&JobCountDelta{}).Select("queue, kind, state, SUM(delta) AS n").Group("queue, kind, state").Scan(&pending).Error; err != nil {
		return nil, fmt.Errorf("models: count jobs: %w", err)
	}
	for _, p := range pending {
		out[countKey{p.Queue, p.Kind, p.State}] += p.N
	}
	return out, nil
}

// CountJobsByState counts jobs in each state from the counters.
func (s jobQueries) CountJobsByState(ctx context.Context) (map[JobState]int64, error) {
	counts, err := s.countJobs(ctx)
	if err != nil {
		return nil, err
	}
	return counts.byState(), nil
}

// CountJobsByQueue counts jobs per queue and state from the counters, leaving out queues and
// states with none.
func (s jobQueries) CountJobsByQueue(ctx context.Context) (map[string]map[JobState]int64, error) {
	counts, err := s.countJobs(ctx)
	if err != nil {
		return nil, err
	}
	return counts.byQueue(), nil
}

// CountJobsByKind counts jobs per kind and state from the counters, leaving out kinds and
// states with none.
func (s jobQueries) CountJobsByKind(ctx context.Context) (map[string]map[JobState]int64, error) {
	counts, err := s.countJobs(ctx)
	if err != nil {
		return nil, err
	}
	return counts.by(byKindKey), nil
}

func (d countDelta) byQueue() map[string]map[JobState]int64 { return d.by(byQueueKey) }

// by sums the counts per group (a queue or a kind) and state, leaving out those with none.
func (d countDelta) by(group func(countKey) string) map[string]map[JobState]int64 {
	out := map[string]map[JobState]int64{}
	for k, n := range d {
		g := group(k)
		if out[g] == nil {
			out[g] = map[JobState]int64{}
		}
		out[g][k.State] += n
	}
	for g, m := range out {
		for st, n := range m {
			if n == 0 {
				delete(m, st)
			}
		}
		if len(m) == 0 {
			delete(out, g)
		}
	}
	return out
}

// countJobsScan counts jobs per group (queue or kind, as group picks) and state by reading the
// jobs table; it is the truth the counters are checked against.
func (s *conn) countJobsScan(ctx context.Context, group func(countKey) string) (map[string]map[JobState]int64, error) {
	counts, err := countByQueueState(s.rdb.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("models: count jobs: %w", err)
	}
	return counts.by(group), nil
}

// byQueueKey and byKindKey pick a count's group.
func byQueueKey(k countKey) string { return k.Queue }
func byKindKey(k countKey) string  { return k.Kind }

// recountJobs rebuilds the counters from the jobs table, to repair them by hand (and for tests
// that write jobs directly). On PostgreSQL it blocks writers to jobs while it counts.
func (s *conn) recountJobs(ctx context.Context) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.drv.LockJobs(tx); err != nil {
			return fmt.Errorf("models: recount jobs: %w", err)
		}
		counts, err := countByQueueState(tx)
		if err != nil {
			return fmt.Errorf("models: recount jobs: %w", err)
		}
		for _, m := range []any{&JobCountDelta{}, &JobCount{}} {
			if err := tx.Session(&gorm.Session{AllowGlobalUpdate: true}).Delete(m).Error; err != nil {
				return fmt.Errorf("models: recount jobs: %w", err)
			}
		}
		for k, n := range counts {
			if err := tx.Create(&JobCount{Queue: k.Queue, Kind: k.Kind, State: k.State, N: n}).Error; err != nil {
				return fmt.Errorf("models: recount jobs: %w", err)
			}
		}
		return nil
	})
}
