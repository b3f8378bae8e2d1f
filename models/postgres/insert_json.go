package postgres

import (
	"fmt"

	"gorm.io/gorm"

	"github.com/kilnhq/kiln/models/driver"
)

// InsertJSON implements driver.Driver: one INSERT ... SELECT over jsonb_populate_recordset, which
// reads each row as the table's row type, so that every value takes its column's type.
func (*Driver) InsertJSON(tx *gorm.DB, p driver.InsertJSONParams) error {
	table, cols, err := p.QuotedColumns()
	if err != nil {
		return err
	}
	q := "INSERT INTO " + table + " (" + cols + ")\nSELECT " + cols + " FROM jsonb_populate_recordset(NULL::" + table + ", ?::jsonb)"
	if err := tx.Exec(q, p.Rows).Error; err != nil {
		return fmt.Errorf("insert into %s: %w", p.Table, err)
	}
	return nil
}
