package models

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
)

// Every function here changes job states together with their JobEvent rows in one transaction,
// so a crash at any point leaves each job in a state it can recover from.

// ClaimParams says what a worker pool asks for.
type ClaimParams struct {
	Queue    string
	ServerID string
	Limit    int
	Lease    time.Duration
	Now      time.Time
	// Idle, for InsertAndClaimJob, says the caller knows of no job of Queue waiting (its last
	// claim came back short and nothing since said jobs arrived), so the store may skip its own
	// look for one. On PostgreSQL that look walks the claim index, whose entries for jobs
	// claimed since the last VACUUM stay in it: 1.1 ms after a burst of 200,000 jobs. A pause
	// is always checked.
	Idle bool
}

// ClaimJobs atomically moves up to p.Limit enqueued jobs of p.Queue to Processing on
// p.ServerID, with a lease until Now+Lease, and returns them by priority, then RunAt, then ID.
// It claims nothing from a paused queue.
func (s jobStore) ClaimJobs(ctx context.Context, p ClaimParams) ([]*Job, error) {
	if p.Limit <= 0 {
		return nil, nil
	}
	now := p.Now.UTC().Truncate(time.Microsecond)
	if limits, err := s.limits(ctx); err != nil {
		return nil, err
	} else if len(limits) > 0 {
		return s.claimLimited(ctx, p, now)
	}
	var jobs []*Job
	if s.sql.ClaimAlone {
		var err error
		jobs, err = s.claimAlone(ctx, p, now)
		if err != nil {
			return nil, err
		}
		sortClaimed(jobs)
		return jobs, nil
	}
	err := s.db.WithContext(ctx).Transaction(func(gtx *gorm.DB) error {
		jobs = jobs[:0]
		ctx, gtx := runToEnd(ctx, gtx)
		tx, err := sqlTx(gtx)
		if err != nil {
			return err
		}
		rows, err := tx.StmtContext(ctx, s.hot.claim).QueryContext(ctx, now, now.Add(p.Lease), p.ServerID, p.Queue, p.Limit)
		if err != nil {
			return fmt.Errorf("models: claim jobs: %w", err)
		}
		if jobs, err = scanClaimedRows(rows, p, now); err != nil {
			return err
		}
		if len(jobs) == 0 {
			return nil
		}
		counts := countDelta{}
		for _, j := range jobs {
			counts.move(p.Queue, j.Kind, JobEnqueued, JobProcessing, 1)
		}
		return s.writeCounts(gtx, counts)
	})
	if err != nil {
		return nil, err
	}
	sortClaimed(jobs)
	return jobs, nil
}

// claimAlone runs a claim that is one statement (driver.SQL.ClaimAlone). Waiting for a
// connection heeds ctx; once sent, the statement runs to the end and its rows are read: a claim
// committed but never read would leave its jobs processing until their leases ran out. (pgx
// keeps the statement prepared on each connection.)
func (s *conn) claimAlone(ctx context.Context, p ClaimParams, now time.Time) ([]*Job, error) {
	conn, err := s.writerConn(ctx)
	if err != nil {
		return nil, fmt.Errorf("models: claim jobs: %w", err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(context.WithoutCancel(ctx), s.sql.Claim, now, now.Add(p.Lease), p.ServerID, p.Queue, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("models: claim jobs: %w", err)
	}
	return scanClaimedRows(rows, p, now)
}

// writerConn takes a connection of the writer pool, waiting no longer than ctx allows, for a
// statement that is then sent without ctx: once sent it must run to the end.
func (s *conn) writerConn(ctx context.Context) (*sql.Conn, error) {
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, err
	}
	return sqlDB.Conn(ctx)
}

// sortClaimed puts claimed jobs in the order they are to run: priority, then RunAt, then ID.
func sortClaimed(jobs []*Job) {
	slices.SortFunc(jobs, func(a, b *Job) int {
		switch {
		case a.Priority != b.Priority:
			return b.Priority - a.Priority
		case !a.RunAt.Equal(b.RunAt):
			return a.RunAt.Compare(b.RunAt)
		}
		return int(a.ID - b.ID)
	})
}
