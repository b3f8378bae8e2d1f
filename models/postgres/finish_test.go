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
// through the state index instead, after a burst, it walked every dead (processing, id) entry
// for a one-job batch.
func TestFinishFindsJobsByID(t *testing.T) {
	ctx := context.Background()
	s := modeltest.Open(t, modeltest.PostgresDSN(t))
	now := time.Now().UTC().Truncate(time.Microsecond)
	batch := make([]*models.Job, 5000)
	for i := range batch {
		batch[i] = &models.Job{Kind: "k", Queue: "default", MaxAttempts: 3, Args: "{}"}
	}
	if _, err := s.InsertJobs(ctx, batch, now); err != nil {
		t.Fatal(err)
	}
	db, err := modeltest.DB(s).DB()
	if err != nil {
		t.Fatal(err)
	}
	// The statistics see 5,000 jobs waiting and none processing; then all are claimed.
	if _, err := db.ExecContext(ctx, "ANALYZE jobs"); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.ClaimJobs(ctx, models.ClaimParams{Queue: "default", ServerID: "n1", Limit: 5000, Lease: time.Minute, Now: now})
	if err != nil || len(claimed) != 5000 {
		t.Fatalf("claimed %d jobs, err %v; want 5000", len(claimed), err)
	}
	at := now.Format(time.RFC3339Nano)
	outcome := fmt.Sprintf(`[{"id": %d, "state": "succeeded", "error": "", "finished_at": %q, "result": "", "run_at": null,
		"refund": 0, "server": "n1", "attempt": 1, "run": 1, "at": %q, "reason": "", "duration": 1000}]`, claimed[0].ID, at, at)
	rows, err := db.QueryContext(ctx, "EXPLAIN "+postgres.New().SQL().Finish, outcome, now, 1)
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
	if !strings.Contains(plan.String(), "Index Scan using jobs_pkey on jobs") || strings.Contains(plan.String(), "idx_jobs_state_id") {
		t.Errorf("the finish of one job does not look it up by id:\n%s", plan.String())
	}
}
