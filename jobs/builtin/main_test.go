package builtin_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/jobstest"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
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

// forEachDialect runs fn as subtests named sqlite and postgres, each with a fresh store of that
// dialect and an engine on it (not started).
func forEachDialect(t *testing.T, cfg jobs.Config, fn func(t *testing.T, e *jobs.Engine, s *models.Store)) {
	t.Helper()
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		fn(t, newEngine(t, s, cfg), s)
	})
}

func newEngine(t *testing.T, store *models.Store, cfg jobs.Config) *jobs.Engine {
	t.Helper()
	e, err := jobs.New(store, cfg)
	require.NoError(t, err)
	return e
}
