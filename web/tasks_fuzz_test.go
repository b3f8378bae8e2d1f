package web

import (
	"context"
	"testing"

	"github.com/kilnhq/kiln/models/modeltest"
)

// FuzzTaskForm checks that whatever the task form accepts, the database stores: no input may
// pass validation and then fail in the database (a 500), whatever the dialect's quirks.
// Run longer with: go test -fuzz FuzzTaskForm ./web/
func FuzzTaskForm(f *testing.F) {
	f.Add("Water the plants", "Both balconies", "2027-03-14T09:30", "America/New_York")
	f.Add("  ", "", "", "")
	f.Add("a\x00b", "c\x00", "2027-02-30T10:00", "Local")
	f.Add("\xff\xfe", "\u2028\ufeff", "9999-12-31T23:59:59", "Etc/GMT+14")
	f.Add("日本語のタスク", "🔥", "1900-01-01T00:00", "Asia/Tokyo")
	f.Add("x", "y", "0001-01-01T00:00", "../../etc/passwd")
	store := modeltest.Open(f, modeltest.SQLiteDSN(f))
	f.Fuzz(func(t *testing.T, title, description, due, zone string) {
		in, errs := taskForm{Title: title, Description: description, DueAt: due, Zone: zone}.validate()
		if len(errs) > 0 {
			return
		}
		if _, err := store.Tasks.CreateTask(context.Background(), in); err != nil {
			t.Fatalf("validated input rejected by the database: %v (input %+v)", err, in)
		}
	})
}
