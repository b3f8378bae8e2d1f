package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/kilnhq/kiln/models/driver"
)

// hotPath is SQLite's driver.HotPath. Its statements are prepared on the one writer
// connection, and run in the transactions there.
type hotPath struct {
	claim, finish, finishEvents *sql.Stmt
	jobWaits, insertClaimed     *sql.Stmt  // EnqueueClaimed's
	insertJob                   *sql.Stmt  // InsertJobs'
	inserts                     *stmtCache // the driver's InsertRows's, closed with these
}

// HotPath implements driver.Driver.
func (d *Driver) HotPath(ctx context.Context, db *sql.DB) (driver.HotPath, error) {
	h := &hotPath{inserts: &d.inserts}
	err := driver.Prepare(ctx, db, map[**sql.Stmt]string{
		&h.claim: claimSQL, &h.finish: finishSQL, &h.finishEvents: finishEventsSQL,
		&h.jobWaits: jobWaitsSQL, &h.insertClaimed: insertClaimedSQL,
		&h.insertJob: insertJobSQL,
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// Close implements driver.HotPath.
func (h *hotPath) Close() error {
	return errors.Join(h.inserts.close(),
		driver.CloseStmts(h.claim, h.finish, h.finishEvents, h.jobWaits, h.insertClaimed, h.insertJob))
}
