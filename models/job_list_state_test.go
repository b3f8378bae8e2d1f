package models_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// A page of the jobs of one state is the newest of them, and the pages before and after it
// follow, whatever the other states in between.
func TestListJobsOfAState(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		jobs := make([]*models.Job, 30)
		for i := range jobs {
			jobs[i] = newJob("k")
		}
		_, err := s.Jobs.InsertJobs(ctx, jobs, time.Now())
		require.NoError(t, err)
		var failed []int64 // every third job fails; the others stay enqueued
		for _, j := range claim(t, s, "n1", 30) {
			if j.ID%3 == 0 {
				finish(t, s, j, models.JobFinish{State: models.JobFailed, Error: "boom"})
				failed = append(failed, j.ID)
			} else {
				finish(t, s, j, models.JobFinish{State: models.JobEnqueued, RefundAttempt: true})
			}
		}
		slices.Reverse(failed) // newest first
		f := models.JobFilter{State: models.JobFailed}
		page, err := s.JobQueries.ListJobs(ctx, f, 0, 0, 4)
		require.NoError(t, err)
		require.Equal(t, failed[:4], ids(page.Jobs))
		require.True(t, page.HasOlder)
		require.False(t, page.HasNewer)
		page, err = s.JobQueries.ListJobs(ctx, f, failed[3], 0, 4)
		require.NoError(t, err)
		require.Equal(t, failed[4:8], ids(page.Jobs))
		require.True(t, page.HasNewer)
		page, err = s.JobQueries.ListJobs(ctx, f, 0, failed[4], 4)
		require.NoError(t, err)
		require.Equal(t, failed[:4], ids(page.Jobs), "back to the newest")
		page, err = s.JobQueries.ListJobs(ctx, f, failed[7], 0, 4)
		require.NoError(t, err)
		require.Equal(t, failed[8:], ids(page.Jobs))
		require.False(t, page.HasOlder)
		for _, j := range page.Jobs {
			require.Equal(t, models.JobFailed, j.State)
		}
	})
}

// A page of one state is read through the state index even when PostgreSQL's statistics last
// saw most jobs in that state: walking the primary key backwards, it read every job of the
// others (314 ms p95 for the enqueued jobs during a burn-down over 1,000,000 in history).
func TestListJobsOfAStateReadsTheStateIndex(t *testing.T) {
	s := modeltest.Open(t, modeltest.PostgresDSN(t))
	db := staleStatistics(t, s, 20_000, models.DefaultQueue) // the statistics see every job enqueued
	require.NoError(t, db.Exec("UPDATE jobs SET state = 'succeeded', finished_at = now() WHERE id > 3").Error)

	var page models.JobPage
	plans := plansOf(t, db, func(q string) bool { return strings.Contains(q, `FROM "jobs"`) && strings.Contains(q, "ORDER BY") }, func() {
		var err error
		page, err = s.JobQueries.ListJobs(ctx, models.JobFilter{State: models.JobEnqueued}, 0, 0, 10)
		require.NoError(t, err)
	})
	require.Equal(t, []int64{3, 2, 1}, ids(page.Jobs))
	for q, plan := range plans {
		require.Contains(t, plan, "idx_jobs_state_id", "the page reads otherwise than by the state index:\n%s\n%s", q, plan)
		require.NotContains(t, plan, "jobs_pkey", "%s\n%s", q, plan)
	}
}

// A text search ignores the case of ASCII letters, and matches other letters as they are, the
// same on both databases.
func TestSearchFoldsASCIICaseOnly(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		j := newJob("k")
		j.Args = `{"school":"école","city":"Paris"}`
		_, err := s.Jobs.InsertJobs(ctx, []*models.Job{j}, time.Now())
		require.NoError(t, err)
		for search, found := range map[string]bool{"PARIS": true, "paris": true, "école": true, "SCHOOL": true, "ÉCOLE": false, "Ecole": false} {
			page, err := s.JobQueries.ListJobs(ctx, models.JobFilter{Search: search}, 0, 0, 10)
			require.NoError(t, err)
			require.Equal(t, found, len(page.Jobs) == 1, "search %q", search)
		}
	})
}

// The latest finishes show behind a backlog of newer jobs still to run, however long: they are
// looked for among the newest jobs of each final state, not among the newest jobs.
func TestLatestActivityBehindABacklog(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		a, b := newJob("a"), newJob("b")
		insert(t, s, a, b)
		for _, j := range claim(t, s, "srv", 2) {
			finish(t, s, j, models.JobFinish{State: models.JobSucceeded})
		}
		backlog := make([]*models.Job, 10_050) // more than the newest 10,000 jobs it once read
		for i := range backlog {
			backlog[i] = newJob("later")
		}
		_, err := s.Jobs.InsertJobs(ctx, backlog, time.Now())
		require.NoError(t, err)
		got, err := s.JobQueries.LatestActivity(ctx, 5, nil)
		require.NoError(t, err)
		require.ElementsMatch(t, []int64{a.ID, b.ID}, ids(got))
	})
}
