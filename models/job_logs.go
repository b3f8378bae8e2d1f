package models

// What a running job writes besides its outcome: log lines and progress.

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// JobLogs returns the log lines a job wrote, oldest first.
func (s jobQueries) JobLogs(ctx context.Context, jobID int64) ([]JobLog, error) {
	var logs []JobLog
	if err := s.rdb.WithContext(ctx).Where("job_id = ?", jobID).Order("id").Find(&logs).Error; err != nil {
		return nil, fmt.Errorf("models: job %d logs: %w", jobID, err)
	}
	return logs, nil
}

// NewestJobLogs returns the newest n log lines a job wrote, oldest first, and how many it wrote
// before them: a page showing a log that may be millions of lines long reads n of them.
func (s jobQueries) NewestJobLogs(ctx context.Context, jobID int64, n int) (logs []JobLog, earlier int64, err error) {
	db := s.rdb.WithContext(ctx)
	// The ids first, from the index on (job_id, id) alone: asked for the rows at once,
	// PostgreSQL walks the primary key back from the newest line of any job (migration 14).
	newest := db.Model(&JobLog{}).Select("id").Where("job_id = ?", jobID).Order("id DESC").Limit(n)
	if err := db.Where("id IN (?)", newest).Order("id").Find(&logs).Error; err != nil {
		return nil, 0, fmt.Errorf("models: job %d newest logs: %w", jobID, err)
	}
	if len(logs) < n {
		return logs, 0, nil
	}
	// Counted below the oldest line read, not in all: lines written meanwhile are not earlier.
	if err := db.Model(&JobLog{}).Where("job_id = ? AND id < ?", jobID, logs[0].ID).Count(&earlier).Error; err != nil {
		return nil, 0, fmt.Errorf("models: job %d logs before line %d: %w", jobID, logs[0].ID, err)
	}
	return logs, earlier, nil
}

// SetMessage sets the line's text, cut to what is kept, without NUL characters (no text
// column of PostgreSQL can hold one).
func (l *JobLog) SetMessage(msg string) { l.Message = jsonText(truncate(msg, JobErrorMax)) }

// AppendJobLogs stores log lines of running jobs in one transaction, in order.
func (s jobStore) AppendJobLogs(ctx context.Context, lines []JobLog) error {
	if len(lines) == 0 {
		return nil
	}
	rows := make([]JobLog, len(lines))
	for i, l := range lines {
		l.ID, l.At = 0, l.At.UTC().Truncate(time.Microsecond)
		l.SetMessage(l.Message)
		rows[i] = l
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return tx.CreateInBatches(rows, 200).Error
	})
	if err != nil {
		return fmt.Errorf("models: append %d log lines (job %d...): %w", len(rows), rows[0].JobID, err)
	}
	return nil
}

// SetJobProgress records a running job's progress (clamped to 0-100).
func (s jobStore) SetJobProgress(ctx context.Context, jobID int64, pct int) error {
	pct = min(max(pct, 0), 100)
	err := s.db.WithContext(ctx).Model(&Job{}).Where("id = ? AND state = ?", jobID, JobProcessing).Update("progress", pct).Error
	if err != nil {
		return fmt.Errorf("models: set progress of job %d: %w", jobID, err)
	}
	return nil
}
