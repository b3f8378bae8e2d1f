package models_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
)

// named stores a run called name of one step.
func named(t *testing.T, s *models.Store, name string) *models.Workflow {
	t.Helper()
	wf := &models.Workflow{Name: name, CreatedBy: "ada"}
	require.NoError(t, s.Workflows.CreateWorkflow(ctx, wf, []models.NewStep{step("only")}, time.Now()))
	return wf
}

func runIDs(p models.WorkflowPage) []int64 {
	var ids []int64
	for _, r := range p.Runs {
		ids = append(ids, r.ID)
	}
	return ids
}

// Runs list newest first in keyset pages, filtered by state and by the start of their name
// (a LIKE wildcard in the filter is a plain character).
func TestListWorkflows(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		a := named(t, s, "nightly backup")
		b := named(t, s, "nightly report")
		c := named(t, s, "deploy 100%")
		d := named(t, s, "nightly_x")
		_, err := s.Workflows.CancelWorkflow(ctx, b.ID, "test")
		require.NoError(t, err)

		page, err := s.Workflows.ListWorkflows(ctx, models.WorkflowFilter{}, 0, 3)
		require.NoError(t, err)
		require.Equal(t, []int64{d.ID, c.ID, b.ID}, runIDs(page))
		require.True(t, page.HasOlder)
		require.Equal(t, "nightly_x", page.Runs[0].Name)
		page, err = s.Workflows.ListWorkflows(ctx, models.WorkflowFilter{}, b.ID, 3)
		require.NoError(t, err)
		require.Equal(t, []int64{a.ID}, runIDs(page))
		require.False(t, page.HasOlder)

		page, err = s.Workflows.ListWorkflows(ctx, models.WorkflowFilter{NamePrefix: "nightly"}, 0, 10)
		require.NoError(t, err)
		require.Equal(t, []int64{d.ID, b.ID, a.ID}, runIDs(page))
		page, err = s.Workflows.ListWorkflows(ctx, models.WorkflowFilter{NamePrefix: "nightly_"}, 0, 10)
		require.NoError(t, err)
		require.Equal(t, []int64{d.ID}, runIDs(page), "_ is not a wildcard")
		page, err = s.Workflows.ListWorkflows(ctx, models.WorkflowFilter{NamePrefix: "deploy 1%"}, 0, 10)
		require.NoError(t, err)
		require.Empty(t, runIDs(page), "%% is not a wildcard")
		page, err = s.Workflows.ListWorkflows(ctx, models.WorkflowFilter{State: models.WorkflowCancelled}, 0, 10)
		require.NoError(t, err)
		require.Equal(t, []int64{b.ID}, runIDs(page))
		require.Equal(t, models.WorkflowCancelled, page.Runs[0].State)
		page, err = s.Workflows.ListWorkflows(ctx, models.WorkflowFilter{State: models.WorkflowRunning, NamePrefix: "nightly"}, 0, 10)
		require.NoError(t, err)
		require.Equal(t, []int64{d.ID, a.ID}, runIDs(page))

		_, err = s.Workflows.ListWorkflows(ctx, models.WorkflowFilter{State: "bogus"}, 0, 10)
		require.Equal(t, models.EINVALID, models.ErrorCode(err))
		require.NotEmpty(t, models.FieldErrors(err)["state"])
		_, err = s.Workflows.ListWorkflows(ctx, models.WorkflowFilter{}, 0, 0)
		require.Equal(t, models.EINVALID, models.ErrorCode(err))
	})
}

// A step's job finds its run and its name; a job of no run finds none; the steps carry their
// jobs' times.
func TestWorkflowOfJob(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		wf := workflow(t, s, step("a"), step("b", "a"))
		steps, err := s.Workflows.WorkflowSteps(ctx, wf.ID)
		require.NoError(t, err)
		for _, st := range steps {
			run, of, err := s.Workflows.WorkflowOfJob(ctx, st.JobID)
			require.NoError(t, err)
			require.NotNil(t, run)
			require.Equal(t, wf.ID, run.ID)
			require.Equal(t, "test", run.Name)
			require.Equal(t, models.WorkflowRunning, run.State)
			require.Equal(t, 2, run.StepsTotal)
			require.Equal(t, st.Step, of.Step)
			require.Nil(t, of.Item)
		}
		lone := newJob("lone")
		insert(t, s, lone)
		run, of, err := s.Workflows.WorkflowOfJob(ctx, lone.ID)
		require.NoError(t, err)
		require.Nil(t, run)
		require.Nil(t, of)

		require.Nil(t, steps[0].StartedAt)
		runStep(t, s, wf.ID, "a", models.JobSucceeded)
		steps, err = s.Workflows.WorkflowSteps(ctx, wf.ID)
		require.NoError(t, err)
		require.NotNil(t, steps[0].StartedAt)
		require.NotNil(t, steps[0].FinishedAt)
		require.False(t, steps[0].FinishedAt.Before(*steps[0].StartedAt))
		require.Nil(t, steps[1].StartedAt)
	})
}
