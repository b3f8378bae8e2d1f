package models_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
)

func TestDurationSlots(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		slot int
	}{
		{0, 0}, {500 * time.Nanosecond, 0}, {time.Microsecond, 0}, {1500 * time.Nanosecond, 1},
		{2 * time.Microsecond, 2}, {time.Millisecond, 19}, {time.Second, 39}, {time.Hour, 63},
		{30 * 24 * time.Hour, models.KindStatSlots - 1},
	} {
		require.Equal(t, tc.slot, models.DurationSlot(tc.d), "%v", tc.d)
	}
	for s := 1; s < models.KindStatSlots; s++ {
		start := models.SlotStart(s)
		require.Equal(t, s, models.DurationSlot(start+time.Nanosecond), "slot %d starts at %v", s, start)
		require.Equal(t, s-1, models.DurationSlot(start-start/100), "just before slot %d", s)
	}
}

func TestSummarizeKindStats(t *testing.T) {
	var rows []models.KindStat
	// 100 runs of 1..100 ms, each its own row as if on separate hours.
	var total time.Duration
	for i := 1; i <= 100; i++ {
		d := time.Duration(i) * time.Millisecond
		total += d
		rows = append(rows, models.KindStat{Slot: models.DurationSlot(d), Succeeded: 1, TotalNS: int64(d), MaxNS: int64(d)})
	}
	rows[99].Succeeded, rows[99].Failed = 0, 1
	sum := models.SummarizeKindStats(rows)
	require.EqualValues(t, 99, sum.Succeeded)
	require.EqualValues(t, 1, sum.Failed)
	require.Equal(t, 100*time.Millisecond, sum.Max)
	require.Equal(t, total/100, sum.Mean)
	require.InEpsilon(t, float64(50*time.Millisecond), float64(sum.P50), 0.19, "p50 %v: runs spread evenly come out far closer than the 41%% bound", sum.P50)
	require.InEpsilon(t, float64(95*time.Millisecond), float64(sum.P95), 0.19, "p95 %v", sum.P95)
	require.Zero(t, models.SummarizeKindStats(nil), "no runs, nothing to say")

	one := models.SummarizeKindStats([]models.KindStat{{Slot: models.DurationSlot(3 * time.Second), Succeeded: 1, TotalNS: int64(3 * time.Second), MaxNS: int64(3 * time.Second)}})
	require.LessOrEqual(t, one.P95, 3*time.Second, "never beyond the longest run")
	require.InEpsilon(t, float64(3*time.Second), float64(one.P50), 0.41, "one run: anywhere in its slot")
}

// The finish writes each kind's outcomes and durations in the hour's rows, in the same
// transaction: PostgreSQL in its statement, SQLite in Go; both put a duration in the same slot.
func TestKindStatsFollowFinishedJobs(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		durations := []time.Duration{0, 800 * time.Nanosecond, 3 * time.Microsecond, 250 * time.Microsecond,
			time.Millisecond, 12 * time.Millisecond, 1500 * time.Millisecond, 2 * time.Minute}
		var jobs []*models.Job
		for range durations {
			jobs = append(jobs, newJob("render"))
		}
		jobs = append(jobs, newJob("mail"), newJob("mail"), newJob("mail"))
		insert(t, s, jobs...)
		claimed := claim(t, s, "srv", len(jobs))
		require.Len(t, claimed, len(jobs))
		byID := map[int64]*models.Job{}
		for _, j := range claimed {
			byID[j.ID] = j
		}
		at := time.Date(2026, 11, 27, 14, 40, 0, 0, time.UTC)
		var batch []models.JobFinish
		for i, d := range durations {
			st := models.JobSucceeded
			if i%3 == 2 {
				st = models.JobFailed
			}
			batch = append(batch, models.JobFinish{JobID: jobs[i].ID, ServerID: "srv", Attempt: 1, Run: 1, State: st, At: at, Duration: d, Error: fmt.Sprintf("boom %d", i%2)})
		}
		mail := jobs[len(durations):]
		batch = append(batch,
			models.JobFinish{JobID: mail[0].ID, ServerID: "srv", Attempt: 1, Run: 1, State: models.JobSucceeded, At: at, Duration: 40 * time.Millisecond},
			models.JobFinish{JobID: mail[1].ID, ServerID: "srv", Attempt: 1, Run: 1, State: models.JobScheduled, RunAt: at.Add(time.Minute), At: at, Duration: time.Second, Error: "retry"},
			models.JobFinish{JobID: mail[2].ID, ServerID: "other", Attempt: 1, Run: 1, State: models.JobSucceeded, At: at, Duration: time.Hour})
		applied, _, err := s.Jobs.FinishJobs(ctx, batch)
		require.NoError(t, err)
		require.Equal(t, len(batch)-1, applied, "the outcome of another server's claim is not applied")

		rows, err := s.JobQueries.KindStats(ctx, "render", at.Add(-time.Hour))
		require.NoError(t, err)
		wantSlots := map[int][2]int64{}
		for i, d := range durations {
			c := wantSlots[models.DurationSlot(d)]
			if i%3 == 2 {
				c[1]++
			} else {
				c[0]++
			}
			wantSlots[models.DurationSlot(d)] = c
		}
		gotSlots := map[int][2]int64{}
		for _, r := range rows {
			require.Equal(t, "render", r.Kind)
			require.True(t, r.Bucket.Equal(at.Truncate(time.Hour)), "bucket %v", r.Bucket)
			gotSlots[r.Slot] = [2]int64{r.Succeeded, r.Failed}
		}
		require.Equal(t, wantSlots, gotSlots, "each run in its duration's slot")
		sum := models.SummarizeKindStats(rows)
		require.EqualValues(t, [2]int64{6, 2}, [2]int64{sum.Succeeded, sum.Failed})
		require.Equal(t, 2*time.Minute, sum.Max)

		all, err := s.JobQueries.KindStats(ctx, "", at.Add(-time.Hour))
		require.NoError(t, err)
		var mailRows []models.KindStat
		for _, r := range all {
			if r.Kind == "mail" {
				mailRows = append(mailRows, r)
			}
		}
		mailSum := models.SummarizeKindStats(mailRows)
		require.EqualValues(t, 1, mailSum.Succeeded, "a retry is not an outcome, nor is an outcome not applied")
		require.Zero(t, mailSum.Failed)
		require.Equal(t, 40*time.Millisecond, mailSum.Max)

		// A second batch in the same hour adds to the same rows; the longest run stays.
		more := newJob("render")
		insert(t, s, more)
		require.Len(t, claim(t, s, "srv", 1), 1)
		_, _, err = s.Jobs.FinishJobs(ctx, []models.JobFinish{{JobID: more.ID, ServerID: "srv", Attempt: 1, Run: 1, State: models.JobSucceeded, At: at.Add(time.Minute), Duration: time.Millisecond}})
		require.NoError(t, err)
		rows, err = s.JobQueries.KindStats(ctx, "render", at.Add(-time.Hour))
		require.NoError(t, err)
		sum = models.SummarizeKindStats(rows)
		require.EqualValues(t, 7, sum.Succeeded)
		require.Equal(t, 2*time.Minute, sum.Max)
		require.Len(t, rows, len(wantSlots), "no new row for a slot already there")

		later, err := s.JobQueries.KindStats(ctx, "", at.Add(time.Hour))
		require.NoError(t, err)
		require.Empty(t, later, "since is honoured")
		require.NoError(t, s.Jobs.CleanupStats(ctx, at.Add(9*24*time.Hour)))
		rows, err = s.JobQueries.KindStats(ctx, "", at.Add(-time.Hour))
		require.NoError(t, err)
		require.Empty(t, rows, "kind stats go with the hour counters after 8 days")

		groups, err := s.JobQueries.KindFailures(ctx, "render", 100)
		require.NoError(t, err)
		require.Len(t, groups, 2)
		require.Equal(t, models.FailureGroup{Message: "boom 0", Count: 1, LastJobID: jobs[2].ID, LastAt: groups[0].LastAt}, groups[1])
		require.Equal(t, "boom 1", groups[0].Message)
		require.Equal(t, jobs[5].ID, groups[0].LastJobID)
		require.NotNil(t, groups[0].LastAt)
	})
}

func TestKindFailuresGroupByFirstLine(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		var jobs []*models.Job
		for range 6 {
			jobs = append(jobs, newJob("pdf"))
		}
		jobs = append(jobs, newJob("other"))
		insert(t, s, jobs...)
		claim(t, s, "srv", len(jobs))
		errs := []string{"timeout\nat line 1", "timeout\nat line 2", "  timeout  ", "no such file", "timeout", "", "other kind"}
		var batch []models.JobFinish
		for i, j := range jobs {
			batch = append(batch, models.JobFinish{JobID: j.ID, ServerID: "srv", Attempt: 1, Run: 1, State: models.JobFailed, At: time.Now(), Error: errs[i]})
		}
		_, _, err := s.Jobs.FinishJobs(ctx, batch)
		require.NoError(t, err)
		groups, err := s.JobQueries.KindFailures(ctx, "pdf", 100)
		require.NoError(t, err)
		require.Len(t, groups, 3)
		require.Equal(t, "timeout", groups[0].Message)
		require.Equal(t, 4, groups[0].Count)
		require.Equal(t, jobs[4].ID, groups[0].LastJobID, "newest first")
		few, err := s.JobQueries.KindFailures(ctx, "pdf", 2)
		require.NoError(t, err)
		var n int
		for _, g := range few {
			n += g.Count
		}
		require.Equal(t, 2, n, "at most scan jobs are read")
	})
}
