package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Stat periods: counters per second (for the realtime chart, kept for minutes) and per hour
// (for the history, kept for days).
const (
	PeriodSecond = "s"
	PeriodHour   = "h"
)

// JobStat counts the jobs that reached Succeeded or Failed within one period, and the jobs
// rescued (put back after their server died). The counters are maintained as jobs finish, so
// charts never count events.
type JobStat struct {
	Period string    `gorm:"primaryKey"`
	Bucket time.Time `gorm:"primaryKey"` // start of the period, UTC
	// Node is the node whose counts these are (Store.statNode); Stats sums the nodes.
	Node      int `gorm:"primaryKey"`
	Succeeded int64
	Failed    int64
	Rescued   int64
}

// statDelta is what one transaction adds to the counters.
type statDelta struct{ succeeded, failed, rescued int64 }

// addStats adds d to the second and hour counters of at, a row each through a prepared
// statement (as addKindStats: GORM's upsert, built per batch, is the costlier part of a small
// write on SQLite's finish), the second's row first, as every writer of stats does.
func (s *conn) addStats(tx *gorm.DB, d statDelta, at time.Time) error {
	if d == (statDelta{}) {
		return nil
	}
	stmt, ctx, err := txStmt(tx, s.hot.jobStat)
	if err != nil {
		return err
	}
	at = at.UTC()
	for _, b := range []struct {
		period string
		bucket time.Time
	}{{PeriodSecond, at.Truncate(time.Second)}, {PeriodHour, at.Truncate(time.Hour)}} {
		if _, err := stmt.ExecContext(ctx, b.period, b.bucket, s.statNode, d.succeeded, d.failed, d.rescued); err != nil {
			return fmt.Errorf("models: job stats: %w", err)
		}
	}
	return nil
}

// Stats returns the counters of a period from `since` on, oldest first, summed over nodes.
func (s jobQueries) Stats(ctx context.Context, period string, since time.Time) ([]JobStat, error) {
	var out []JobStat
	err := s.rdb.WithContext(ctx).Model(&JobStat{}).
		Select("period, bucket, SUM(succeeded) AS succeeded, SUM(failed) AS failed, SUM(rescued) AS rescued").
		Where("period = ? AND bucket >= ?", period, since.UTC()).Group("period, bucket").Order("bucket").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("models: job stats: %w", err)
	}
	return out, nil
}

// statHours is how long hour counters are kept, the overview's and the kinds'.
const statHours = 8 * 24 * time.Hour

// CleanupStats drops second counters older than 15 minutes and hour counters (the overview's and
// the kinds') older than 8 days.
func (s jobStore) CleanupStats(ctx context.Context, now time.Time) error {
	db := s.db.WithContext(ctx)
	for period, keep := range map[string]time.Duration{PeriodSecond: 15 * time.Minute, PeriodHour: statHours} {
		if err := db.Where("period = ? AND bucket < ?", period, now.UTC().Add(-keep)).Delete(&JobStat{}).Error; err != nil {
			return fmt.Errorf("models: clean up job stats: %w", err)
		}
	}
	if err := db.Where("bucket < ?", now.UTC().Add(-statHours)).Delete(&KindStat{}).Error; err != nil {
		return fmt.Errorf("models: clean up kind stats: %w", err)
	}
	return nil
}

// RetriesPending counts scheduled jobs waiting to retry after a failed attempt.
func (s jobQueries) RetriesPending(ctx context.Context) (int64, error) {
	var n int64
	err := s.rdb.WithContext(ctx).Model(&Job{}).Where("state = ? AND attempt > 0", JobScheduled).Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("models: count retries: %w", err)
	}
	return n, nil
}

// CountRecurring counts the recurring jobs.
func (s recurringStore) CountRecurring(ctx context.Context) (int64, error) {
	var n int64
	if err := s.rdb.WithContext(ctx).Model(&RecurringJob{}).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("models: count recurring jobs: %w", err)
	}
	return n, nil
}
