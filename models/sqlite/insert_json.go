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

// InsertJSON implements driver.Driver: one INSERT ... SELECT over json_each. Each row's JSON text
// is made once (MATERIALIZED), not once per column read from it; ->> gives a JSON number as an
// integer, a string as text and a boolean as 0 or 1, as go-sqlite3 binds them. The statement
// prepared when the store opened (PrepareInsertJSON) runs in tx; any other is prepared anew.
func (d *Driver) InsertJSON(tx *gorm.DB, p driver.InsertJSONParams) error {
	q, err := insertJSONSQL(p)
	if err != nil {
		return err
	}
	if st := d.inserts.lookup(q); st != nil {
		if sqlTx, err := driver.SQLTx(tx); err == nil {
			ctx := tx.Statement.Context
			if ctx == nil {
				ctx = context.Background()
			}
			if _, err := sqlTx.StmtContext(ctx, st).ExecContext(ctx, p.Rows); err != nil {
				return fmt.Errorf("insert into %s: %w", p.Table, err)
			}
			return nil
		}
	}
	if err := tx.Exec(q, p.Rows).Error; err != nil {
		return fmt.Errorf("insert into %s: %w", p.Table, err)
	}
	return nil
}

// PrepareInsertJSON implements driver.Driver.
func (d *Driver) PrepareInsertJSON(ctx context.Context, db *sql.DB, p driver.InsertJSONParams) error {
	q, err := insertJSONSQL(p)
	if err != nil {
		return err
	}
	return d.inserts.prepare(ctx, db, q)
}

// insertJSONSQL is InsertJSON's statement for p's table and columns.
func insertJSONSQL(p driver.InsertJSONParams) (string, error) {
	table, cols, err := p.QuotedColumns()
	if err != nil {
		return "", err
	}
	reads := make([]string, len(p.Columns))
	for i, c := range p.Columns {
		reads[i] = "v->>'" + c + "'"
	}
	return "WITH r AS MATERIALIZED (SELECT value AS v FROM json_each(?))\nINSERT INTO " + table + " (" + cols + ")\nSELECT " +
		strings.Join(reads, ", ") + " FROM r", nil
}

func (*Driver) IDIn(column string, ids []int64) clause.Expr {
	return clause.Expr{SQL: column + " IN (SELECT value FROM json_each(?))", Vars: []any{"[" + driver.IDList(ids) + "]"}}
}
