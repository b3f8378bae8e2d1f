package web

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kilnhq/kiln/api"
	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
)

const tagWorkflows = "Workflows"

// WorkflowInput is a workflow to start.
type WorkflowInput struct {
	Body api.WorkflowSpec
}

// WorkflowOutput is a run.
type WorkflowOutput struct {
	Status int `json:"-"`
	Body   api.Workflow
}

// WorkflowActionInput is an action on a run.
type WorkflowActionInput struct {
	ID     int64  `path:"id" minimum:"1" doc:"The run's id."`
	Action string `path:"action" enum:"cancel,retry" doc:"cancel: stop a running run (its running steps' contexts are cancelled, no step starts after); retry: run again an ended run's steps that failed, were cancelled or skipped, keeping what succeeded."`
}

// WorkflowIDInput names a run.
type WorkflowIDInput struct {
	ID int64 `path:"id" minimum:"1" doc:"The run's id."`
}

func (s *Server) registerWorkflowAPI(hapi huma.API) {
	register(hapi, authz.JobsEnqueue, huma.Operation{
		OperationID: "start-workflow", Method: http.MethodPost, Path: "/v1/workflows", DefaultStatus: http.StatusCreated,
		Summary: "Start a workflow", Tags: []string{tagWorkflows},
		Description: "Stores a run of steps, each a job that waits for the steps it depends on, in one transaction: the graph is checked first " +
			"(a cycle, an unknown step, a bad step: 422 naming it). Steps of the exec or http.request kinds need an admin, as enqueueing them does. " +
			"To start one on a schedule, make a recurring job of kind workflow.start with this body as its arguments.",
		Errors: codeStatuses(models.ECONFLICT),
	}, s.apiStartWorkflow)
	register(hapi, authz.Read, huma.Operation{
		OperationID: "get-workflow", Method: http.MethodGet, Path: "/v1/workflows/{id}", Summary: "A workflow's run, with its steps", Tags: []string{tagWorkflows},
		Errors: codeStatuses(models.ENOTFOUND),
	}, s.apiGetWorkflow)
	registerByParam(hapi, "action", map[string]authz.Action{"cancel": authz.JobsCancel, "retry": authz.JobsRetry}, huma.Operation{
		OperationID: "workflow-action", Method: http.MethodPost, Path: "/v1/workflows/{id}/{action}", Summary: "Cancel a run, or retry its failed steps",
		Tags: []string{tagWorkflows}, Description: "Cancelling an ended run, or retrying a running one or one whose steps all succeeded, is a 409.",
		Errors: codeStatuses(models.ENOTFOUND, models.ECONFLICT),
	}, s.apiWorkflowAction)
}

func (s *Server) apiWorkflowAction(ctx context.Context, in *WorkflowActionInput) (*WorkflowOutput, error) {
	var err error
	switch in.Action {
	case "cancel":
		err = s.engine.CancelWorkflow(actor(ctx), in.ID)
	case "retry":
		err = s.engine.RetryWorkflow(actor(ctx), in.ID)
	default: // the path's enum lets only these through
		return nil, huma.Error422UnprocessableEntity("Unknown action " + in.Action + ".")
	}
	if err != nil {
		return nil, s.apiErr(err)
	}
	return s.apiGetWorkflow(ctx, &WorkflowIDInput{ID: in.ID})
}

func (s *Server) apiStartWorkflow(ctx context.Context, in *WorkflowInput) (*WorkflowOutput, error) {
	wf, bad := builtin.WorkflowFromSpec(in.Body)
	if len(bad) > 0 {
		return nil, huma.Error422UnprocessableEntity("The workflow was not started.", fieldDetails(bad, "body.")...)
	}
	for i, st := range in.Body.Steps {
		if err := mustAllow(ctx, authz.EnqueueAction(st.Kind, st.Args)); err != nil {
			return nil, err
		}
		if err := s.checkKind(ctx, st.Kind, st.AllowUnknownKind); err != nil {
			return nil, s.apiErr(builtin.StepsAt(err, in.Body, i))
		}
	}
	run, err := s.engine.StartWorkflow(actor(ctx), wf)
	if err != nil {
		return nil, s.apiErr(builtin.StepsAt(err, in.Body, -1))
	}
	out, err := s.workflowOut(ctx, run)
	if err != nil {
		return nil, s.apiErr(err)
	}
	return &WorkflowOutput{Status: http.StatusCreated, Body: *out}, nil
}

func (s *Server) apiGetWorkflow(ctx context.Context, in *WorkflowIDInput) (*WorkflowOutput, error) {
	run, err := s.store.Workflows.GetWorkflow(ctx, in.ID)
	if err != nil {
		return nil, s.apiErr(err)
	}
	out, err := s.workflowOut(ctx, run)
	if err != nil {
		return nil, s.apiErr(err)
	}
	return &WorkflowOutput{Status: http.StatusOK, Body: *out}, nil
}

// workflowOut is a run as the API shows it, with its steps.
func (s *Server) workflowOut(ctx context.Context, run *models.Workflow) (*api.Workflow, error) {
	steps, err := s.store.Workflows.WorkflowSteps(ctx, run.ID)
	if err != nil {
		return nil, err
	}
	out := &api.Workflow{ID: run.ID, Name: run.Name, State: string(run.State), StepsTotal: run.StepsTotal, StepsLeft: run.StepsLeft,
		StepsFailed: run.StepsFailed, CreatedBy: run.CreatedBy, CreatedAt: run.CreatedAt, FinishedAt: run.FinishedAt,
		Steps: make([]api.WorkflowStep, len(steps))}
	for i, st := range steps {
		deps := st.DependsOn
		if deps == nil {
			deps = []string{}
		}
		out.Steps[i] = api.WorkflowStep{Name: st.Step, JobID: st.JobID, State: string(st.State), DependsOn: deps, Item: st.Item,
			ItemsToCome: st.ItemsToCome()}
	}
	return out, nil
}
