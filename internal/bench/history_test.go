package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// The fill writes jobs whose counters, stats and histories are what the engine would have
// written for them: each filled job's history is one an engine job had, moved in time.
func TestFillHistory(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		const n = 2_000
		r, err := FillHistory(ctx, store, HistoryConfig{Jobs: n, Seed: 7}, func(string) {})
		require.NoError(t, err)
		require.EqualValues(t, n, r.Jobs)
		require.Positive(t, r.Events)
		require.Positive(t, r.LogLines)
		require.Positive(t, r.BytesPerJob)
		db := modeltest.DB(store)

		// The counters equal a GROUP BY of the rows, per queue and per kind.
		require.NoError(t, store.Jobs.FoldJobCounts(ctx))
		byQueue, err := store.JobQueries.CountJobsByQueue(ctx)
		require.NoError(t, err)
		require.Equal(t, modeltest.CountJobsByQueueScan(t, store), byQueue)
		byKind, err := store.JobQueries.CountJobsByKind(ctx)
		require.NoError(t, err)
		require.Equal(t, modeltest.CountJobsByKindScan(t, store), byKind)

		// The hour stats, the overview's and the kinds', count every success and failure.
		var rows, hours, kinds struct{ Succeeded, Failed int64 }
		require.NoError(t, db.Raw("SELECT SUM(CASE WHEN state = 'succeeded' THEN 1 ELSE 0 END) AS succeeded, SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END) AS failed FROM jobs").Scan(&rows).Error)
		require.NoError(t, db.Raw("SELECT SUM(succeeded) AS succeeded, SUM(failed) AS failed FROM job_stats WHERE period = 'h'").Scan(&hours).Error)
		require.NoError(t, db.Raw("SELECT SUM(succeeded) AS succeeded, SUM(failed) AS failed FROM kind_stats").Scan(&kinds).Error)
		require.Equal(t, rows, hours)
		require.Equal(t, rows, kinds)

		// Every filled job's history (and row) is a template's, moved in time; and the mix
		// holds every shape.
		var all []models.Job
		require.NoError(t, db.Order("id").Find(&all).Error)
		// The templates were worked just now; the filled jobs end an hour ago.
		filledBefore := time.Now().Add(-time.Hour)
		firstFilled := int64(0)
		shapes := map[string]int64{} // shape -> a template's id
		states := map[models.JobState]int{}
		for i := range all {
			j := &all[i]
			history, err := store.JobQueries.JobEvents(ctx, j.ID)
			require.NoError(t, err)
			var stored int64
			require.NoError(t, db.Model(&models.JobEvent{}).Where("job_id = ?", j.ID).Count(&stored).Error)
			logs, err := store.JobQueries.JobLogs(ctx, j.ID)
			require.NoError(t, err)
			s := historyShape(j, history, stored, logs)
			if j.CreatedAt.After(filledBefore) {
				shapes[s] = j.ID
				continue
			}
			if firstFilled == 0 {
				firstFilled = j.ID
			}
			_, ok := shapes[s]
			require.True(t, ok, "job %d has a history no engine job had:\n%s", j.ID, s)
			states[j.State]++
		}
		require.Greater(t, states[models.JobSucceeded], n*8/10)
		for _, st := range []models.JobState{models.JobFailed, models.JobCancelled} {
			require.Positive(t, states[st], st)
		}
		filled := all[len(all)-n:]
		require.Equal(t, firstFilled, filled[0].ID, "the filled jobs take the ids after the others'")
		require.Less(t, filled[0].CreatedAt, time.Now().Add(-27*24*time.Hour))
		require.Less(t, filled[n-1].CreatedAt, filledBefore)

		// A filled job's page shows its error as its template's does.
		var failed models.Job
		require.NoError(t, db.Where("id >= ? AND state = ?", firstFilled, models.JobFailed).First(&failed).Error)
		page := jobPage(t, store, failed.ID)
		require.Contains(t, page, failed.LastError)
	})
}

// historyShape is what a job's page shows of it (its row, history and log) and how many events
// it stored, with its id and times taken out (times as offsets from its creation).
func historyShape(j *models.Job, history []models.JobEvent, stored int64, logs []models.JobLog) string {
	var b strings.Builder
	off := func(at time.Time) string { return at.Sub(j.CreatedAt).String() }
	opt := func(at *time.Time) string {
		if at == nil {
			return "-"
		}
		return off(*at)
	}
	fmt.Fprintf(&b, "%s %s %s attempt %d/%d runs %d rescues %d run_at %s started %s finished %s lease %s server %q error %q tags %q\n",
		j.Kind, j.Queue, j.State, j.Attempt, j.MaxAttempts, j.Runs, j.Rescues, off(j.RunAt), opt(j.StartedAt), opt(j.FinishedAt),
		opt(j.LeaseUntil), j.ServerID, j.LastError, j.Tags)
	fmt.Fprintf(&b, "%d events stored\n", stored)
	for _, e := range history {
		fmt.Fprintf(&b, "  %s->%s %s attempt %d server %q reason %q error %q took %s\n", e.From, e.To, off(e.At), e.Attempt, e.ServerID, e.Reason, e.Error, e.Duration)
	}
	for _, l := range logs {
		fmt.Fprintf(&b, "  log %s attempt %d %q\n", off(l.At), l.Attempt, l.Message)
	}
	return b.String()
}

// jobPage is the dashboard's page of job id.
func jobPage(t *testing.T, store *models.Store, id int64) string {
	t.Helper()
	ctx := context.Background()
	engine, err := jobs.New(store, jobs.Config{})
	require.NoError(t, err)
	srv, err := web.New(web.Config{Addr: "127.0.0.1:0", LocalNoAuth: true}, store, engine, nil)
	require.NoError(t, err)
	require.NoError(t, srv.Start(ctx))
	defer func() { _ = srv.Stop(ctx) }()
	resp, err := http.Get("http://" + srv.Addr() + "/dashboard/jobs/" + strconv.FormatInt(id, 10))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return string(body)
}
