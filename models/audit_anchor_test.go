package models_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// exportAudit is every entry, newest first, as an export holds them.
func exportAudit(t *testing.T, s *models.Store) []models.AuditEntry {
	t.Helper()
	page, err := s.Audit.ListAudit(ctx, models.AuditFilter{}, 0, 0, models.MaxAuditPage)
	require.NoError(t, err)
	return page.Entries
}

// A chain rewritten from an entry on, every hash recomputed, verifies, but not against an
// export made before: the first entry rewritten is named.
func TestAuditExportShowsARewrittenChain(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		appendAudit(t, s, 6, "ada", time.Time{})
		exported := exportAudit(t, s)
		c, err := s.Audit.CompareAuditExport(ctx, exported, time.Time{})
		require.NoError(t, err)
		require.Equal(t, models.AuditComparison{Compared: 6}, c)

		modeltest.RewriteAudit(t, s, 3, "job 99")
		requireVerifies(t, s, 6)
		c, err = s.Audit.CompareAuditExport(ctx, exported, time.Time{})
		require.NoError(t, err)
		require.Equal(t, int64(3), c.BadID, c.Problem)
		require.Contains(t, c.Problem, "entry 3 no longer matches the export: its hash was "+exported[3].Hash+", now ")
		require.Equal(t, int64(2), c.Compared, "entries 1 and 2 matched")
	})
}

// The newest entries removed leave a chain that verifies; the export and the head written
// down both name the first one removed. A head still there matches.
func TestAuditExportAndHeadShowNewestRemoved(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		appendAudit(t, s, 6, "ada", time.Time{})
		v := requireVerifies(t, s, 6)
		exported := exportAudit(t, s)
		require.Equal(t, exported[0].ID, v.LastID, "verify gives the head to write down")
		require.Equal(t, exported[0].Hash, v.LastHash)
		head := models.AuditHead{ID: v.LastID, Hash: v.LastHash}
		kept := models.AuditHead{ID: 4, Hash: exported[2].Hash}

		require.NoError(t, modeltest.DB(s).Exec(`DELETE FROM audit_entries WHERE id >= 5`).Error)
		v = requireVerifies(t, s, 4)
		require.Equal(t, int64(4), v.LastID)
		c, err := s.Audit.CompareAuditExport(ctx, exported, time.Time{})
		require.NoError(t, err)
		require.Equal(t, int64(5), c.BadID, c.Problem)
		require.Equal(t, "entry 5 no longer matches the export: it was removed (the trail now ends at entry 4)", c.Problem)

		c, err = s.Audit.CompareAuditHeads(ctx, []models.AuditHead{kept, head})
		require.NoError(t, err)
		require.Equal(t, int64(6), c.BadID, c.Problem)
		require.Contains(t, c.Problem, "entry 6 no longer matches the hash given: it was removed")
		c, err = s.Audit.CompareAuditHeads(ctx, []models.AuditHead{kept})
		require.NoError(t, err)
		require.Equal(t, models.AuditComparison{Compared: 1}, c)
		c, err = s.Audit.CompareAuditHeads(ctx, []models.AuditHead{{ID: 4, Hash: exported[0].Hash}})
		require.NoError(t, err)
		require.Equal(t, int64(4), c.BadID, "a head whose hash differs")
	})
}

// Entries retention deleted are not missing: those before its checkpoint are counted apart,
// and the last one is compared with the checkpoint's hash. A copy edited (a field changed,
// its hash kept) differs; details encoded another way (keys reordered) do not.
func TestAuditExportAfterRetention(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		appendAudit(t, s, 4, "ada", time.Now().Add(-400*24*time.Hour))
		appendAudit(t, s, 3, "bob", time.Time{})
		exported := exportAudit(t, s)
		n, err := s.Audit.PruneAudit(ctx, time.Now().Add(-365*24*time.Hour), 100)
		require.NoError(t, err)
		require.Equal(t, int64(4), n)
		c, err := s.Audit.CompareAuditExport(ctx, exported, time.Time{})
		require.NoError(t, err)
		require.Equal(t, models.AuditComparison{Compared: 4, Pruned: 3}, c, "entries 5 to 7, and 4 with the checkpoint")

		forged := append([]models.AuditEntry(nil), exported...)
		forged[3].Hash = exported[0].Hash // entry 4, the checkpoint's
		c, err = s.Audit.CompareAuditExport(ctx, forged, time.Time{})
		require.NoError(t, err)
		require.Equal(t, int64(4), c.BadID, c.Problem)
		require.Contains(t, c.Problem, "retention deleted it, and its checkpoint holds hash "+exported[3].Hash)

		edited := append([]models.AuditEntry(nil), exported...)
		edited[1].Target = "job 99" // entry 6
		c, err = s.Audit.CompareAuditExport(ctx, edited, time.Time{})
		require.NoError(t, err)
		require.Equal(t, int64(6), c.BadID, c.Problem)
		require.Contains(t, c.Problem, `its target was "job 99", now "job 2"`)

		reordered := append([]models.AuditEntry(nil), exported...)
		reordered[0].Details = `{"paused":{"after":true,"before":false}}`
		c, err = s.Audit.CompareAuditExport(ctx, reordered, time.Time{})
		require.NoError(t, err)
		require.Zero(t, c.BadID, c.Problem)

		_, err = s.Audit.PruneAudit(ctx, time.Now().Add(time.Minute), 100)
		require.NoError(t, err)
		v := requireVerifies(t, s, 0)
		require.Equal(t, models.AuditHead{ID: 7, Hash: exported[0].Hash}, models.AuditHead{ID: v.LastID, Hash: v.LastHash},
			"every entry deleted: the head is the checkpoint's")
		c, err = s.Audit.CompareAuditHeads(ctx, []models.AuditHead{{ID: 7, Hash: exported[0].Hash}})
		require.NoError(t, err)
		require.Equal(t, models.AuditComparison{Compared: 1}, c)
	})
}
