package jobs_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// Many callers enqueueing one job each at once share transactions, and each gets its own job:
// every job is stored once, a unique key taken by another caller of the same group returns
// that caller's job, and a bad job fails only its own caller.
func TestConcurrentEnqueuesShareCommits(t *testing.T) {
	forEachDialect(t, jobs.Config{NoWorkers: true}, func(t *testing.T, e *jobs.Engine, s *models.Store) {
		const callers, each = 16, 50
		var wg sync.WaitGroup
		got := make([][]*models.Job, callers)
		errs := make([]error, callers)
		for c := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					opts := []jobs.Option{}
					if i%10 == 0 {
						opts = append(opts, jobs.UniqueKey(fmt.Sprintf("k%d", i))) // the same 5 keys for every caller
					}
					j, err := e.Enqueue(context.Background(), "k", map[string]int{"c": c, "i": i}, opts...)
					if err != nil {
						errs[c] = err
						return
					}
					got[c] = append(got[c], j)
				}
				_, err := e.Enqueue(context.Background(), "k", nil, jobs.Queue("bad queue"))
				if err == nil {
					errs[c] = fmt.Errorf("a bad job was accepted")
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		ids := map[int64]bool{}
		byKey := map[string]int64{}
		for _, js := range got {
			require.Len(t, js, each)
			for _, j := range js {
				require.NotZero(t, j.ID)
				if j.UniqueKey != nil {
					if id, ok := byKey[*j.UniqueKey]; ok {
						require.Equal(t, id, j.ID, "one job per unique key")
					}
					byKey[*j.UniqueKey] = j.ID
				}
				ids[j.ID] = true
			}
		}
		want := callers*(each-each/10) + len(byKey)
		require.Len(t, ids, want)
		counts, err := s.JobQueries.CountJobsByState(context.Background())
		require.NoError(t, err)
		require.Equal(t, int64(want), counts[models.JobEnqueued], "each job stored once")
		require.Equal(t, modeltest.CountJobsByQueueScan(t, s), mustByQueue(t, s), "counters agree with the table")
	})
}

func mustByQueue(t *testing.T, s *models.Store) map[string]map[models.JobState]int64 {
	t.Helper()
	m, err := s.JobQueries.CountJobsByQueue(context.Background())
	require.NoError(t, err)
	return m
}
