package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/audit"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// Prune deletes what is older than the retention and nothing newer, and the chain left still
// verifies from the checkpoint it leaves.
func TestPruneKeepsTheRetentionAndTheChain(t *testing.T) {
	ctx := context.Background()
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		now := time.Now()
		for _, age := range []time.Duration{400 * 24 * time.Hour, 366 * 24 * time.Hour, 364 * 24 * time.Hour, time.Hour} {
			e := models.AuditEntry{At: now.Add(-age), Actor: "ada", ActorKind: models.AuditActorUser, Action: "login", Outcome: models.AuditOK}
			require.NoError(t, s.Audit.AppendAudit(ctx, &e))
		}
		n, err := audit.Prune(ctx, s.Audit, audit.Config{Now: func() time.Time { return now }})
		require.NoError(t, err)
		require.Equal(t, int64(2), n, "the default retention is a year")
		v, err := s.Audit.VerifyAudit(ctx)
		require.NoError(t, err)
		require.Zero(t, v.BadID, v.Problem)
		require.Equal(t, int64(2), v.Checked)
		require.Equal(t, int64(2), v.From.LastID)

		n, err = audit.Prune(ctx, s.Audit, audit.Config{Retention: 30 * time.Minute, Now: func() time.Time { return now }})
		require.NoError(t, err)
		require.Equal(t, int64(2), n)
	})
}

func TestRetentionMustBeAnHourAtLeast(t *testing.T) {
	require.ErrorContains(t, audit.Config{Retention: time.Minute}.Validate(), "--audit-retention")
	require.NoError(t, audit.Config{}.Validate())
}
