package postgres

import (
	"context"
	"database/sql"

	"github.com/kilnhq/kiln/models/driver"
)

// hotPath is PostgreSQL's driver.HotPath.
type hotPath struct {
	finish *sql.Stmt
}

// HotPath implements driver.Driver. The claim is not prepared here: it runs on a connection
// of its own (driver.WriterConn), where pgx keeps it prepared.
func (*Driver) HotPath(ctx context.Context, db *sql.DB) (driver.HotPath, error) {
	h := &hotPath{}
	if err := driver.Prepare(ctx, db, map[**sql.Stmt]string{&h.finish: finishSQL}); err != nil {
		return nil, err
	}
	return h, nil
}

// Close implements driver.HotPath.
func (h *hotPath) Close() error { return driver.CloseStmts(h.finish) }
