package models_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// Nodes that start at once against one new PostgreSQL database all come up: their migrations
// take turns (without the advisory lock, concurrent CREATEs fail on PostgreSQL's catalogs).
func TestConcurrentStartsMigrateOnce(t *testing.T) {
	dsn := modeltest.PostgresDSN(t)
	const nodes = 5
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	stores := make([]*models.Store, nodes)
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = models.Open(context.Background(), dsn, nil)
		}()
	}
	wg.Wait()
	for i := range nodes {
		require.NoError(t, errs[i], "node %d", i)
		defer stores[i].Close()
	}
	// The counters were set up once: a job inserted is counted once on every node.
	_, err := stores[0].InsertJobs(ctx, []*models.Job{newJob("a")}, time.Now())
	require.NoError(t, err)
	for _, s := range stores {
		counts, err := s.CountJobsByState(ctx)
		require.NoError(t, err)
		require.Equal(t, map[models.JobState]int64{models.JobEnqueued: 1}, counts)
	}
}
