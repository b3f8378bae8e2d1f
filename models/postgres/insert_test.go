package postgres

import (
	"slices"
	"sync"
	"testing"

	"gorm.io/gorm/schema"

	"github.com/kilnhq/kiln/models/driver"
)

// The array insert writes exactly the columns GORM writes of a driver.InsertRow (SQLite's
// insert), in the field order: a field added to InsertRow without its array, or an array out of
// order, would store a value in the wrong column on PostgreSQL only.
func TestInsertColumnsAreInsertRows(t *testing.T) {
	s, err := schema.Parse(&driver.InsertRow{}, &sync.Map{}, schema.NamingStrategy{})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range s.Fields {
		if f.DBName != "" && !f.PrimaryKey {
			want = append(want, f.DBName)
		}
	}
	var got []string
	for _, c := range insertColumns {
		got = append(got, c.name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("insertColumns are\n%v\nInsertRow's columns are\n%v", got, want)
	}
}
