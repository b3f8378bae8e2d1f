package models_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

func ids(jobs []models.Job) []int64 {
	out := make([]int64, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

func TestListJobsKeysetAndFilters(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		var all []*models.Job
		for i := range 25 {
			j := newJob("mail.send")
			if i%5 == 0 {
				j.Kind, j.Queue = "report.build", "low"
			}
			j.Args = `{"to":"user` + string(rune('a'+i)) + `@example.com"}`
			all = append(all, j)
		}
		insert(t, s, all...)
		page, err := s.JobQueries.ListJobs(ctx, models.JobFilter{}, 0, 0, 10)
		require.NoError(t, err)
		require.Equal(t, []int64{25, 24, 23, 22, 21, 20, 19, 18, 17, 16}, ids(page.Jobs))
		require.True(t, page.HasOlder)
		require.False(t, page.HasNewer)

		// New jobs arrive: the next page is still the next ten, not shifted.
		insert(t, s, newJob("mail.send"), newJob("mail.send"))
		older, err := s.JobQueries.ListJobs(ctx, models.JobFilter{}, 16, 0, 10)
		require.NoError(t, err)
		require.Equal(t, []int64{15, 14, 13, 12, 11, 10, 9, 8, 7, 6}, ids(older.Jobs))
		require.True(t, older.HasNewer)
		last, err := s.JobQueries.ListJobs(ctx, models.JobFilter{}, 6, 0, 10)
		require.NoError(t, err)
		require.Equal(t, []int64{5, 4, 3, 2, 1}, ids(last.Jobs))
		require.False(t, last.HasOlder)
		back, err := s.JobQueries.ListJobs(ctx, models.JobFilter{}, 0, 15, 10)
		require.NoError(t, err)
		require.Equal(t, []int64{25, 24, 23, 22, 21, 20, 19, 18, 17, 16}, ids(back.Jobs), "newer than 15, newest first")
		require.True(t, back.HasNewer, "the two new jobs are newer still")

		// Kinds left out, as the dashboard leaves out housekeeping: a list, a count, a walk.
		except := models.JobFilter{ExceptKinds: []string{"report.build", "none.such"}}
		page, err = s.JobQueries.ListJobs(ctx, except, 0, 0, 6)
		require.NoError(t, err)
		require.Equal(t, []int64{27, 26, 25, 24, 23, 22}, ids(page.Jobs), "21 is a report.build")
		require.True(t, page.HasOlder)
		n, err := s.JobQueries.CountJobs(ctx, except)
		require.NoError(t, err)
		require.EqualValues(t, 27-5, n)
		walked, err := s.JobQueries.JobIDs(ctx, except, 22, 100)
		require.NoError(t, err)
		require.Equal(t, []int64{20, 19, 18, 17}, walked[:4])
		require.Len(t, walked, 21-5)

		f := models.JobFilter{Kind: "report.build", Queue: "low"}
		page, err = s.JobQueries.ListJobs(ctx, f, 0, 0, 50)
		require.NoError(t, err)
		require.Equal(t, []int64{21, 16, 11, 6, 1}, ids(page.Jobs))
		n, err = s.JobQueries.CountJobs(ctx, f)
		require.NoError(t, err)
		require.EqualValues(t, 5, n)

		page, err = s.JobQueries.ListJobs(ctx, models.JobFilter{Search: "USERC@"}, 0, 0, 50)
		require.NoError(t, err)
		require.Equal(t, []int64{3}, ids(page.Jobs), "search is case-insensitive, over the arguments")
		page, err = s.JobQueries.ListJobs(ctx, models.JobFilter{Search: "%"}, 0, 0, 50)
		require.NoError(t, err)
		require.Empty(t, page.Jobs, "LIKE wildcards are searched for literally")

		claimed := claim(t, s, "srv", 1)
		_, _, err = s.Jobs.FinishJobs(ctx, []models.JobFinish{{JobID: claimed[0].ID, ServerID: "srv", Attempt: 1, Run: 1, State: models.JobFailed, Error: "SMTP timeout", At: time.Now()}})
		require.NoError(t, err)
		page, err = s.JobQueries.ListJobs(ctx, models.JobFilter{State: models.JobFailed, Search: "smtp"}, 0, 0, 50)
		require.NoError(t, err)
		require.Equal(t, []int64{claimed[0].ID}, ids(page.Jobs), "search covers the last error")

		walked, err = s.JobQueries.JobIDs(ctx, models.JobFilter{Kind: "mail.send"}, 0, 7)
		require.NoError(t, err)
		require.Len(t, walked, 7)
		next, err := s.JobQueries.JobIDs(ctx, models.JobFilter{Kind: "mail.send"}, walked[6], 100)
		require.NoError(t, err)
		require.Len(t, next, 22-7)
		require.Less(t, next[0], walked[6])

		require.Error(t, models.JobFilter{State: "bogus"}.Validate())
		for _, f := range []models.JobFilter{{Search: "nul\x00"}, {Kind: "\xff"}, {Queue: "q\x00"}, {Search: "\xfe\xff"}, {ExceptKinds: []string{"ok", "\xff"}}} {
			_, err := s.JobQueries.ListJobs(ctx, f, 0, 0, 10)
			require.Equal(t, models.EINVALID, models.ErrorCode(err), "%+v: a clear refusal, not a database error", f)
			_, err = s.JobQueries.CountJobs(ctx, f)
			require.Equal(t, models.EINVALID, models.ErrorCode(err), "%+v", f)
			_, err = s.JobQueries.JobIDs(ctx, f, 0, 10)
			require.Equal(t, models.EINVALID, models.ErrorCode(err), "%+v", f)
		}
		kinds, err := s.JobQueries.Distinct(ctx, "kind")
		require.NoError(t, err)
		require.Equal(t, []string{"mail.send", "report.build"}, kinds)
		queues, err := s.JobQueries.Distinct(ctx, "queue")
		require.NoError(t, err)
		require.Equal(t, []string{"default", "low"}, queues, "before and after the counters are folded")
		require.NoError(t, s.Jobs.FoldJobCounts(ctx))
		queues, err = s.JobQueries.Distinct(ctx, "queue")
		require.NoError(t, err)
		require.Equal(t, []string{"default", "low"}, queues)
		_, err = s.Jobs.InsertJobs(ctx, []*models.Job{newJob("audit.sweep")}, time.Now())
		require.NoError(t, err)
		kinds, err = s.JobQueries.Distinct(ctx, "kind")
		require.NoError(t, err)
		require.Equal(t, []string{"audit.sweep", "mail.send", "report.build"}, kinds, "from the counters, folded or not")
		_, err = s.JobQueries.Distinct(ctx, "args")
		require.Error(t, err)
	})
}

// A text search looks through a window of ids at a time; the page says where it stopped.
func TestSearchWindow(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		for i := range 25 {
			j := newJob("k")
			if i == 2 || i == 20 {
				j.Args = `{"needle":true}`
			}
			insert(t, s, j)
		}
		modeltest.SetSearchWindow(s, 10)
		f := models.JobFilter{Search: "needle"}
		page, err := s.JobQueries.ListJobs(ctx, f, 0, 0, 20)
		require.NoError(t, err)
		require.Len(t, page.Jobs, 1)
		require.EqualValues(t, 21, page.Jobs[0].ID)
		require.EqualValues(t, 16, page.SearchedFrom, "ids 16 to 25 were searched")
		page, err = s.JobQueries.ListJobs(ctx, f, page.SearchedFrom, 0, 20)
		require.NoError(t, err)
		require.Empty(t, page.Jobs)
		require.EqualValues(t, 6, page.SearchedFrom)
		page, err = s.JobQueries.ListJobs(ctx, f, page.SearchedFrom, 0, 20)
		require.NoError(t, err)
		require.Len(t, page.Jobs, 1)
		require.EqualValues(t, 3, page.Jobs[0].ID)
		require.Zero(t, page.SearchedFrom, "the window reached the first job")

		// Without a search, lists are not windowed.
		page, err = s.JobQueries.ListJobs(ctx, models.JobFilter{}, 0, 0, 100)
		require.NoError(t, err)
		require.Len(t, page.Jobs, 25)
		require.Zero(t, page.SearchedFrom)
	})
}

// LatestActivity lists the jobs that started or finished last, latest first: a long job that
// finishes now comes before newer jobs that finished earlier, and a deleted job is left out.
func TestLatestActivity(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		long, b, c, d, gone := newJob("long"), newJob("b"), newJob("c"), newJob("d"), newJob("gone")
		insert(t, s, long, b, c)
		claimed := claim(t, s, "srv", 3)
		require.Len(t, claimed, 3)
		byID := map[int64]*models.Job{}
		for _, j := range claimed {
			byID[j.ID] = j
		}
		t0 := time.Now()
		done := func(j *models.Job, at time.Time) {
			c := byID[j.ID]
			_, _, err := s.Jobs.FinishJobs(ctx, []models.JobFinish{{JobID: c.ID, ServerID: "srv", Attempt: c.Attempt, Run: c.Runs, State: models.JobSucceeded, At: at}})
			require.NoError(t, err)
		}
		done(b, t0.Add(time.Millisecond))
		done(c, t0.Add(2*time.Millisecond))
		done(long, t0.Add(3*time.Millisecond)) // the oldest job finishes last
		insert(t, s, gone)
		_, _, err := s.Jobs.DeleteJob(ctx, gone.ID, "test")
		require.NoError(t, err)
		time.Sleep(5 * time.Millisecond)
		insert(t, s, d)
		require.Len(t, claim(t, s, "srv", 1), 1) // d starts after all of them finished

		got, err := s.JobQueries.LatestActivity(ctx, 3, nil)
		require.NoError(t, err)
		require.Equal(t, []int64{d.ID, long.ID, c.ID}, ids(got))
		// Kinds left out (the dashboard's housekeeping), running or finished: the next come up.
		got, err = s.JobQueries.LatestActivity(ctx, 3, []string{"d", "long"})
		require.NoError(t, err)
		require.Equal(t, []int64{c.ID, b.ID}, ids(got))
		none, err := s.JobQueries.LatestActivity(ctx, 0, nil)
		require.NoError(t, err)
		require.Empty(t, none)
	})
}
