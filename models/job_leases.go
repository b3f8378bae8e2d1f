package models

import (
	"context"
	"fmt"
	"time"
)

// ExtendLeases extends the lease of every job the server is running, in one statement. On
// PostgreSQL it skips rows another transaction holds (a finish, a cancel or a rescue of that
// job is under way, so its lease no longer matters): waiting for them, in whatever order the
// rows came, deadlocked with this server's own finishing batches.
func (s jobStore) ExtendLeases(ctx context.Context, serverID string, until time.Time) (int64, error) {
	query := s.sql.ExtendLeases
	res := s.db.WithContext(ctx).Exec(query, until.UTC().Truncate(time.Microsecond), serverID)
	if res.Error != nil {
		return 0, fmt.Errorf("models: extend leases: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// NotRunningHere returns those of ids that are no longer Processing on serverID: cancelled,
// deleted, or rescued by another server. Their workers should stop.
func (s jobStore) NotRunningHere(ctx context.Context, serverID string, ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var out []int64
	err := s.rdb.WithContext(ctx).Model(&Job{}).Where("id IN ? AND NOT (state = ? AND server_id = ?)", ids, JobProcessing, serverID).
		Pluck("id", &out).Error
	if err != nil {
		return nil, fmt.Errorf("models: check running jobs: %w", err)
	}
	return out, nil
}

// rescueReason begins the reason of every rescue's event, which is how the history tells a
// rescue from a release at shutdown (both go from Processing to Enqueued).
const rescueReason = "rescued"
