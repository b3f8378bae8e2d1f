package models

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Jobs per state are counted without scanning the jobs table. Every transaction that changes
// states appends its net change per state to job_count_deltas (a few rows, never an update of a
// shared row, so PostgreSQL nodes don't queue on a hot counter); FoldJobCounts moves those deltas
// into job_counts every few seconds; a count is job_counts plus the deltas not yet folded.

// JobCount is the folded number of jobs in a state.
type JobCount struct {
	State JobState `gorm:"primaryKey;size:20"`
	N     int64    `gorm:"not null;default:0"`
}

// JobCountDelta is a change of the number of jobs in a state, not yet folded into JobCount.
type JobCountDelta struct {
	ID    int64    `gorm:"primaryKey"`
	State JobState `gorm:"size:20;not null"`
	Delta int64    `gorm:"not null"`
}

// TableName names JobCount's table.
func (JobCount) TableName() string { return "job_counts" }

// TableName names JobCountDelta's table.
func (JobCountDelta) TableName() string { return "job_count_deltas" }

// countDelta accumulates one transaction's changes of jobs per state.
type countDelta map[JobState]int64

func (d countDelta) move(from, to JobState, n int64) {
	if from != "" {
		d[from] -= n
	}
	if to != "" {
		d[to] += n
	}
}

// write appends the non-zero changes in one plain INSERT (no struct reflection: it runs in
// every claim and finish).
func (d countDelta) write(tx *gorm.DB) error {
	var (
		sql  strings.Builder
		args []any
	)
	for st, n := range d {
		if n == 0 {
			continue
		}
		if len(args) == 0 {
			sql.WriteString("INSERT INTO job_count_deltas (state, delta) VALUES (?, ?)")
		} else {
			sql.WriteString(", (?, ?)")
		}
		args = append(args, string(st), n)
	}
	if len(args) == 0 {
		return nil
	}
	if err := tx.Exec(sql.String(), args...).Error; err != nil {
		return fmt.Errorf("models: job count deltas: %w", err)
	}
	return nil
}

// countByState counts the jobs db selects, per state (db may carry a WHERE).
func countByState(db *gorm.DB) (map[JobState]int64, error) {
	var rows []struct {
		State JobState
		N     int64
	}
	if err := db.Model(&Job{}).Select("state, COUNT(*) AS n").Group("state").Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[JobState]int64, len(rows))
	for _, r := range rows {
		out[r.State] += r.N
	}
	return out, nil
}

// countersReady is the setting that says job_counts was initialised from the jobs table.
const countersReady = "job-counts-ready"

// initJobCounts counts the jobs once, the first time the counters exist (a database from before
// them, or a new one), in the same transaction that marks them ready.
func (s *Store) initJobCounts(ctx context.Context) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&Setting{Name: countersReady, Value: []byte("1")})
		if res.Error != nil {
			return fmt.Errorf("models: init job counts: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return nil // already counted, here or by another node
		}
		counts, err := countByState(tx)
		if err != nil {
			return fmt.Errorf("models: init job counts: %w", err)
		}
		return countDelta(counts).write(tx)
	})
}

// FoldJobCounts moves the appended deltas into the totals. Servers may fold at the same time:
// each folds exactly the deltas its DELETE removed.
func (s *Store) FoldJobCounts(ctx context.Context) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var removed []JobCountDelta
		if err := tx.Raw("DELETE FROM job_count_deltas RETURNING id, state, delta").Scan(&removed).Error; err != nil {
			return fmt.Errorf("models: fold job counts: %w", err)
		}
		sum := map[JobState]int64{}
		for _, r := range removed {
			sum[r.State] += r.Delta
		}
		for st, n := range sum {
			if n == 0 {
				continue
			}
			err := tx.Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "state"}},
				DoUpdates: clause.Assignments(map[string]any{"n": gorm.Expr("job_counts.n + excluded.n")}),
			}).Create(&JobCount{State: st, N: n}).Error
			if err != nil {
				return fmt.Errorf("models: fold job counts: %w", err)
			}
		}
		return nil
	})
}

// CountJobsByState counts jobs in each state from the counters: the folded totals plus the
// deltas not folded yet. It reads two small tables, never the jobs table.
func (s *Store) CountJobsByState(ctx context.Context) (map[JobState]int64, error) {
	out := make(map[JobState]int64, len(JobStates))
	db := s.rdb.WithContext(ctx)
	var totals []JobCount
	if err := db.Find(&totals).Error; err != nil {
		return nil, fmt.Errorf("models: count jobs: %w", err)
	}
	for _, t := range totals {
		out[t.State] += t.N
	}
	var pending []struct {
		State JobState
		N     int64
	}
	if err := db.Model(&JobCountDelta{}).Select("state, SUM(delta) AS n").Group("state").Scan(&pending).Error; err != nil {
		return nil, fmt.Errorf("models: count jobs: %w", err)
	}
	for _, p := range pending {
		out[p.State] += p.N
	}
	for st, n := range out {
		if n == 0 {
			delete(out, st)
		}
	}
	return out, nil
}

// CountJobsByStateScan counts jobs in each state by reading the jobs table; it is the truth the
// counters are checked against.
func (s *Store) CountJobsByStateScan(ctx context.Context) (map[JobState]int64, error) {
	out, err := countByState(s.rdb.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("models: count jobs: %w", err)
	}
	return out, nil
}

// RecountJobs rebuilds the counters from the jobs table, to repair them by hand (and for tests
// that write jobs directly). On PostgreSQL it blocks writers to jobs while it counts.
func (s *Store) RecountJobs(ctx context.Context) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if s.dialect == DialectPostgres {
			if err := tx.Exec("LOCK TABLE jobs IN SHARE MODE").Error; err != nil {
				return fmt.Errorf("models: recount jobs: %w", err)
			}
		}
		counts, err := countByState(tx)
		if err != nil {
			return fmt.Errorf("models: recount jobs: %w", err)
		}
		for _, m := range []any{&JobCountDelta{}, &JobCount{}} {
			if err := tx.Session(&gorm.Session{AllowGlobalUpdate: true}).Delete(m).Error; err != nil {
				return fmt.Errorf("models: recount jobs: %w", err)
			}
		}
		for st, n := range counts {
			if err := tx.Create(&JobCount{State: st, N: n}).Error; err != nil {
				return fmt.Errorf("models: recount jobs: %w", err)
			}
		}
		return nil
	})
}
