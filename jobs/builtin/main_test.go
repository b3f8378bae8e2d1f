package builtin_test

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/jobstest"
	"github.com/kilnhq/kiln/models"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var ctx = context.Background()

// fast, start, waitState and receive are jobstest's, under the short names these tests use
// everywhere (as the engine's tests do).
var (
	fast      = jobstest.Fast
	start     = func(t *testing.T, e *jobs.Engine) { t.Helper(); jobstest.Start(t, e) }
	waitState = func(t *testing.T, s *models.Store, id int64, want models.JobState) *models.Job {
		t.Helper()
		return jobstest.WaitState(t, s.JobQueries, id, want)
	}
)

func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	return jobstest.Receive(t, ch, what)
}

// forEachDialect and newEngine are jobstest's, under the names these tests use everywhere.
var (
	forEachDialect = jobstest.ForEachDialect
	newEngine      = func(t *testing.T, store *models.Store, cfg jobs.Config) *jobs.Engine {
		t.Helper()
		return jobstest.New(t, store, cfg)
	}
)
