package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/kilnhq/kiln/models/driver"
)

// InsertRows implements driver.Driver: one INSERT ... SELECT over jsonb_populate_recordset, the
// rows carried as one JSON parameter (one round trip), each read as the table's row type, so
// that every value takes its column's type.
func (d *Driver) InsertRows(tx *gorm.DB, p driver.InsertRowsParams) error {
	table, cols, err := p.QuotedColumns()
	if err != nil {
		return err
	}
	rows, err := driver.AppendJSONRows(nil, p, d.JSONTime)
	if err != nil {
		return err
	}
	q := "INSERT INTO " + table + " (" + cols + ")\nSELECT " + cols + " FROM jsonb_populate_recordset(NULL::" + table + ", ?::jsonb)"
	if err := tx.Exec(q, string(rows)).Error; err != nil {
		return fmt.Errorf("insert into %s: %w", p.Table, err)
	}
	return nil
}

// IDIn implements driver.Driver: the ids as an array literal, cast to bigint[].
func (*Driver) IDIn(column string, ids []int64) clause.Expr {
	return clause.Expr{SQL: column + " = ANY(?::bigint[])", Vars: []any{"{" + driver.IDList(ids) + "}"}}
}

// PrepareInsertRows implements driver.Driver: nothing to do, pgx prepares and keeps each
// statement it is sent.
func (*Driver) PrepareInsertRows(context.Context, *sql.DB, driver.InsertRowsParams) error { return nil }
