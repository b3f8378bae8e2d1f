// Package jobstest helps test code that runs on the job engine: a configuration whose loops are
// quick, an engine started for the length of a test, and waiting for a job's state.
package jobstest

import (
	"context"
	"testing"
	"time"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// Fast is a configuration that makes the engine's loops quick enough for tests.
func Fast() jobs.Config {
	return jobs.Config{
		PollInterval: 50 * time.Millisecond, Lease: 3 * time.Second, SoftStop: 200 * time.Millisecond,
		ServerHeartbeat: time.Second, FinishDelay: time.Millisecond,
	}
}

// Start starts e and stops it when the test ends.
func Start(t testing.TB, e *jobs.Engine) {
	t.Helper()
	if err := e.Start(context.Background()); err != nil {
		t.Fatalf("jobstest: start: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Stop(context.Background()); err != nil {
			t.Errorf("jobstest: stop: %v", err)
		}
	})
}

// WaitState waits (at most 20 s) until job id is in state want, and returns it.
func WaitState(t testing.TB, s models.JobQueries, id int64, want models.JobState) *models.Job {
	t.Helper()
	var last *models.Job
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		j, err := s.GetJob(context.Background(), id)
		if err != nil {
			t.Fatalf("jobstest: get job %d: %v", id, err)
		}
		if j.State == want {
			return j
		}
		last = j
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("job %d never reached %s; it is %s (last error %q)", id, want, last.State, last.LastError)
	return nil
}

// Receive waits (at most 20 s) for a value on ch and returns it; what names the value in the
// failure.
func Receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("jobstest: timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// New returns an engine on store with cfg, not started.
func New(t testing.TB, store *models.Store, cfg jobs.Config) *jobs.Engine {
	t.Helper()
	e, err := jobs.New(store, cfg)
	if err != nil {
		t.Fatalf("jobstest: new engine: %v", err)
	}
	return e
}

// ForEachDialect runs fn as subtests named sqlite and postgres, each with a fresh store of that
// dialect and an engine on it with cfg (not started).
func ForEachDialect(t *testing.T, cfg jobs.Config, fn func(t *testing.T, e *jobs.Engine, s *models.Store)) {
	t.Helper()
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		fn(t, New(t, s, cfg), s)
	})
}
