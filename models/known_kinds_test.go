package models_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// Servers record the kinds they register; a kind counts as seen for KnownKindsWindow after the
// last time one did, and no longer.
func TestKindsSeen(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		seen := func() []string {
			t.Helper()
			kinds, err := s.Servers.KindsSeen(ctx, models.KnownKindsWindow)
			require.NoError(t, err)
			return kinds
		}
		require.Empty(t, seen(), "no server said anything yet")
		require.NoError(t, s.Servers.RecordKinds(ctx, nil), "nothing to record")

		// Two servers, one statement each, in any order and with repeats.
		require.NoError(t, s.Servers.RecordKinds(ctx, []string{"report.build", "email.send", "email.send"}))
		require.NoError(t, s.Servers.RecordKinds(ctx, []string{"http.request", "email.send"}))
		require.Equal(t, []string{"email.send", "http.request", "report.build"}, seen())

		// report.build's last server went away 8 days ago; email.send's 6.
		db := modeltest.DB(s)
		require.NoError(t, db.Exec("UPDATE known_kinds SET seen_at = ? WHERE kind = ?", time.Now().UTC().Add(-8*24*time.Hour), "report.build").Error)
		require.NoError(t, db.Exec("UPDATE known_kinds SET seen_at = ? WHERE kind = ?", time.Now().UTC().Add(-6*24*time.Hour), "email.send").Error)
		require.Equal(t, []string{"email.send", "http.request"}, seen())

		// A server registering it again brings it back.
		require.NoError(t, s.Servers.RecordKinds(ctx, []string{"report.build"}))
		require.Equal(t, []string{"email.send", "http.request", "report.build"}, seen())
		var rows int64
		require.NoError(t, db.Table("known_kinds").Count(&rows).Error)
		require.EqualValues(t, 3, rows, "one row per kind, however often recorded")

		// Seen within the last KnownKindsRefresh: recording it again writes nothing.
		recent := time.Now().UTC().Add(-models.KnownKindsRefresh / 2).Truncate(time.Second)
		require.NoError(t, db.Exec("UPDATE known_kinds SET seen_at = ? WHERE kind = ?", recent, "http.request").Error)
		require.NoError(t, s.Servers.RecordKinds(ctx, []string{"http.request"}))
		var at time.Time
		require.NoError(t, db.Table("known_kinds").Where("kind = ?", "http.request").Pluck("seen_at", &at).Error)
		require.True(t, recent.Equal(at.UTC()), "left at %v, not rewritten to %v", recent, at)
	})
}
