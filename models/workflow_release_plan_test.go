package models_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// The release of a big fan-out reads its steps' jobs by id, even when PostgreSQL's statistics
// were taken while no job awaited: read through the state index instead, each of the fan-out's
// awaiting jobs scanned workflow_steps, and one release took minutes.
func TestWorkflowReleaseReadsStepsByID(t *testing.T) {
	s := modeltest.Open(t, modeltest.PostgresDSN(t))
	db := staleStatistics(t, s, 2000, models.DefaultQueue, "workflow_steps") // the statistics see jobs, none awaiting
	steps := []models.NewStep{step("first")}
	var middle []string
	for i := range 2000 {
		middle = append(middle, fmt.Sprintf("s%d", i))
		steps = append(steps, step(middle[i], "first"))
	}
	wf := workflow(t, s, append(steps, step("last", middle...))...)
	var ids []int64
	require.NoError(t, db.Raw("SELECT job_id FROM workflow_steps WHERE workflow_id = ? AND deps_left = 1 ORDER BY job_id LIMIT 500", wf.ID).
		Pluck("job_id", &ids).Error)
	require.NoError(t, db.Exec("UPDATE workflow_steps SET deps_left = 0 WHERE job_id IN ?", ids).Error) // as the release does

	var lines []string
	require.NoError(t, db.Raw("EXPLAIN "+models.ReadyStepsSQL, s.IDInForTest("ws.job_id", ids)).Pluck("QUERY PLAN", &lines).Error)
	plan := strings.Join(lines, "\n")
	reads := 0
	for i, line := range lines {
		if !strings.Contains(line, " on jobs ") {
			continue
		}
		reads++
		require.True(t, strings.Contains(line, "using jobs_pkey") && i+1 < len(lines) && strings.Contains(lines[i+1], "id = ws.job_id"),
			"the release reads the jobs of its steps otherwise than by id:\n%s", plan)
	}
	require.NotZero(t, reads, "no read of jobs in the plan:\n%s", plan)
}
