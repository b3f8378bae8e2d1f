package models_test

import (
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// A kind's cap on running jobs holds in every claim; other kinds of the same queue are not held
// up; a job of a capped kind never goes straight to a worker; without the cap all run.
func TestKindLimits(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		require.NoError(t, s.SetKindLimit(ctx, "pdf.render", 2))
		var pdfs []*models.Job
		for range 5 {
			pdfs = append(pdfs, newJob("pdf.render"))
		}
		insert(t, s, pdfs...)
		insert(t, s, newJob("mail.send"), newJob("mail.send"))
		byKind := func(jobs []*models.Job) map[string]int {
			out := map[string]int{}
			for _, j := range jobs {
				out[j.Kind]++
			}
			return out
		}
		got := claim(t, s, "srv", 10)
		require.Equal(t, map[string]int{"pdf.render": 2, "mail.send": 2}, byKind(got))
		require.Empty(t, claim(t, s, "srv", 10), "the cap is reached")

		direct := newJob("pdf.render")
		claimed, err := s.Jobs.InsertAndClaimJob(ctx, direct, time.Now(), models.ClaimParams{Queue: "default", ServerID: "srv", Lease: time.Minute})
		require.NoError(t, err)
		require.False(t, claimed, "a capped kind waits for a claim")

		for _, j := range got {
			if j.Kind == "pdf.render" {
				_, _, err := s.Jobs.FinishJobs(ctx, []models.JobFinish{{JobID: j.ID, ServerID: "srv", Attempt: j.Attempt, Run: j.Runs, State: models.JobSucceeded, At: time.Now()}})
				require.NoError(t, err)
				break
			}
		}
		require.Equal(t, map[string]int{"pdf.render": 1}, byKind(claim(t, s, "srv", 10)), "one slot came free")

		limits, err := s.Kinds.KindLimits(ctx)
		require.NoError(t, err)
		require.Len(t, limits, 1)
		require.Equal(t, 2, limits["pdf.render"].MaxRunning)
		require.NoError(t, s.SetKindLimit(ctx, "pdf.render", 0))
		require.Equal(t, map[string]int{"pdf.render": 3}, byKind(claim(t, s, "srv", 10)), "no cap: the rest run (6 made, 3 ran)")
		require.Error(t, s.SetKindLimit(ctx, "pdf.render", -1))
	})
}

// Several nodes claiming at once on PostgreSQL never run more jobs of a capped kind than its cap.
func TestKindLimitAcrossNodes(t *testing.T) {
	dsn := modeltest.PostgresDSN(t)
	stores := []*models.Store{modeltest.Open(t, dsn), modeltest.Open(t, dsn), modeltest.Open(t, dsn)}
	require.NoError(t, stores[0].SetKindLimit(ctx, "pdf.render", 3))
	var jobs []*models.Job
	for range 60 {
		jobs = append(jobs, newJob("pdf.render"))
	}
	insert(t, stores[0], jobs...)
	var (
		wg       sync.WaitGroup
		done     atomic.Int64
		over     atomic.Int64
		failures = make(chan error, 100)
	)
	for n, s := range stores {
		for w := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				server := fmt.Sprintf("node-%d-%d", n, w)
				for deadline := time.Now().Add(20 * time.Second); done.Load() < 60 && time.Now().Before(deadline); {
					claimed, err := s.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "default", ServerID: server, Limit: 2, Lease: time.Minute, Now: time.Now()})
					if err != nil {
						failures <- err
						return
					}
					var running int64
					if err := modeltest.DB(s).Model(&models.Job{}).Where("state = ? AND kind = ?", models.JobProcessing, "pdf.render").Count(&running).Error; err != nil {
						failures <- err
						return
					}
					if running > 3 {
						over.Add(1)
					}
					time.Sleep(2 * time.Millisecond)
					for _, j := range claimed {
						if _, _, err := s.Jobs.FinishJobs(ctx, []models.JobFinish{{JobID: j.ID, ServerID: server, Attempt: j.Attempt, Run: j.Runs, State: models.JobSucceeded, At: time.Now()}}); err != nil {
							failures <- err
							return
						}
						done.Add(1)
					}
				}
			}()
		}
	}
	wg.Wait()
	close(failures)
	for err := range failures {
		require.NoError(t, err)
	}
	require.EqualValues(t, 60, done.Load(), "every job ran")
	require.Zero(t, over.Load(), "more jobs of the kind ran than its cap")
}

// A kind's rate: no more jobs start per window than it allows; other kinds go on; the next
// window has room again; a rate and a cap on running jobs hold together.
func TestKindRates(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		require.NoError(t, s.SetKindRate(ctx, "sms.send", 3, time.Hour))
		var sms []*models.Job
		for range 6 {
			sms = append(sms, newJob("sms.send"))
		}
		insert(t, s, sms...)
		insert(t, s, newJob("mail.send"))
		now := time.Date(2026, 11, 27, 10, 15, 0, 0, time.UTC)
		claimAt := func(at time.Time) map[string]int {
			jobs, err := s.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "default", ServerID: "srv", Limit: 10, Lease: time.Minute, Now: at})
			require.NoError(t, err)
			out := map[string]int{}
			for _, j := range jobs {
				out[j.Kind]++
			}
			return out
		}
		require.Equal(t, map[string]int{"sms.send": 3, "mail.send": 1}, claimAt(now))
		require.Empty(t, claimAt(now.Add(30*time.Minute)), "the hour's 3 are used")
		l, err := s.Kinds.KindLimits(ctx)
		require.NoError(t, err)
		used, err := s.Kinds.KindRateUsed(ctx, l["sms.send"], now)
		require.NoError(t, err)
		require.Equal(t, 3, used)
		require.Equal(t, map[string]int{"sms.send": 3}, claimAt(now.Add(time.Hour)), "the next hour has room")

		// With a cap on running jobs too, the smaller wins; removing the rate keeps the cap.
		require.NoError(t, s.SetKindLimit(ctx, "sms.send", 1))
		require.NoError(t, s.SetKindRate(ctx, "sms.send", 0, 0))
		l, err = s.Kinds.KindLimits(ctx)
		require.NoError(t, err)
		require.Equal(t, models.KindLimit{Kind: "sms.send", MaxRunning: 1}, models.KindLimit{Kind: l["sms.send"].Kind, MaxRunning: l["sms.send"].MaxRunning, RateN: l["sms.send"].RateN})
		require.Error(t, s.SetKindRate(ctx, "sms.send", 5, time.Millisecond))
	})
}

// A long run of a capped kind at the head of the queue does not hide the other kinds behind it.
func TestKindLimitDoesNotStarveOthers(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		require.NoError(t, s.SetKindLimit(ctx, "pdf.render", 1))
		var head []*models.Job
		for range 50 {
			head = append(head, newJob("pdf.render"))
		}
		insert(t, s, head...)
		insert(t, s, newJob("mail.send"), newJob("mail.send"))
		got := claim(t, s, "srv", 2)
		kinds := map[string]int{}
		for _, j := range got {
			kinds[j.Kind]++
		}
		require.Equal(t, map[string]int{"pdf.render": 1, "mail.send": 1}, kinds)
		require.Equal(t, []string{"mail.send"}, func() []string {
			var out []string
			for _, j := range claim(t, s, "srv", 5) {
				out = append(out, j.Kind)
			}
			return out
		}())
	})
}

// A holder requeued while a new job looks at it keeps its key: never two live jobs for one.
func TestUniqueKeyReleaseRacesRequeue(t *testing.T) {
	dsn := modeltest.PostgresDSN(t)
	s := modeltest.Open(t, dsn)
	key := "unique:k"
	states := []models.JobState{models.JobEnqueued, models.JobProcessing, models.JobScheduled}
	h := newJob("k")
	h.UniqueKey, h.UniqueStates = &key, states
	insert(t, s, h)
	_, _, err := s.Jobs.CancelJob(ctx, h.ID, "test")
	require.NoError(t, err)
	raw, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer raw.Close()
	var fired atomic.Bool
	require.NoError(t, modeltest.DB(s).Callback().Query().After("gorm:query").Register("test:requeue", func(db *gorm.DB) {
		if strings.Contains(db.Statement.SQL.String(), "unique_key =") && fired.CompareAndSwap(false, true) {
			// A requeue of the holder, between the look at it and the release of its key.
			_, err := raw.Exec("UPDATE jobs SET state = 'enqueued', finished_at = NULL WHERE id = $1", h.ID)
			require.NoError(t, err)
		}
	}))
	j := newJob("k")
	k2 := key
	j.UniqueKey, j.UniqueStates = &k2, states
	dups, err := s.Jobs.InsertJobs(ctx, []*models.Job{j}, time.Now())
	require.NoError(t, err)
	require.True(t, fired.Load())
	require.Equal(t, []int{0}, dups, "the requeued holder is the duplicate")
	var live int64
	require.NoError(t, modeltest.DB(s).Model(&models.Job{}).Where("kind = 'k' AND state = 'enqueued'").Count(&live).Error)
	require.EqualValues(t, 1, live)
}

// A tag with bytes no job can hold is refused as a filter, not sent to the database.
func TestTagFilterRefusesBadBytes(t *testing.T) {
	require.Error(t, models.JobFilter{Tag: "a\xff"}.Validate())
	require.Error(t, models.JobFilter{Tag: "a\x00"}.Validate())
	require.NoError(t, models.JobFilter{Tag: "billing"}.Validate())
}

// A node that still believes no kind is capped (its copy of the caps is up to a second old)
// neither claims nor stores claimed a job of a kind another node just capped.
func TestFreshCapHoldsOnEveryNode(t *testing.T) {
	for _, d := range modeltest.Dialects {
		t.Run(d.Name, func(t *testing.T) {
			dsn := d.DSN(t)
			a, b := modeltest.Open(t, dsn), modeltest.Open(t, dsn)
			require.Empty(t, claim(t, b, "b", 10)) // b reads the caps: none
			require.NoError(t, a.SetKindLimit(ctx, "pdf", 1))
			direct := newJob("pdf")
			direct.Queue = "idle"
			claimed, err := b.Jobs.InsertAndClaimJob(ctx, direct, time.Now(), models.ClaimParams{Queue: "idle", ServerID: "b", Lease: time.Minute})
			require.NoError(t, err)
			require.False(t, claimed, "not straight to a worker: a claim that counts the kind takes it")
			insert(t, a, newJob("pdf"), newJob("pdf"), newJob("pdf"), newJob("mail"))
			got := claim(t, b, "b", 10)
			require.Len(t, got, 1)
			require.Equal(t, "mail", got[0].Kind, "b's claim leaves the capped kind to a claim that counts it")
			direct = newJob("pdf")
			claimed, err = b.Jobs.InsertAndClaimJob(ctx, direct, time.Now(), models.ClaimParams{Queue: "default", ServerID: "b", Lease: time.Minute})
			require.NoError(t, err)
			require.False(t, claimed)
			time.Sleep(1100 * time.Millisecond) // b reads the caps again
			require.Len(t, claim(t, b, "b", 10), 1, "then it claims up to the cap")
		})
	}
}

// A limit set on the kind's page lasts across restarts until the code's limit changes.
func TestCodeLimitsYieldToThePageUntilTheCodeChanges(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		limitOf := func(kind string) models.KindLimit {
			l, err := s.Kinds.KindLimits(ctx)
			require.NoError(t, err)
			return l[kind]
		}
		code := []models.KindLimit{{Kind: "pdf", MaxRunning: 5}, {Kind: "mail"}}
		set, err := s.Jobs.ApplyCodeLimits(ctx, code)
		require.NoError(t, err)
		require.Equal(t, []string{"pdf"}, set)
		require.Equal(t, 5, limitOf("pdf").MaxRunning)

		require.NoError(t, s.SetKindLimit(ctx, "pdf", 9))
		require.NoError(t, s.SetKindRate(ctx, "mail", 100, time.Minute))
		set, err = s.Jobs.ApplyCodeLimits(ctx, code)
		require.NoError(t, err)
		require.Empty(t, set, "the same code again changes nothing")
		require.Equal(t, 9, limitOf("pdf").MaxRunning, "the page's cap stays")
		require.Equal(t, 100, limitOf("mail").RateN, "the page's rate stays")

		code[0].MaxRunning = 6
		code[1] = models.KindLimit{Kind: "mail", RateN: 10, RatePerSeconds: 1}
		set, err = s.Jobs.ApplyCodeLimits(ctx, code)
		require.NoError(t, err)
		require.Equal(t, []string{"pdf", "mail"}, set)
		require.Equal(t, 6, limitOf("pdf").MaxRunning, "new code wins")
		require.Equal(t, [2]int64{10, 1}, [2]int64{int64(limitOf("mail").RateN), limitOf("mail").RatePerSeconds})

		code[0].MaxRunning = 0
		_, err = s.Jobs.ApplyCodeLimits(ctx, code)
		require.NoError(t, err)
		all, err := s.Kinds.KindLimits(ctx)
		require.NoError(t, err)
		require.NotContains(t, all, "pdf", "a cap taken out of the code goes, and with it the row")
	})
}
