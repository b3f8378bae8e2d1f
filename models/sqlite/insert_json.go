package sqlite

import (
	"fmt"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/kilnhq/kiln/models/driver"
)

// InsertJSON implements driver.Driver: one INSERT ... SELECT over json_each. Each row's JSON text
// is made once (MATERIALIZED), not once per column read from it; ->> gives a JSON number as an
// integer, a string as text and a boolean as 0 or 1, as go-sqlite3 binds them.
func (*Driver) InsertJSON(tx *gorm.DB, p driver.InsertJSONParams) error {
	table, cols, err := p.QuotedColumns()
	if err != nil {
		return err
	}
	reads := make([]string, len(p.Columns))
	for i, c := range p.Columns {
		reads[i] = "v->>'" + c + "'"
	}
	q := "WITH r AS MATERIALIZED (SELECT value AS v FROM json_each(?))\nINSERT INTO " + table + " (" + cols + ")\nSELECT " +
		strings.Join(reads, ", ") + " FROM r"
	if err := tx.Exec(q, p.Rows).Error; err != nil {
		return fmt.Errorf("insert into %s: %w", p.Table, err)
	}
	return nil
}

// IDIn implements driver.Driver: the ids as a JSON array, read by json_each.
func (*Driver) IDIn(column string, ids []int64) clause.Expr {
	return clause.Expr{SQL: column + " IN (SELECT value FROM json_each(?))", Vars: []any{"[" + driver.IDList(ids) + "]"}}
}
