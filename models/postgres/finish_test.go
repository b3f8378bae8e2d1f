package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/models/postgres"
)

// The finish looks its jobs up by id, even when the statistics say no job is processing: read
// through the state index alone instead, after a burst, it walked every dead (processing, id)
// entry for each batch.
func TestFinishFindsJobsByID(t *testing.T) {
	ctx := context.Background()
	s := modeltest.Open(t, modeltest.PostgresDSN(t))
	now := time.Now().UTC().Truncate(time.Microsecond)
	batch := make([]*models.Job, 5000)
	for i := range batch {
		batch[i] = &models.Job{Kind: "k", Queue: "default", MaxAttempts: 3, Args: "{}"}
	}
	if _, err := s.Jobs.InsertJobs(ctx, batch, now); err != nil {
		t.Fatal(err)
	}
	db, err := modeltest.DB(s).DB()
	if err != nil {
		t.Fatal(err)
	}
	// The statistics see 5,000 jobs waiting and none processing; then all are claimed, and no
	// autoanalyze may tell the planner.
	for _, q := range []string{"ALTER TABLE jobs SET (autovacuum_enabled = false)", "ANALYZE jobs"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	claimed, err := s.Jobs.ClaimJobs(ctx, models.ClaimParams{Queue: "default", ServerID: "n1", Limit: 5000, Lease: time.Minute, Now: now})
	if err != nil || len(claimed) != 5000 {
		t.Fatalf("claimed %d jobs, err %v; want 5000", len(claimed), err)
	}
	// 100 successes, then the stats' time and node.
	const n = 100
	outcomes := make([]string, n)
	at := now.Format(time.RFC3339Nano)
	for i := range outcomes {
		outcomes[i] = fmt.Sprintf(`{"id": %d, "state": "succeeded", "error": "", "finished_at": %q, "result": "",
			"run_at": null, "refund": 0, "server": "n1", "attempt": 1, "run": 1, "at": %q, "reason": "", "duration": 1000}`,
			claimed[i].ID, at, at)
	}
	rows, err := db.QueryContext(ctx, "EXPLAIN "+postgres.FinishSQL, "["+strings.Join(outcomes, ",")+"]", now, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// Every read of jobs must be keyed by the batch's ids: the primary key, or (state, id).
	lines := strings.Split(plan.String(), "\n")
	reads := 0
	for i, line := range lines {
		if !strings.Contains(line, " on jobs ") || strings.Contains(line, "Update on jobs") {
			continue
		}
		reads++
		if !strings.Contains(line, "Index Scan") || i+1 == len(lines) || !strings.Contains(lines[i+1], "id = f.id") {
			t.Errorf("the finish of %d jobs reads them otherwise than by id:\n%s", n, plan.String())
		}
	}
	if reads == 0 {
		t.Errorf("no read of jobs in the plan:\n%s", plan.String())
	}
}
