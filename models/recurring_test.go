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
				_, err := s.UpsertRecurring(ctx, &models.RecurringJob{Name: fmt.Sprintf("sweep-%d", i%rounds), Spec: "@every 1m", TimeZone: "UTC", Kind: "sweep",
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
		all, err := s.ListRecurring(ctx)
		require.NoError(t, err)
		require.Len(t, all, rounds)
	})
}
