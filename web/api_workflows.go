package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kilnhq/kiln/api"
	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/jobs"
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
			"(a cycle, an unknown step, a bad step: 422 naming it). Steps of the exec or http.request kinds need an admin, as enqueueing them does.",
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
	wf := jobs.NewWorkflow(in.Body.Name)
	index := make(map[string]int, len(in.Body.Steps))
	var details []error
	for i, st := range in.Body.Steps {
		opts, bad := jobOptions(st.JobSpec, "body.steps["+strconv.Itoa(i)+"].")
		details = append(details, bad...)
		switch st.On {
		case models.ContinueOnFailure:
			opts = append(opts, jobs.OnFailure())
		case models.ContinueOnFinish:
			opts = append(opts, jobs.OnAnyFinalState())
		}
		index[st.Name] = i
		wf.Add(jobs.Step{Name: st.Name, Kind: st.Kind, Args: specArgs(st.JobSpec), DependsOn: st.DependsOn, Opts: opts, ForEach: forEachOf(st.ForEach)})
	}
	if len(details) > 0 {
		return nil, huma.Error422UnprocessableEntity("The workflow was not started.", details...)
	}
	for i, st := range in.Body.Steps {
		if err := mustAllow(ctx, authz.EnqueueAction(st.Kind)); err != nil {
			return nil, err
		}
		if err := s.checkKind(ctx, st.Kind, st.AllowUnknownKind); err != nil {
			return nil, s.apiErr(stepsAt(err, index, i))
		}
	}
	run, err := s.engine.StartWorkflow(actor(ctx), wf)
	if err != nil {
		return nil, s.apiErr(stepsAt(err, index, -1))
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
		out.Steps[i] = api.WorkflowStep{Name: st.Step, JobID: st.JobID, State: string(st.State), DependsOn: deps, Item: st.Item}
	}
	return out, nil
}

// stepsAt rewrites the fields of err, which name steps ("steps.dump.args"), as the places in the
// body they are (steps[0].args), for the problem's details; a field that names no step is the
// step at (-1: none) if err is about one.
func stepsAt(err error, index map[string]int, at int) error {
	var me *models.Error
	if !errors.As(err, &me) {
		return err
	}
	fields := make(map[string]string, len(me.Fields))
	for k, v := range me.Fields {
		rest, isStep := strings.CutPrefix(k, "steps.")
		switch {
		case isStep:
			name, field, _ := strings.Cut(rest, ".")
			if i, ok := index[name]; ok {
				k = "steps[" + strconv.Itoa(i) + "]"
				if field != "" {
					k += "." + field
				}
			}
		case at >= 0:
			k = "steps[" + strconv.Itoa(at) + "]." + k
		}
		fields[k] = v
	}
	return &models.Error{Code: me.Code, Message: me.Message, Fields: fields}
}

// forEachOf is a step's for_each as jobs.Step takes it: a template (a JSON string), a list, or
// nothing.
func forEachOf(raw json.RawMessage) any {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var template string
	if json.Unmarshal(raw, &template) == nil {
		return template
	}
	return raw
}
