package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// A node knows its own kinds, and those other servers on its database registered: when they
// start and on every heartbeat, for models.KnownKindsWindow. Enqueue itself takes any kind.
func TestKnownKinds(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, api *jobs.Engine, s *models.Store) {
		noop := func(context.Context, *models.Job) error { return nil }
		require.NoError(t, api.Register("local.only", noop))
		known := func() []string {
			t.Helper()
			kinds, err := api.KnownKinds(ctx)
			require.NoError(t, err)
			return kinds
		}
		require.Equal(t, []string{"local.only"}, known(), "registered here, though this engine never started")

		worker := newEngine(t, s, fast())
		require.NoError(t, worker.Register("report.build", noop))
		require.NoError(t, worker.Register("email.send", noop))
		require.Equal(t, []string{"local.only"}, known(), "the worker has not started: nobody said so yet")
		isKnown := func(kind string) bool {
			t.Helper()
			ok, err := api.KindKnown(ctx, kind)
			require.NoError(t, err)
			return ok
		}
		require.False(t, isKnown("email.send"))
		start(t, worker)
		require.True(t, isKnown("email.send"), "a kind not known before is looked for again, and found")
		require.Equal(t, []string{"email.send", "local.only", "report.build"}, known(), "recorded as it started")
		require.True(t, isKnown("local.only"))
		require.False(t, isKnown("email.sned"))

		// Seen last 8 days ago, as if the worker had gone: no longer known, until its next
		// heartbeat (every second here) says so again.
		require.NoError(t, modeltest.DB(s).Exec("UPDATE known_kinds SET seen_at = ?", time.Now().UTC().Add(-8*24*time.Hour)).Error)
		require.Equal(t, []string{"local.only"}, known())
		require.False(t, isKnown("report.build"))
		require.Eventually(t, func() bool { return len(known()) == 3 }, 10*time.Second, 50*time.Millisecond, "the heartbeat records the kinds again")

		j, err := api.Enqueue(ctx, "nobody.registers.this", nil)
		require.NoError(t, err, "the Go API enqueues any kind: a producer's kinds are its workers' to register")
		require.Equal(t, "nobody.registers.this", j.Kind)
	})
}
