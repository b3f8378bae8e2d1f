package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/kilnhq/kiln/models/driver"
)

// InsertRows implements driver.Driver: one INSERT of one row, run for each row. SQLite runs in
// this process, so there is no round trip to save by carrying the rows in one statement: the
// JSON array this used to write, and SQLite parsed back (json_each), cost more than the binds,
// 15 µs a row of the audit trail against 10 (go test -bench 'APIEnqueue/sqlite/one-32'
// ./web/). The statement prepared when the store opened (PrepareInsertRows) runs in tx; any
// other is prepared in tx, once for all its rows. go-sqlite3 binds a time.Time as the driver's
// JSONTime writes it, which is how GORM's inserts store them too.
func (d *Driver) InsertRows(tx *gorm.DB, p driver.InsertRowsParams) error {
	if len(p.Rows) == 0 {
		return nil
	}
	q, err := insertRowSQL(p)
	if err != nil {
		return err
	}
	sqlTx, err := driver.SQLTx(tx)
	if err != nil {
		return err
	}
	ctx := tx.Statement.Context
	if ctx == nil {
		ctx = context.Background()
	}
	// Each run under a context that can end costs go-sqlite3 a goroutine to watch it: a
	// workflow's thousands of steps would start thousands. Once begun, the rows go in whole;
	// a caller that gives up still has the transaction rolled back.
	ctx = context.WithoutCancel(ctx)
	var st *sql.Stmt
	if prepared := d.inserts.lookup(q); prepared != nil {
		st = sqlTx.StmtContext(ctx, prepared)
	} else if st, err = sqlTx.PrepareContext(ctx, q); err != nil {
		return fmt.Errorf("insert into %s: %w", p.Table, err)
	}
	defer func() { _ = st.Close() }()
	for _, row := range p.Rows {
		if len(row) != len(p.Columns) {
			return fmt.Errorf("insert into %s: a row of %d values for %d columns", p.Table, len(row), len(p.Columns))
		}
		if _, err := st.ExecContext(ctx, row...); err != nil {
			return fmt.Errorf("insert into %s: %w", p.Table, err)
		}
	}
	return nil
}

// PrepareInsertRows implements driver.Driver.
func (d *Driver) PrepareInsertRows(ctx context.Context, db *sql.DB, p driver.InsertRowsParams) error {
	q, err := insertRowSQL(p)
	if err != nil {
		return err
	}
	return d.inserts.prepare(ctx, db, q)
}

// insertRowSQL is InsertRows's statement for p's table and columns.
func insertRowSQL(p driver.InsertRowsParams) (string, error) {
	table, cols, err := p.QuotedColumns()
	if err != nil {
		return "", err
	}
	if len(p.Columns) == 0 {
		return "", fmt.Errorf("insert into %s: no columns", p.Table)
	}
	return "INSERT INTO " + table + " (" + cols + ") VALUES (?" + strings.Repeat(", ?", len(p.Columns)-1) + ")", nil
}

// IDIn implements driver.Driver: the ids as one JSON array, read with json_each.
func (*Driver) IDIn(column string, ids []int64) clause.Expr {
	return clause.Expr{SQL: column + " IN (SELECT value FROM json_each(?))", Vars: []any{"[" + driver.IDList(ids) + "]"}}
}
