package driver

import (
	"fmt"
	"strconv"
	"strings"
)

// InsertJSONParams are rows to store in one statement, carried as one parameter: a JSON array of
// objects, each keyed by the names of Columns (values as a JSON number, string, boolean or null;
// times as Driver.JSONTime writes them). Rows of events, steps and edges come by the thousand
// (a workflow's, a release's): bound one value per parameter, as GORM's CreateInBatches binds
// them, 500 rows to a statement, their statements cost more to build and prepare than to run.
type InsertJSONParams struct {
	Table   string
	Columns []string
	// Rows is the JSON array.
	Rows string
}

// QuotedColumns returns p's table and columns, each quoted as an SQL identifier, the columns
// joined by commas; an error if a name is not a plain identifier (they come from the code, never
// from input).
func (p InsertJSONParams) QuotedColumns() (table, columns string, err error) {
	quote := func(name string) (string, error) {
		if name == "" {
			return "", fmt.Errorf("driver: insert into %q: an empty name", p.Table)
		}
		for _, r := range name {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
				return "", fmt.Errorf("driver: insert into %q: %q is not a plain identifier", p.Table, name)
			}
		}
		return `"` + name + `"`, nil
	}
	if table, err = quote(p.Table); err != nil {
		return "", "", err
	}
	cols := make([]string, len(p.Columns))
	for i, c := range p.Columns {
		if cols[i], err = quote(c); err != nil {
			return "", "", err
		}
	}
	return table, strings.Join(cols, ", "), nil
}

// IDList writes ids as text: "1,2,3", for a driver's IDIn (a JSON array or an array literal
// around it).
func IDList(ids []int64) string {
	b := make([]byte, 0, len(ids)*8)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(b)
}
