package models_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// Nodes starting at once all store their code's recurring jobs: every one succeeds, and there
// is one entry. (On PostgreSQL all of them could find no entry and insert; one node then
// failed to start with a unique violation.)
func TestUpsertRecurringConcurrently(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		const nodes, rounds = 8, 30
		var wg sync.WaitGroup
		errs := make(chan error, nodes*rounds)
		start := make(chan struct{})
		for i := range nodes * rounds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := s.Recurring.UpsertRecurring(ctx, &models.RecurringJob{Name: fmt.Sprintf("sweep-%d", i%rounds), Spec: "@every 1m", TimeZone: "UTC", Kind: "sweep",
					Args: "{}", Queue: "default", MaxAttempts: 3, Misfire: models.MisfireRelaxed}, func() time.Time { return time.Now().Add(time.Minute) })
				errs <- err
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		all, err := s.Recurring.ListRecurring(ctx)
		require.NoError(t, err)
		require.Len(t, all, rounds)
	})
}

// A schedule a person edited and an overlap policy a person set each outlive the code's
// definition on their own: setting one does not freeze the other.
func TestRecurringEditsOutliveTheCodeSeparately(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		next := func() time.Time { return time.Now().Add(time.Minute) }
		def := func(spec, overlap string) *models.RecurringJob {
			return &models.RecurringJob{Name: "sync", Spec: spec, TimeZone: "UTC", Kind: "sync", Args: "{}", Queue: "default",
				MaxAttempts: 1, Misfire: models.MisfireRelaxed, Overlap: overlap}
		}
		_, err := s.Recurring.UpsertRecurring(ctx, def("@every 1m", models.OverlapAllow), next)
		require.NoError(t, err)
		_, err = s.Recurring.UpdateRecurring(ctx, "sync", func(_ models.Tx, rj *models.RecurringJob) error {
			rj.Overlap, rj.OverlapSet = models.OverlapSkip, true // as a person does on the dashboard
			return nil
		})
		require.NoError(t, err)
		rj, err := s.Recurring.UpsertRecurring(ctx, def("@every 5m", models.OverlapReplace), next)
		require.NoError(t, err)
		require.Equal(t, "@every 5m", rj.Spec, "the code's new schedule applies")
		require.Equal(t, models.OverlapSkip, rj.Overlap, "the person's policy stays")

		_, err = s.Recurring.UpdateRecurring(ctx, "sync", func(_ models.Tx, rj *models.RecurringJob) error {
			rj.Spec, rj.Overridden, rj.OverlapSet = "@every 7m", true, false // a person edits the schedule only
			return nil
		})
		require.NoError(t, err)
		rj, err = s.Recurring.UpsertRecurring(ctx, def("@every 5m", models.OverlapReplace), next)
		require.NoError(t, err)
		require.Equal(t, "@every 7m", rj.Spec, "the person's schedule stays")
		require.Equal(t, models.OverlapReplace, rj.Overlap, "the code's new policy applies")
	})
}
