package models_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// insertArgs inserts a job per args, in batches of 1,000.
func insertArgs(t testing.TB, s *models.Store, args ...string) {
	t.Helper()
	for len(args) > 0 {
		n := min(len(args), 1000)
		batch := make([]*models.Job, n)
		for i, a := range args[:n] {
			batch[i] = &models.Job{Kind: "k", Queue: "default", Args: a, MaxAttempts: 3}
		}
		_, err := s.Jobs.InsertJobs(ctx, batch, time.Now())
		require.NoError(t, err)
		args = args[n:]
	}
}

// A search walks its window newest first, slice after slice: a page holds the newest matches
// wherever they are in the window, and says whether older ones remain.
func TestSearchAcrossSlices(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		args := make([]string, 3500)
		for i := range args {
			args[i] = fmt.Sprintf(`{"n":%d}`, i)
		}
		for _, i := range []int{9, 1499, 3399} { // ids 10, 1500 and 3400: three slices apart
			args[i] = `{"needle":true}`
		}
		insertArgs(t, s, args...)
		f := models.JobFilter{Search: "NEEDLE"}
		page, err := s.JobQueries.ListJobs(ctx, f, 0, 0, 2)
		require.NoError(t, err)
		require.Equal(t, []int64{3400, 1500}, ids(page.Jobs))
		require.True(t, page.HasOlder)
		require.Zero(t, page.SearchedFrom, "the window holds every job")
		page, err = s.JobQueries.ListJobs(ctx, f, 1500, 0, 2)
		require.NoError(t, err)
		require.Equal(t, []int64{10}, ids(page.Jobs))
		require.False(t, page.HasOlder)
		page, err = s.JobQueries.ListJobs(ctx, f, 0, 0, 3)
		require.NoError(t, err)
		require.Equal(t, []int64{3400, 1500, 10}, ids(page.Jobs))
		require.False(t, page.HasOlder)

		// Newer than 10: the oldest of those first, as the "newer" link pages.
		page, err = s.JobQueries.ListJobs(ctx, f, 0, 10, 1)
		require.NoError(t, err)
		require.Equal(t, []int64{1500}, ids(page.Jobs))
		require.True(t, page.HasNewer)
		page, err = s.JobQueries.ListJobs(ctx, f, 0, 1500, 5)
		require.NoError(t, err)
		require.Equal(t, []int64{3400}, ids(page.Jobs))
		require.False(t, page.HasNewer)

		modeltest.SetSearchWindow(s, 2000) // ids 1501 to 3500, two slices
		page, err = s.JobQueries.ListJobs(ctx, f, 0, 0, 20)
		require.NoError(t, err)
		require.Equal(t, []int64{3400}, ids(page.Jobs))
		require.EqualValues(t, 1501, page.SearchedFrom)
	})
}

// A search that matches often reads the newest rows only, whatever PostgreSQL's planner
// guesses of how often text matches. Here it guesses never (its statistics are of older jobs
// that don't match): a query over the whole window read and sorted all 22,000 rows.
func TestSearchReadsNewestRows(t *testing.T) {
	s := modeltest.Open(t, modeltest.PostgresDSN(t))
	old := make([]string, 20_000)
	for i := range old {
		old[i] = fmt.Sprintf(`{"to":"user%d@example.com"}`, i)
	}
	insertArgs(t, s, old...)
	db := modeltest.DB(s)
	require.NoError(t, db.Exec("ANALYZE jobs").Error)
	recent := make([]string, 2000)
	for i := range recent {
		recent[i] = fmt.Sprintf(`{"n":%d,"i":%d}`, i%10, i) // "n":7 is in one in ten
	}
	insertArgs(t, s, recent...)

	var read atomic.Int64
	require.NoError(t, db.Callback().Query().After("gorm:query").Register("test:rows_read", func(tx *gorm.DB) {
		if strings.Contains(tx.Statement.SQL.String(), "ILIKE") {
			read.Add(rowsRead(t, tx))
		}
	}))
	page, err := s.JobQueries.ListJobs(ctx, models.JobFilter{Search: `"n":7`}, 0, 0, 20)
	require.NoError(t, err)
	require.Len(t, page.Jobs, 20)
	require.True(t, page.HasOlder)
	t.Logf("rows read: %d", read.Load())
	require.Positive(t, read.Load(), "no search statement was measured")
	require.LessOrEqual(t, read.Load(), int64(1000), "rows read for a page of 20 among the newest 2,000 jobs")
}

// rowsRead runs tx's statement again under EXPLAIN ANALYZE and sums the rows its table scans
// read: those they returned and those their filters removed.
func rowsRead(t testing.TB, tx *gorm.DB) int64 {
	var plan string
	row := tx.Statement.ConnPool.QueryRowContext(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+tx.Statement.SQL.String(), tx.Statement.Vars...)
	require.NoError(t, row.Scan(&plan))
	type node struct {
		Type     string  `json:"Node Type"`
		Rows     float64 `json:"Actual Rows"`
		Loops    float64 `json:"Actual Loops"`
		Filtered float64 `json:"Rows Removed by Filter"`
		Recheck  float64 `json:"Rows Removed by Index Recheck"`
		Plans    []json.RawMessage
	}
	var top []struct{ Plan json.RawMessage }
	require.NoError(t, json.Unmarshal([]byte(plan), &top))
	var sum func(raw json.RawMessage) int64
	sum = func(raw json.RawMessage) int64 {
		var n node
		require.NoError(t, json.Unmarshal(raw, &n))
		var total int64
		if strings.HasSuffix(n.Type, "Scan") && n.Type != "Bitmap Index Scan" {
			total += int64((n.Rows + n.Filtered + n.Recheck) * n.Loops)
		}
		for _, p := range n.Plans {
			total += sum(p)
		}
		return total
	}
	return sum(top[0].Plan)
}
