package models

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// What the dashboard reads of runs: a page of them, newest first, and the run a job is a step of.

// MaxWorkflowPage bounds a page of ListWorkflows.
const MaxWorkflowPage = 500

// WorkflowFilter narrows ListWorkflows: runs in State ("" any), whose name starts with
// NamePrefix ("" any).
type WorkflowFilter struct {
	State      WorkflowState
	NamePrefix string
}

// WorkflowPage is a page of runs, newest first; HasOlder says more runs match before the last.
type WorkflowPage struct {
	Runs     []Workflow
	HasOlder bool
}

// ListWorkflows returns up to limit runs matching f, newest first, from those older than run
// before (0: from the newest). A keyset page: runs started meanwhile don't shift it.
func (s workflowStore) ListWorkflows(ctx context.Context, f WorkflowFilter, before int64, limit int) (WorkflowPage, error) {
	var page WorkflowPage
	if limit < 1 || limit > MaxWorkflowPage {
		return page, Errorf(EINVALID, "A page holds 1 to %d runs, not %d.", MaxWorkflowPage, limit)
	}
	switch f.State {
	case "", WorkflowRunning, WorkflowSucceeded, WorkflowFailed, WorkflowCancelled:
	default:
		return page, &Error{Code: EINVALID, Message: "The filter is not valid.", Fields: map[string]string{"state": fmt.Sprintf(
			"A run is %s, %s, %s or %s, not %q.", WorkflowRunning, WorkflowSucceeded, WorkflowFailed, WorkflowCancelled, f.State)}}
	}
	name := strings.TrimSpace(f.NamePrefix)
	if !storableText(name) {
		return page, &Error{Code: EINVALID, Message: "The filter is not valid.", Fields: map[string]string{"name": "Text without NUL bytes, in UTF-8."}}
	}
	q := s.rdb.WithContext(ctx).Model(&Workflow{})
	if f.State != "" {
		q = q.Where("state = ?", f.State)
	}
	if name != "" {
		q = q.Where("name LIKE ? ESCAPE '\\'", escapeLike(name)+"%")
	}
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	if err := q.Order("id DESC").Limit(limit + 1).Find(&page.Runs).Error; err != nil {
		return page, fmt.Errorf("models: list workflows: %w", err)
	}
	if len(page.Runs) > limit {
		page.Runs, page.HasOlder = page.Runs[:limit], true
	}
	return page, nil
}

// WorkflowOfJob returns the run job jobID is a step of, and the step (its run, name and item:
// not its for_each, which on a fan-out's first item holds the items still to store); nil when
// it is none's. One query: the job page asks on every refresh.
func (s workflowStore) WorkflowOfJob(ctx context.Context, jobID int64) (*Workflow, *WorkflowStep, error) {
	var row struct {
		Workflow
		Step string
		Item *int
	}
	res := s.rdb.WithContext(ctx).Table("workflow_steps AS ws").Select("w.*, ws.step, ws.item").
		Joins("JOIN workflows AS w ON w.id = ws.workflow_id").Where("ws.job_id = ?", jobID).Limit(1).Scan(&row)
	if res.Error != nil {
		return nil, nil, fmt.Errorf("models: workflow of job %d: %w", jobID, res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, nil, nil
	}
	return &row.Workflow, &WorkflowStep{JobID: jobID, WorkflowID: row.ID, Step: row.Step, Item: row.Item}, nil
}

// StepResult returns the result (JSON) of step, a step of the run job belongs to: for a
// fan-out, the list of its items' results in their order. It is an ENOTFOUND error when there
// is no such step, and an ECONFLICT one until the step (each of its items) succeeded.
func (s workflowStore) StepResult(ctx context.Context, jobID int64, step string) (string, error) {
	var got []parentResult
	err := s.rdb.WithContext(ctx).Raw(`SELECT ws.step, ws.item, jobs.state, jobs.result FROM workflow_steps ws JOIN jobs ON jobs.id = ws.job_id
WHERE ws.workflow_id = (SELECT workflow_id FROM workflow_steps WHERE job_id = ?) AND ws.step = ?`, jobID, step).Scan(&got).Error
	if err != nil {
		return "", fmt.Errorf("models: result of step %s: %w", step, err)
	}
	if len(got) == 0 {
		return "", Errorf(ENOTFOUND, "Job %d is not a step of a workflow with a step %s.", jobID, step)
	}
	for _, p := range got {
		if p.State != JobSucceeded {
			return "", Errorf(ECONFLICT, "Step %s is %s: it has a result once it succeeded.", step, p.State)
		}
	}
	v, err := resultsOf(got)(tmplRef{Text: step, Step: step})
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("models: result of step %s: %w", step, err)
	}
	return string(b), nil
}

// WorkflowStartedBy returns the run whose StartJobID is jobID: the run a job that starts
// workflows started, which it finds when it runs again after a rescue. nil when it started none.
func (s workflowStore) WorkflowStartedBy(ctx context.Context, jobID int64) (*Workflow, error) {
	var wf Workflow
	res := s.rdb.WithContext(ctx).Where("start_job_id = ?", jobID).Limit(1).Find(&wf)
	if res.Error != nil {
		return nil, fmt.Errorf("models: workflow started by job %d: %w", jobID, res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, nil
	}
	return &wf, nil
}
