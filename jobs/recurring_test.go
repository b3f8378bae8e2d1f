package jobs_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

func recurringJobs(t *testing.T, s *models.Store) []models.Job {
	t.Helper()
	var out []models.Job
	require.NoError(t, modeltest.DB(s).Where("recurring_id IS NOT NULL").Order("id").Find(&out).Error)
	return out
}

func occurrence(t *testing.T, j models.Job) int64 {
	t.Helper()
	require.NotNil(t, j.UniqueKey)
	parts := strings.Split(*j.UniqueKey, ":")
	n, err := strconv.ParseInt(parts[len(parts)-1], 10, 64)
	require.NoError(t, err)
	return n
}

// Two servers share an every-second recurring job: each occurrence is enqueued once, and the
// occurrences are consecutive seconds.
func TestRecurringFiresOncePerOccurrenceAcrossServers(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		var engines []*jobs.Engine
		for range 2 {
			e := newEngine(t, s, fast())
			require.NoError(t, e.Register("tick", func(context.Context, *models.Job) error { return nil }))
			require.NoError(t, e.Recurring("ticker", "@every 1s", "tick", map[string]string{"from": "test"}))
			engines = append(engines, e)
		}
		for _, e := range engines {
			start(t, e)
		}
		require.Eventually(t, func() bool {
			var n int64
			require.NoError(t, modeltest.DB(s).Model(&models.Job{}).Where("recurring_id IS NOT NULL AND state = ?", models.JobSucceeded).Count(&n).Error)
			return n >= 3
		}, 20*time.Second, 20*time.Millisecond)
		got := recurringJobs(t, s)
		seen := map[int64]bool{}
		for i, j := range got {
			occ := occurrence(t, j)
			require.False(t, seen[occ], "occurrence %d enqueued twice", occ)
			seen[occ] = true
			if i > 0 {
				require.Equal(t, occurrence(t, got[i-1])+1, occ, "occurrences are consecutive seconds, none skipped or doubled")
			}
			require.JSONEq(t, `{"from":"test"}`, j.Args)
		}
		rj, err := s.Recurring.GetRecurring(ctx, "ticker")
		require.NoError(t, err)
		require.NotNil(t, rj.LastJobID)
		require.True(t, rj.NextRunAt.After(*rj.LastRunAt))
	})
}

// Occurrences missed while no server ran are handled by the entry's misfire policy on start.
func TestRecurringMisfiresOnStart(t *testing.T) {
	for policy, want := range map[string]int{models.MisfireRelaxed: 1, models.MisfireStrict: 11, models.MisfireIgnore: 0} {
		t.Run(policy, func(t *testing.T) {
			modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
				// A previous run recorded its next occurrence 10 minutes ago, then stopped: that one and the
				// 10 after it (the last being this minute's) are due.
				now := time.Now().UTC()
				missed := now.Truncate(time.Minute).Add(-10 * time.Minute)
				_, err := s.Recurring.UpsertRecurring(ctx, &models.RecurringJob{
					Name: "report", Spec: "* * * * *", TimeZone: "UTC", Kind: "report", Args: "{}", Queue: "default",
					MaxAttempts: 1, Misfire: policy,
				}, func() time.Time { return missed })
				require.NoError(t, err)

				cfg := fast()
				cfg.MisfireThreshold = 5 * time.Second
				e := newEngine(t, s, cfg)
				require.NoError(t, e.Register("report", func(context.Context, *models.Job) error { return nil }))
				require.NoError(t, e.Recurring("report", "* * * * *", "report", nil, jobs.Misfire(policy)))
				start(t, e)
				got := recurringJobs(t, s)
				// A minute boundary may pass during the test, adding one on-time occurrence.
				require.Contains(t, []int{want, want + 1}, len(got), "%s: %d jobs", policy, len(got))
				rj, err := s.Recurring.GetRecurring(ctx, "report")
				require.NoError(t, err)
				require.True(t, rj.NextRunAt.After(now), "the next occurrence is in the future again")
			})
		})
	}
}

func TestRecurringPauseResumeTriggerSurviveRestart(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		define := func() *jobs.Engine {
			e := newEngine(t, s, fast())
			require.NoError(t, e.Register("tick", func(context.Context, *models.Job) error { return nil }))
			require.NoError(t, e.Recurring("ticker", "@every 1s", "tick", nil, jobs.TimeZone("Europe/Berlin")))
			return e
		}
		first := define()
		require.NoError(t, first.Start(ctx))
		require.NoError(t, first.PauseRecurring(ctx, "ticker"))
		n := len(recurringJobs(t, s))
		require.NoError(t, first.Stop(ctx))

		second := define() // the code registers the entry again on restart
		start(t, second)
		rj, err := s.Recurring.GetRecurring(ctx, "ticker")
		require.NoError(t, err)
		require.True(t, rj.Paused, "paused survives a restart")
		require.Equal(t, "Europe/Berlin", rj.TimeZone)
		time.Sleep(1500 * time.Millisecond) // at least one occurrence passes while paused
		require.Len(t, recurringJobs(t, s), n, "a paused entry enqueues nothing")

		job, err := second.TriggerRecurring(ctx, "ticker")
		require.NoError(t, err)
		waitState(t, s, job.ID, models.JobSucceeded)
		require.NoError(t, second.ResumeRecurring(ctx, "ticker"))
		require.Eventually(t, func() bool { return len(recurringJobs(t, s)) >= n+2 }, 20*time.Second, 20*time.Millisecond)
		_, err = second.TriggerRecurring(ctx, "nope")
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))
	})
}

func TestEditedScheduleIsKeptAndFollowed(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		define := func() *jobs.Engine {
			e := newEngine(t, s, fast())
			require.NoError(t, e.Register("report", func(context.Context, *models.Job) error { return nil }))
			require.NoError(t, e.Recurring("report", "0 2 * * *", "report", nil))
			return e
		}
		first := define()
		require.NoError(t, first.Start(ctx))
		rj, err := s.Recurring.GetRecurring(ctx, "report")
		require.NoError(t, err)

		_, err = first.UpdateRecurringSchedule(ctx, rj.ID, "every tuesday", "UTC")
		require.ErrorIs(t, err, jobs.ErrInvalidSchedule)
		require.NotErrorIs(t, err, jobs.ErrUnknownTimeZone)
		require.Contains(t, err.Error(), "every tuesday")
		_, err = first.UpdateRecurringSchedule(ctx, rj.ID, "0 3 * * *", "Mars/Base")
		require.ErrorIs(t, err, jobs.ErrUnknownTimeZone)
		require.Contains(t, err.Error(), `"Mars/Base"`)
		_, err = first.UpdateRecurringSchedule(ctx, 999, "0 3 * * *", "UTC")
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))
		// Overlap is the only option a schedule's change takes; a bad one saves nothing.
		_, err = first.UpdateRecurringSchedule(ctx, rj.ID, "0 3 * * *", "UTC", jobs.Overlap("sometimes"))
		require.ErrorIs(t, err, jobs.ErrInvalidOption)
		_, err = first.UpdateRecurringSchedule(ctx, rj.ID, "0 3 * * *", "UTC", jobs.Misfire(models.MisfireStrict))
		require.ErrorIs(t, err, jobs.ErrInvalidOption)
		unchanged, err := s.Recurring.GetRecurring(ctx, "report")
		require.NoError(t, err)
		require.Equal(t, "0 2 * * *", unchanged.Spec)

		edited, err := first.UpdateRecurringSchedule(ctx, rj.ID, "@every 1s", "Europe/Berlin")
		require.NoError(t, err)
		require.True(t, edited.Overridden)
		require.Equal(t, "@every 1s", edited.Spec)
		require.Equal(t, models.OverlapAllow, edited.Overlap, "no Overlap: the policy stays")
		edited, err = first.UpdateRecurringSchedule(ctx, rj.ID, "@every 1s", "Europe/Berlin", jobs.Overlap(models.OverlapSkip))
		require.NoError(t, err)
		require.Equal(t, models.OverlapSkip, edited.Overlap)
		require.True(t, edited.OverlapSet, "a person's policy outlives the code's")
		require.Eventually(t, func() bool { return len(recurringJobs(t, s)) >= 2 }, 20*time.Second, 20*time.Millisecond,
			"this server's timer follows the edit at once")
		require.NoError(t, first.Stop(ctx))

		second := define() // the code still says 02:00 every day
		start(t, second)
		got, err := s.Recurring.GetRecurring(ctx, "report")
		require.NoError(t, err)
		require.Equal(t, "@every 1s", got.Spec, "a user's edit outlives the code's default")
		require.Equal(t, "Europe/Berlin", got.TimeZone)
		n := len(recurringJobs(t, s))
		require.Eventually(t, func() bool { return len(recurringJobs(t, s)) >= n+2 }, 20*time.Second, 20*time.Millisecond,
			"the restarted server's timer follows the edited schedule")
	})
}

// A recurring job made at run time (through the API) fires at once on this server; one deleted
// by another server stops firing here at its next tick.
func TestRecurringCreatedAndDeletedAtRunTime(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		require.NoError(t, e.Register("tick", func(context.Context, *models.Job) error { return nil }))
		start(t, e)
		rj, err := e.CreateRecurring(ctx, "made-here", "1s", "tick", map[string]int{"n": 1}, jobs.TimeZone("Europe/Berlin"))
		require.NoError(t, err)
		require.True(t, rj.Overridden, "no code's definition will replace it")
		require.Equal(t, "@every 1s", rj.Spec, "a duration alone is @every it")
		_, err = e.CreateRecurring(ctx, "made-here", "@daily", "tick", nil)
		require.Equal(t, models.ECONFLICT, models.ErrorCode(err))
		_, err = e.CreateRecurring(ctx, "bad", "0 0 30 2 *", "tick", nil)
		require.ErrorIs(t, err, jobs.ErrInvalidSchedule)
		require.Eventually(t, func() bool { return len(recurringJobs(t, s)) >= 2 }, 20*time.Second, 20*time.Millisecond, "it fires")

		require.NoError(t, s.Recurring.DeleteRecurring(ctx, "made-here")) // as another server would
		time.Sleep(1500 * time.Millisecond)                               // its next tick finds it gone and disarms
		n := len(recurringJobs(t, s))
		time.Sleep(2 * time.Second)
		require.Len(t, recurringJobs(t, s), n, "no job after the deletion")
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(e.DeleteRecurring(ctx, "made-here")))
	})
}

// A recurring job made at run time on one server runs on every server that shares the
// database, once per occurrence: the other server arms it at its next resync, fires it side by
// side with the first (never twice for one occurrence), and goes on alone once the first stops.
func TestRecurringMadeAtRunTimeRunsOnEveryNode(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, _ *jobs.Engine, s *models.Store) {
		cfg := fast()
		cfg.RecurringResync = 200 * time.Millisecond
		var a, b *jobs.Engine
		for _, e := range []**jobs.Engine{&a, &b} {
			*e = newEngine(t, s, cfg)
			require.NoError(t, (*e).Register("tick", func(context.Context, *models.Job) error { return nil }))
		}
		require.NoError(t, a.Start(ctx))
		start(t, b)
		_, err := a.CreateRecurring(ctx, "shared", "@every 1s", "tick", nil)
		require.NoError(t, err)
		time.Sleep(3 * time.Second) // both servers fire every occurrence
		require.NoError(t, a.Stop(ctx))
		n := len(recurringJobs(t, s))
		require.Eventually(t, func() bool { return len(recurringJobs(t, s)) >= n+2 }, 10*time.Second, 20*time.Millisecond,
			"the other server goes on alone")

		seen := map[int64]bool{}
		for _, j := range recurringJobs(t, s) {
			occ := occurrence(t, j)
			require.False(t, seen[occ], "occurrence %d enqueued twice", occ)
			seen[occ] = true
		}
		require.GreaterOrEqual(t, len(seen), 4)
	})
}

// Overlap: skip enqueues nothing while the entry's last job is unfinished, and counts it;
// replace cancels that job and enqueues the new occurrence; allow (the default) lets runs pile up.
func TestRecurringOverlap(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		release := make(chan struct{})
		var releaseOnce sync.Once
		t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
		require.NoError(t, e.Register("slow.skip", func(ctx context.Context, _ *models.Job) error {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		}))
		require.NoError(t, e.Register("slow.replace", func(ctx context.Context, _ *models.Job) error {
			<-ctx.Done()
			return ctx.Err()
		}))
		start(t, e)
		skip, err := e.CreateRecurring(ctx, "skipper", "@every 1s", "slow.skip", nil, jobs.Overlap(models.OverlapSkip))
		require.NoError(t, err)
		require.Equal(t, models.OverlapSkip, skip.Overlap)
		_, err = e.CreateRecurring(ctx, "replacer", "@every 1s", "slow.replace", nil, jobs.Overlap(models.OverlapReplace))
		require.NoError(t, err)
		_, err = e.CreateRecurring(ctx, "bad", "@every 1s", "slow.skip", nil, jobs.Overlap("queue"))
		require.ErrorIs(t, err, jobs.ErrInvalidOption)

		ofKind := func(kind string) []models.Job {
			var out []models.Job
			for _, j := range recurringJobs(t, s) {
				if j.Kind == kind {
					out = append(out, j)
				}
			}
			return out
		}
		// Skip: one job runs; the next occurrences are counted, not enqueued.
		require.Eventually(t, func() bool {
			rj, err := s.Recurring.GetRecurring(ctx, "skipper")
			return err == nil && rj.Skipped >= 2
		}, 20*time.Second, 20*time.Millisecond, "occurrences are skipped while the job runs")
		require.Len(t, ofKind("slow.skip"), 1, "nothing enqueued while the first job runs")
		rj, err := s.Recurring.GetRecurring(ctx, "skipper")
		require.NoError(t, err)
		require.NotNil(t, rj.LastSkippedAt)
		releaseOnce.Do(func() { close(release) })
		require.Eventually(t, func() bool { return len(ofKind("slow.skip")) >= 2 }, 20*time.Second, 20*time.Millisecond, "once it finished, the next occurrence runs")

		// Replace: each occurrence cancels the job before it.
		require.Eventually(t, func() bool { return len(ofKind("slow.replace")) >= 3 }, 20*time.Second, 20*time.Millisecond)
		jobsOf := ofKind("slow.replace")
		first := waitState(t, s, jobsOf[0].ID, models.JobCancelled)
		require.NotNil(t, first.FinishedAt)
		events, err := s.JobQueries.JobEvents(ctx, first.ID)
		require.NoError(t, err)
		require.Contains(t, events[len(events)-1].Reason, "replaced by the")
		require.Contains(t, events[len(events)-1].Reason, "occurrence of recurring job replacer")
		running := 0
		for _, j := range ofKind("slow.replace") {
			got, err := s.JobQueries.GetJob(ctx, j.ID)
			require.NoError(t, err)
			if !got.State.Final() {
				running++
			}
		}
		require.LessOrEqual(t, running, 1, "never two runs at once")
	})
}
