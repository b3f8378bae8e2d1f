package models

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"github.com/kilnhq/kiln/models/driver"
)

// insertChunkRows is how many rows one InsertRows call carries: 5,000 events are about 1 MB of
// PostgreSQL's JSON.
const insertChunkRows = 5000

// insertRows stores rows, values of a GORM model (events, steps, edges, audit entries), in tx
// with the driver's InsertRows: a statement of a fixed text, where tx.CreateInBatches built,
// bound and (SQLite) prepared a statement of a value per parameter per 500 rows. It writes every
// column GORM would create, but an auto-increment key, which the database sets: a field added
// to the model is stored without a change here.
func insertRows[T any](s *conn, tx *gorm.DB, rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	p, fields, err := insertParams(tx, &rows[0])
	if err != nil {
		return err
	}
	ctx := tx.Statement.Context
	if ctx == nil {
		ctx = context.Background()
	}
	for chunk := range slices.Chunk(rows, insertChunkRows) {
		p.Rows = make([][]any, len(chunk))
		values := make([]any, len(chunk)*len(fields)) // one allocation for the chunk's rows
		for i := range chunk {
			row := reflect.ValueOf(&chunk[i]).Elem()
			p.Rows[i] = values[i*len(fields) : (i+1)*len(fields) : (i+1)*len(fields)]
			for k, f := range fields {
				v, err := rowValue(f.ReflectValueOf(ctx, row))
				if err != nil {
					return fmt.Errorf("models: insert into %s: column %s: %w", p.Table, f.DBName, err)
				}
				p.Rows[i][k] = v
			}
		}
		if err := s.drv.InsertRows(tx, p); err != nil {
			return fmt.Errorf("models: %w", err)
		}
	}
	return nil
}

// insertParams are the table and columns insertRows writes for model (a pointer to a value of
// a GORM model), with the columns' fields: read from GORM's schema once per model type, as every
// group commit of the API's enqueues stores its audit entries and events with insertRows.
func insertParams(db *gorm.DB, model any) (driver.InsertRowsParams, []*schema.Field, error) {
	t := reflect.TypeOf(model)
	if c, ok := insertColumns.Load(t); ok {
		c := c.(insertCols)
		return driver.InsertRowsParams{Table: c.table, Columns: c.columns}, c.fields, nil
	}
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(model); err != nil {
		return driver.InsertRowsParams{}, nil, fmt.Errorf("models: insert rows: %w", err)
	}
	var fields []*schema.Field
	for _, f := range stmt.Schema.Fields {
		if f.DBName != "" && f.Creatable && !f.AutoIncrement {
			fields = append(fields, f)
		}
	}
	p := driver.InsertRowsParams{Table: stmt.Schema.Table, Columns: make([]string, len(fields))}
	for i, f := range fields {
		p.Columns[i] = f.DBName
	}
	insertColumns.Store(t, insertCols{table: p.Table, columns: p.Columns, fields: fields})
	return p, fields, nil
}

// insertCols is what insertParams read of a model's schema.
type insertCols struct {
	table   string
	columns []string
	fields  []*schema.Field
}

// insertColumns holds insertParams's answers by model type (a table's name and columns are the
// code's, the same for every store).
var insertColumns sync.Map

// insertedModels are the models insertRows writes: their statements are prepared when the
// store opens (Driver.PrepareInsertRows).
var insertedModels = []any{&JobEvent{}, &WorkflowStep{}, &jobDep{}, &AuditEntry{}}

var timeType = reflect.TypeFor[time.Time]()

// rowValue is v as driver.InsertRowsParams holds it: an int64, a bool, a string (without NUL
// characters, which no text column holds), nil for a nil pointer, a time in UTC to the
// microsecond, as both databases keep it.
func rowValue(v reflect.Value) (any, error) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, nil
		}
		v = v.Elem()
	}
	if v.Type() == timeType {
		return v.Interface().(time.Time).UTC().Truncate(time.Microsecond), nil
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.Uint() > math.MaxInt64 {
			return nil, fmt.Errorf("%d is out of range", v.Uint())
		}
		return int64(v.Uint()), nil
	case reflect.Bool:
		return v.Bool(), nil
	case reflect.String:
		return jsonText(v.String()), nil
	}
	return nil, fmt.Errorf("a %s is not a row value", v.Type())
}
