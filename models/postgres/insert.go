package postgres

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/kilnhq/kiln/models/driver"
)

// New jobs are inserted from one array per column: an array is one parameter, bound in binary,
// where GORM's multi-row VALUES bound each value of each row as a parameter of its own and
// built the statement by reflection, which made the insert bound by the Go side's CPU. The rows
// come back in the arrays' order.

// insertColumn is a column of driver.InsertRow: its name, its array's type, and its array.
type insertColumn struct {
	name, array string
	values      func(rows []driver.InsertRow) any
}

// column makes the insertColumn of the field get reads.
func column[T any](name, array string, get func(r *driver.InsertRow) T) insertColumn {
	return insertColumn{name: name, array: array, values: func(rows []driver.InsertRow) any {
		out := make([]T, len(rows))
		for i := range rows {
			out[i] = get(&rows[i])
		}
		return out
	}}
}

// insertColumns are the columns insertJobsSQL writes, in the order of its arrays: the one list
// of them.
var insertColumns = []insertColumn{
	column("kind", "text[]", func(r *driver.InsertRow) string { return r.Kind }),
	column("queue", "text[]", func(r *driver.InsertRow) string { return r.Queue }),
	column("priority", "bigint[]", func(r *driver.InsertRow) int64 { return int64(r.Priority) }),
	column("args", "text[]", func(r *driver.InsertRow) string { return r.Args }),
	column("state", "text[]", func(r *driver.InsertRow) string { return r.State }),
	column("attempt", "bigint[]", func(r *driver.InsertRow) int64 { return int64(r.Attempt) }),
	column("max_attempts", "bigint[]", func(r *driver.InsertRow) int64 { return int64(r.MaxAttempts) }),
	column("run_at", "timestamptz[]", func(r *driver.InsertRow) time.Time { return r.RunAt }),
	column("created_at", "timestamptz[]", func(r *driver.InsertRow) time.Time { return r.CreatedAt }),
	column("started_at", "timestamptz[]", func(r *driver.InsertRow) *time.Time { return r.StartedAt }),
	column("finished_at", "timestamptz[]", func(r *driver.InsertRow) *time.Time { return r.FinishedAt }),
	column("lease_until", "timestamptz[]", func(r *driver.InsertRow) *time.Time { return r.LeaseUntil }),
	column("server_id", "text[]", func(r *driver.InsertRow) string { return r.ServerID }),
	column("last_error", "text[]", func(r *driver.InsertRow) string { return r.LastError }),
	column("parent_id", "bigint[]", func(r *driver.InsertRow) *int64 { return r.ParentID }),
	column("continue_on", "text[]", func(r *driver.InsertRow) string { return r.ContinueOn }),
	column("recurring_id", "bigint[]", func(r *driver.InsertRow) *int64 { return r.RecurringID }),
	column("rescues", "bigint[]", func(r *driver.InsertRow) int64 { return int64(r.Rescues) }),
	column("runs", "bigint[]", func(r *driver.InsertRow) int64 { return int64(r.Runs) }),
	column("progress", "bigint[]", func(r *driver.InsertRow) int64 { return int64(r.Progress) }),
	column("timeout", "bigint[]", func(r *driver.InsertRow) int64 { return int64(r.Timeout) }),
	column("result", "text[]", func(r *driver.InsertRow) string { return r.Result }),
	column("tags", "text[]", func(r *driver.InsertRow) string { return r.Tags }),
	column("note", "text[]", func(r *driver.InsertRow) string { return r.Note }),
}

// insertJobsSQL inserts a batch of new jobs from one array per column of insertColumns.
var insertJobsSQL = func() string {
	names := make([]string, len(insertColumns))
	arrays := make([]string, len(insertColumns))
	for i, c := range insertColumns {
		names[i], arrays[i] = c.name, fmt.Sprintf("$%d::%s", i+1, c.array)
	}
	return "INSERT INTO jobs (" + strings.Join(names, ", ") + ")\nSELECT * FROM unnest(" + strings.Join(arrays, ", ") + ")\nRETURNING id"
}()

// insertArraysMax is the most jobs one insertJobsSQL carries: a statement's parameters travel
// in one message, which PostgreSQL caps at 1 GB, and a batch of a million jobs needn't be
// copied whole on both sides.
const insertArraysMax = 5000

// InsertJobs runs insertJobsSQL, insertArraysMax jobs at a time.
func (*hotPath) InsertJobs(tx *gorm.DB, p driver.InsertParams) error {
	for chunk := range slices.Chunk(p.Rows, insertArraysMax) {
		if err := insertArrays(tx, chunk); err != nil {
			return err
		}
	}
	return nil
}

// insertArrays inserts rows with insertJobsSQL and sets their IDs from the rows it returns.
func insertArrays(tx *gorm.DB, rows []driver.InsertRow) error {
	stx, err := driver.SQLTx(tx)
	if err != nil {
		return err
	}
	args := make([]any, len(insertColumns))
	for i, c := range insertColumns {
		args[i] = c.values(rows)
	}
	res, err := stx.QueryContext(tx.Statement.Context, insertJobsSQL, args...)
	if err != nil {
		return err
	}
	defer res.Close()
	i := 0
	for ; res.Next(); i++ {
		if i == len(rows) {
			return fmt.Errorf("more ids than jobs")
		}
		if err := res.Scan(&rows[i].ID); err != nil {
			return err
		}
	}
	if err := res.Err(); err != nil {
		return err
	}
	if i != len(rows) {
		return fmt.Errorf("%d ids for %d jobs", i, len(rows))
	}
	return nil
}
