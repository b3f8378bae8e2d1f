package driver

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// InsertRowsParams are rows to store in one table at once: a workflow's steps and edges, a
// release's events, an API group commit's audit entries. Rows come by the thousand (a
// workflow's), so a driver stores them with a statement of a fixed text, prepared once, where
// GORM's CreateInBatches built, bound and (SQLite) prepared a statement of a value per
// parameter per 500 rows: PostgreSQL's carries them all as one JSON parameter (one round trip);
// SQLite's inserts one row per run (no round trips to save, and no JSON to write and parse).
type InsertRowsParams struct {
	Table   string
	Columns []string
	// Rows hold a value per column: an int64, a bool, a string without NUL characters, a
	// time.Time in UTC to the microsecond, or nil for NULL.
	Rows [][]any
}

// QuotedColumns returns p's table and columns, each quoted as an SQL identifier, the columns
// joined by commas; an error if a name is not a plain identifier (they come from the code, never
// from input).
func (p InsertRowsParams) QuotedColumns() (table, columns string, err error) {
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

// AppendJSONRows appends p's rows to buf as a JSON array of objects keyed by p's columns: a
// number, a string, a boolean, null, a time as jsonTime writes it.
func AppendJSONRows(buf []byte, p InsertRowsParams, jsonTime func(time.Time) string) ([]byte, error) {
	keys := make([][]byte, len(p.Columns)) // `"column":`
	for i, c := range p.Columns {
		keys[i] = append(strconv.AppendQuote(nil, c), ':')
	}
	buf = append(buf, '[')
	for i, row := range p.Rows {
		if len(row) != len(p.Columns) {
			return buf, fmt.Errorf("driver: insert into %s: a row of %d values for %d columns", p.Table, len(row), len(p.Columns))
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '{')
		for k, v := range row {
			if k > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, keys[k]...)
			switch v := v.(type) {
			case nil:
				buf = append(buf, "null"...)
			case int64:
				buf = strconv.AppendInt(buf, v, 10)
			case bool:
				buf = strconv.AppendBool(buf, v)
			case string:
				b, err := json.Marshal(v)
				if err != nil {
					return buf, err
				}
				buf = append(buf, b...)
			case time.Time:
				buf = strconv.AppendQuote(buf, jsonTime(v))
			default:
				return buf, fmt.Errorf("driver: insert into %s: column %s: a %T is not a row value", p.Table, p.Columns[k], v)
			}
		}
		buf = append(buf, '}')
	}
	return append(buf, ']'), nil
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
