package models_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// requireEveryField fails unless every field of v is set: a field added to its type must be
// given a value here too, and is then checked to be stored.
func requireEveryField(t *testing.T, v any) {
	t.Helper()
	rv := reflect.ValueOf(v)
	for i := range rv.NumField() {
		require.False(t, rv.Field(i).IsZero(), "%s.%s is not set in the test", rv.Type().Name(), rv.Type().Field(i).Name)
	}
}

// Steps, events and edges stored in bulk (InsertRows: a statement of a fixed text) keep every column
// they were given, awkward text and times included, however many there are.
func TestInsertRowsKeepsEveryColumn(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		db := modeltest.DB(s)
		item := 7
		steps := []models.WorkflowStep{
			{JobID: 101, WorkflowID: 9, Step: "fan-out.1", DepsLeft: 3, DepsFailed: 1, Item: &item,
				ForEach: `${steps.a.result.items}`, Templated: true},
			{JobID: 102, WorkflowID: 9, Step: "plain"},
		}
		requireEveryField(t, steps[0])
		require.NoError(t, models.InsertRowsForTest(s, steps))
		var gotSteps []models.WorkflowStep
		require.NoError(t, db.Order("job_id").Find(&gotSteps).Error)
		require.Equal(t, steps, gotSteps)

		at := time.Date(2026, 3, 29, 1, 30, 15, 123456000, time.UTC)
		events := []models.JobEvent{
			{ID: 1, JobID: 101, From: models.JobAwaiting, To: models.JobEnqueued, At: at, Attempt: 2,
				Reason: "quotes \" and \\ and\nlines, ünïcödé, <html> & a NUL:\x00.", Error: "boom\ttab",
				ServerID: "node-1", Duration: 1500 * time.Millisecond},
			{ID: 2, JobID: 102, To: models.JobAwaiting, At: at.Add(time.Microsecond), Reason: "awaiting 1 step"},
		}
		requireEveryField(t, events[0])
		require.NoError(t, models.InsertRowsForTest(s, events))
		var gotEvents []models.JobEvent
		require.NoError(t, db.Order("id").Find(&gotEvents).Error)
		require.Len(t, gotEvents, 2)
		events[0].Reason = "quotes \" and \\ and\nlines, ünïcödé, <html> & a NUL:." // no text column holds a NUL
		for i := range events {
			require.True(t, events[i].At.Equal(gotEvents[i].At), "at %s, want %s", gotEvents[i].At, events[i].At)
			gotEvents[i].At = events[i].At
			require.NotZero(t, gotEvents[i].ID) // the database's
			events[i].ID = gotEvents[i].ID
		}
		require.Equal(t, events, gotEvents)

		// More edges than one statement carries.
		deps := make([]models.JobDepForTest, 5003)
		for i := range deps {
			deps[i] = models.JobDepForTest{ParentID: 101, JobID: int64(1000 + i)}
		}
		requireEveryField(t, deps[0])
		require.NoError(t, models.InsertRowsForTest(s, deps))
		var n int64
		require.NoError(t, db.Table("job_deps").Where("parent_id = 101 AND job_id BETWEEN 1000 AND 6002").Count(&n).Error)
		require.Equal(t, int64(len(deps)), n, fmt.Sprintf("edges stored of %d", len(deps)))
	})
}
