package models_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// An entry without a kind hashes as it did before entries had one: the hash below was
// computed by the code of then (before migration 00023), so every entry already in a trail
// still verifies. A kind, once set, is covered by the hash.
func TestAuditHashWithoutKindIsUnchanged(t *testing.T) {
	owner := "ada"
	e := models.AuditEntry{ID: 42, At: time.Date(2026, 12, 1, 9, 30, 15, 123456000, time.UTC), Actor: "token ci", ActorKind: models.AuditActorToken,
		TokenOwner: &owner, IP: "192.0.2.7", UserAgent: "curl/8", Action: "jobs.retry POST /dashboard/jobs/:id/retry", Target: "job 7",
		Details: `{"paused":{"before":false,"after":true}}`, Outcome: "303", PrevHash: "ab"}
	require.Equal(t, "00f01f8dc918bf0e2fa973bad776ff25c850166013fa1afc87dddd64bb6c5a01", models.AuditHashForTest(&e))
	e.Kind = "emails"
	require.NotEqual(t, "00f01f8dc918bf0e2fa973bad776ff25c850166013fa1afc87dddd64bb6c5a01", models.AuditHashForTest(&e))
}

// Entries with and without a kind chain and verify together; the kind filter matches it
// exactly, and with KindOrTarget also the entries whose target is the kind itself; a kind
// changed in the database is caught.
func TestAuditKindFiltersAndVerifies(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		_, err := s.Audit.ListAudit(ctx, models.AuditFilter{Kind: "a\x00b"}, 0, 0, 10)
		require.Equal(t, models.EINVALID, models.ErrorCode(err), "refused, not a database error")
		for _, e := range []models.AuditEntry{
			{Target: "job 1", Kind: "emails"},
			{Target: "kind emails"}, // an entry about a kind gets it from its target
			{Target: "kind emails", Kind: "emails"},
			{Target: "job 2", Kind: "reports"},
			{Target: "queue low"},
			{Target: "job 3", Kind: "emails"},
		} {
			e.Actor, e.ActorKind, e.Action, e.Outcome = "ada", models.AuditActorUser, "jobs.retry POST /dashboard/jobs/:id/retry", "303"
			require.NoError(t, s.Audit.AppendAudit(ctx, &e))
		}
		requireVerifies(t, s, 6)

		ids := func(f models.AuditFilter) []int64 {
			page, err := s.Audit.ListAudit(ctx, f, 0, 0, 10)
			require.NoError(t, err)
			var out []int64
			for _, e := range page.Entries {
				out = append(out, e.ID)
			}
			return out
		}
		require.Equal(t, []int64{6, 3, 2, 1}, ids(models.AuditFilter{Kind: "emails"}))
		require.Equal(t, []int64{3, 2}, ids(models.AuditFilter{Kind: "emails", Target: "kind emails"}), "both, by default")
		require.Equal(t, []int64{4}, ids(models.AuditFilter{Kind: "reports"}))
		require.Equal(t, []int64{6, 3, 2, 1}, ids(models.AuditFilter{Kind: "emails", Target: "kind emails", KindOrTarget: true}))
		require.Equal(t, []int64{6, 3, 2, 1}, ids(models.AuditFilter{Kind: "emails", Target: "kind emails", KindOrTarget: true, Actor: "ada"}))
		require.Empty(t, ids(models.AuditFilter{Kind: "emails", Target: "kind emails", KindOrTarget: true, Actor: "bob"}), "the other fields still apply")
		require.Empty(t, ids(models.AuditFilter{Kind: "email"}), "exactly")

		require.NoError(t, modeltest.DB(s).Exec(`UPDATE audit_entries SET kind = 'reports' WHERE id = 3`).Error)
		v, err := s.Audit.VerifyAudit(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(3), v.BadID, v.Problem)
	})
}
