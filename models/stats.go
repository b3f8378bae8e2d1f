package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
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
	Period string    `gorm:"primaryKey;size:1"`
	Bucket time.Time `gorm:"primaryKey"` // start of the period, UTC
	// Node is the node whose counts these are (Store.statNode); Stats sums the nodes.
	Node      int   `gorm:"primaryKey"`
	Succeeded int64 `gorm:"not null;default:0"`
	Failed    int64 `gorm:"not null;default:0"`
	Rescued   int64 `gorm:"not null;default:0"`
}

// statDelta is what one transaction adds to the counters.
type statDelta struct{ succeeded, failed, rescued int64 }

// addStats adds d to the second and hour counters of at, one upsert per bucket.
func (s *Store) addStats(tx *gorm.DB, d statDelta, at time.Time) error {
	if d == (statDelta{}) {
		return nil
	}
	at = at.UTC()
	rows := []JobStat{
		{Period: PeriodSecond, Bucket: at.Truncate(time.Second), Node: s.statNode, Succeeded: d.succeeded, Failed: d.failed, Rescued: d.rescued},
		{Period: PeriodHour, Bucket: at.Truncate(time.Hour), Node: s.statNode, Succeeded: d.succeeded, Failed: d.failed, Rescued: d.rescued},
	}
	err := tx.Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "period"}, {Name: "bucket"}, {Name: "node"}},
		DoUpdates: clause.Assignments(map[string]any{
			"succeeded": gorm.Expr("job_stats.succeeded + excluded.succeeded"),
			"failed":    gorm.Expr("job_stats.failed + excluded.failed"),
			"rescued":   gorm.Expr("job_stats.rescued + excluded.rescued"),
		}),
	}).Create(&rows).Error
	if err != nil {
		return fmt.Errorf("models: job stats: %w", err)
	}
	return nil
}

// Stats returns the counters of a period from `since` on, oldest first, summed over nodes.
func (s *Store) Stats(ctx context.Context, period string, since time.Time) ([]JobStat, error) {
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
func (s *Store) CleanupStats(ctx context.Context, now time.Time) error {
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
func (s *Store) RetriesPending(ctx context.Context) (int64, error) {
	var n int64
	err := s.rdb.WithContext(ctx).Model(&Job{}).Where("state = ? AND attempt > 0", JobScheduled).Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("models: count retries: %w", err)
	}
	return n, nil
}

// CountRecurring counts the recurring jobs.
func (s *Store) CountRecurring(ctx context.Context) (int64, error) {
	var n int64
	if err := s.rdb.WithContext(ctx).Model(&RecurringJob{}).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("models: count recurring jobs: %w", err)
	}
	return n, nil
}
