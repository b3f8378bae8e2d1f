package models

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"github.com/kilnhq/kiln/models/driver"
)

// insertJSONRows is how many rows one insertRows statement carries: 5,000 events are about
// 1 MB of JSON.
const insertJSONRows = 5000

// insertRows stores rows, values of a GORM model (events, steps, edges), in tx with the driver's
// InsertJSON: one statement per insertJSONRows rows, carrying them as one JSON parameter, where
// tx.CreateInBatches built, bound and (SQLite) prepared a statement of a value per parameter per
// 500 rows. It writes every column GORM would create, but an auto-increment key, which the
// database sets: a field added to the model is stored without a change here.
func insertRows[T any](s *conn, tx *gorm.DB, rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	p, fields, err := insertParams(tx, &rows[0])
	if err != nil {
		return err
	}
	keys := make([][]byte, len(fields)) // `"column":` after the first
	for i, f := range fields {
		keys[i] = strconv.AppendQuote(nil, f.DBName)
		keys[i] = append(keys[i], ':')
	}
	ctx := tx.Statement.Context
	if ctx == nil {
		ctx = context.Background()
	}
	var buf []byte
	for chunk := range slices.Chunk(rows, insertJSONRows) {
		buf = append(buf[:0], '[')
		for i := range chunk {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, '{')
			row := reflect.ValueOf(&chunk[i]).Elem()
			for k, f := range fields {
				if k > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, keys[k]...)
				var err error
				if buf, err = s.appendJSONValue(buf, f.ReflectValueOf(ctx, row)); err != nil {
					return fmt.Errorf("models: insert into %s: column %s: %w", p.Table, f.DBName, err)
				}
			}
			buf = append(buf, '}')
		}
		p.Rows = string(append(buf, ']'))
		if err := s.drv.InsertJSON(tx, p); err != nil {
			return fmt.Errorf("models: %w", err)
		}
	}
	return nil
}

// insertParams are the table and columns insertRows writes for model (a pointer to a value of
// a GORM model), with the columns' fields.
func insertParams(db *gorm.DB, model any) (driver.InsertJSONParams, []*schema.Field, error) {
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(model); err != nil {
		return driver.InsertJSONParams{}, nil, fmt.Errorf("models: insert rows: %w", err)
	}
	var fields []*schema.Field
	for _, f := range stmt.Schema.Fields {
		if f.DBName != "" && f.Creatable && !f.AutoIncrement {
			fields = append(fields, f)
		}
	}
	p := driver.InsertJSONParams{Table: stmt.Schema.Table, Columns: make([]string, len(fields))}
	for i, f := range fields {
		p.Columns[i] = f.DBName
	}
	return p, fields, nil
}

// insertedModels are the models insertRows writes: their statements are prepared when the
// store opens (Driver.PrepareInsertJSON).
var insertedModels = []any{&JobEvent{}, &WorkflowStep{}, &jobDep{}, &AuditEntry{}}

var timeType = reflect.TypeFor[time.Time]()

// appendJSONValue appends v to buf as InsertJSON reads it: a number, a string (without NUL
// characters, which no text column holds), a boolean, null for a nil pointer, a time as the
// driver writes it.
func (s *conn) appendJSONValue(buf []byte, v reflect.Value) ([]byte, error) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return append(buf, "null"...), nil
		}
		v = v.Elem()
	}
	if v.Type() == timeType {
		return strconv.AppendQuote(buf, s.drv.JSONTime(v.Interface().(time.Time).UTC().Truncate(time.Microsecond))), nil
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(buf, v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.AppendUint(buf, v.Uint(), 10), nil
	case reflect.Bool:
		return strconv.AppendBool(buf, v.Bool()), nil
	case reflect.String:
		b, err := json.Marshal(jsonText(v.String()))
		return append(buf, b...), err
	}
	return buf, fmt.Errorf("a %s is not written as JSON", v.Type())
}
