package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// A workflow is a run of named steps, each a job of any kind, that wait for the steps they
// depend on (depends_on) and run on their success, their failure or whatever their outcome
// (the job's ContinueOn). The run is stored in one transaction with all its steps; each step
// is released in the transaction that finishes its last dependency (releaseSteps).

// WorkflowState is where a run is.
type WorkflowState string

// The states of a run.
const (
	WorkflowRunning   WorkflowState = "running"
	WorkflowSucceeded WorkflowState = "succeeded"
	// WorkflowFailed: a step failed or was cancelled, though steps that run on failure ran.
	WorkflowFailed    WorkflowState = "failed"
	WorkflowCancelled WorkflowState = "cancelled"
)

// Workflow is a run of steps, and how far it is.
type Workflow struct {
	ID    int64 `gorm:"primaryKey"`
	Name  string
	State WorkflowState
	// StepsTotal is how many steps it has; StepsLeft how many are not in a final state yet;
	// StepsFailed how many failed or were cancelled.
	StepsTotal, StepsLeft, StepsFailed int
	CreatedBy                          string
	CreatedAt                          time.Time
	FinishedAt                         *time.Time
	// StartJobID is the job that started the run, if a job did (a workflow.start job, as a
	// recurring entry enqueues): one job starts at most one run.
	StartJobID *int64
}

// TableName names Workflow's table.
func (Workflow) TableName() string { return "workflows" }

// WorkflowStep is one step of a run: its job, and how many of the steps it depends on are
// still to finish (DepsLeft) or finished without succeeding (DepsFailed).
type WorkflowStep struct {
	JobID      int64 `gorm:"primaryKey;autoIncrement:false"`
	WorkflowID int64
	Step       string
	DepsLeft   int
	DepsFailed int
	// Item is the index of the job's item in its step's fan-out (for_each); nil for a step
	// that is not a fan-out.
	Item *int
	// ForEach is the template of the list a fan-out over a dependency's result expands into
	// (${steps.NAME.result...}), until its last dependency ends and it is expanded.
	ForEach string
	// Templated marks a step whose arguments use its dependencies' results, filled in when it
	// is released.
	Templated bool
}

// TableName names WorkflowStep's table.
func (WorkflowStep) TableName() string { return "workflow_steps" }

// jobDep is one edge of a run's graph: the job JobID waits for the job ParentID.
type jobDep struct {
	ParentID int64 `gorm:"primaryKey;autoIncrement:false"`
	JobID    int64 `gorm:"primaryKey;autoIncrement:false"`
}

func (jobDep) TableName() string { return "job_deps" }

// NewStep is a step of a run to store: its name, its job (ContinueOn says on which outcome of
// its dependencies it runs: ContinueOnSuccess, the default, ContinueOnFailure or
// ContinueOnFinish), and the names of the steps it depends on.
type NewStep struct {
	Name      string
	Job       *Job
	DependsOn []string
	// Items makes the step a fan-out over a list: one job per item, each with the item filled
	// into its arguments' ${item} templates (see ItemsOf).
	Items []json.RawMessage
	// ForEach makes the step a fan-out over a dependency's result, a list: the template of it
	// (${steps.NAME.result...}), expanded when the step is released.
	ForEach string
}

// maxSteps bounds a run's steps; stepNameMax a step's name.
const (
	maxSteps    = 10000
	stepNameMax = 100
)

// CheckWorkflow checks a run's graph before anything is stored: names unique and well formed,
// dependencies on steps that exist, conditions known, no cycle. It returns the steps in an
// order where each comes after the steps it depends on, or an EINVALID error naming the step.
func CheckWorkflow(name string, steps []NewStep) ([]NewStep, error) {
	if strings.TrimSpace(name) == "" || len(name) > 200 {
		return nil, &Error{Code: EINVALID, Message: "The workflow was not started.", Fields: map[string]string{"name": "A workflow needs a name of 1 to 200 characters."}}
	}
	if len(steps) == 0 || len(steps) > maxSteps {
		return nil, &Error{Code: EINVALID, Message: "The workflow was not started.", Fields: map[string]string{"steps": fmt.Sprintf("A workflow has 1 to %d steps, not %d.", maxSteps, len(steps))}}
	}
	refuse := func(step, msg string, args ...any) error {
		return &Error{Code: EINVALID, Message: "The workflow was not started: " + fmt.Sprintf(msg, args...),
			Fields: map[string]string{"steps." + step: fmt.Sprintf(msg, args...)}}
	}
	index := make(map[string]int, len(steps))
	for i, st := range steps {
		switch {
		case !stepNameRE(st.Name):
			return nil, refuse(st.Name, "step %q: a step's name is 1 to %d letters, digits, '.', '_' or '-'", st.Name, stepNameMax)
		case st.Job == nil:
			return nil, refuse(st.Name, "step %q has no job", st.Name)
		}
		if _, dup := index[st.Name]; dup {
			return nil, refuse(st.Name, "two steps are named %q", st.Name)
		}
		switch st.Job.ContinueOn {
		case "", ContinueOnSuccess, ContinueOnFailure, ContinueOnFinish:
		default:
			return nil, refuse(st.Name, "step %q runs on %q: use %q, %q or %q", st.Name, st.Job.ContinueOn, ContinueOnSuccess, ContinueOnFailure, ContinueOnFinish)
		}
		index[st.Name] = i
	}
	for _, st := range steps {
		for _, d := range st.DependsOn {
			if _, ok := index[d]; !ok {
				return nil, refuse(st.Name, "step %q depends on %q, which is not a step of this workflow", st.Name, d)
			}
			if d == st.Name {
				return nil, refuse(st.Name, "step %q depends on itself", st.Name)
			}
		}
		if len(slices.Compact(slices.Sorted(slices.Values(st.DependsOn)))) != len(st.DependsOn) {
			return nil, refuse(st.Name, "step %q names a step twice in depends_on", st.Name)
		}
		if msg := checkTemplates(st); msg != "" {
			return nil, refuse(st.Name, "%s", msg)
		}
	}
	// Kahn's order: a step comes once every step it depends on came; what is left is a cycle.
	waiting := make([]int, len(steps))
	dependents := make([][]int, len(steps))
	var ready []int
	for i, st := range steps {
		waiting[i] = len(st.DependsOn)
		for _, d := range st.DependsOn {
			dependents[index[d]] = append(dependents[index[d]], i)
		}
		if waiting[i] == 0 {
			ready = append(ready, i)
		}
	}
	order := make([]NewStep, 0, len(steps))
	for len(ready) > 0 {
		i := ready[0]
		ready = ready[1:]
		order = append(order, steps[i])
		for _, c := range dependents[i] {
			if waiting[c]--; waiting[c] == 0 {
				ready = append(ready, c)
			}
		}
	}
	if len(order) < len(steps) {
		for i, st := range steps {
			if waiting[i] > 0 {
				return nil, refuse(st.Name, "step %q is part of a cycle: it waits, through its dependencies, for itself", st.Name)
			}
		}
	}
	if msg := checkRunSize(order); msg != "" {
		return nil, &Error{Code: EINVALID, Message: "The workflow was not started: " + msg + ".", Fields: map[string]string{"steps": msg}}
	}
	return order, nil
}

// stepNameRE reports whether name can name a step.
func stepNameRE(name string) bool {
	if name == "" || len(name) > stepNameMax {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// CreateWorkflow checks the run (CheckWorkflow) and stores it with all its steps in one
// transaction: a step without dependencies is enqueued (or scheduled), the others await them.
// It sets wf's ID, state and counts, and each step's job.
func (s workflowStore) CreateWorkflow(ctx context.Context, wf *Workflow, steps []NewStep, now time.Time) error {
	order, err := CheckWorkflow(wf.Name, steps)
	if err != nil {
		return err
	}
	now = now.UTC().Truncate(time.Microsecond)
	made, err := expandSteps(order, wf.Name)
	if err != nil {
		return err
	}
	total := 0                                 // the run's jobs, a fan-out stored as one counted as its items
	jobsOf := make(map[string]int, len(order)) // how many jobs each step is stored as
	for _, m := range made {
		jobsOf[m.step.Name]++
		total += m.counts
	}
	wf.ID, wf.State, wf.StepsTotal, wf.StepsLeft, wf.StepsFailed = 0, WorkflowRunning, total, total, 0
	wf.CreatedAt, wf.FinishedAt, wf.CreatedBy = now, nil, headerText(wf.CreatedBy, 128)
	jobs := make([]*Job, len(made))
	for i, m := range made {
		j := m.job
		if j.ContinueOn == "" {
			j.ContinueOn = ContinueOnSuccess
		}
		j.ParentID, j.waits = nil, 0
		for _, d := range m.step.DependsOn {
			j.waits += jobsOf[d]
		}
		jobs[i] = j
	}
	return s.change(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(wf).Error; err != nil {
			return fmt.Errorf("models: create workflow %q: %w", wf.Name, err)
		}
		dups, err := (jobStore{s.conn}).InsertJobsTx(tx, jobs, now)
		if err != nil {
			return err
		}
		if len(dups) > 0 { // a unique key holds for a step as for any job: the run is refused
			st := made[dups[0]].step
			return &Error{Code: ECONFLICT, Message: fmt.Sprintf("The workflow was not started: step %s's unique key is taken by job %d.", st.Name, jobs[dups[0]].ID),
				Fields: map[string]string{"steps." + st.Name: fmt.Sprintf("Its unique key is taken by job %d.", jobs[dups[0]].ID)}}
		}
		ids := make(map[string][]int64, len(order))
		rows := make([]WorkflowStep, len(made))
		var deps []jobDep
		for i, m := range made {
			st := m.step
			ids[st.Name] = append(ids[st.Name], jobs[i].ID)
			rows[i] = WorkflowStep{JobID: jobs[i].ID, WorkflowID: wf.ID, Step: st.Name, DepsLeft: jobs[i].waits, Item: m.item,
				ForEach: m.forEach, Templated: HasTemplates(jobs[i].Args)}
			for _, d := range st.DependsOn {
				for _, parent := range ids[d] {
					deps = append(deps, jobDep{ParentID: parent, JobID: jobs[i].ID})
				}
			}
		}
		if err := insertRows(s.conn, tx, rows); err != nil {
			return fmt.Errorf("models: store the steps of workflow %q: %w", wf.Name, err)
		}
		if len(deps) > 0 {
			if err := insertRows(s.conn, tx, deps); err != nil {
				return fmt.Errorf("models: store the graph of workflow %q: %w", wf.Name, err)
			}
		}
		noteChange(ctx, fmt.Sprintf("workflow %d", wf.ID), map[string]any{"name": wf.Name, "steps": len(order)})
		return nil
	})
}

// GetWorkflow returns the run with this id, or an ENOTFOUND error.
func (s workflowStore) GetWorkflow(ctx context.Context, id int64) (*Workflow, error) {
	var wf Workflow
	err := s.rdb.WithContext(ctx).Take(&wf, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENOTFOUND, "There is no workflow %d.", id)
	}
	if err != nil {
		return nil, fmt.Errorf("models: get workflow %d: %w", id, err)
	}
	return &wf, nil
}

// StepOf is a step of a run with its job's state, for showing the run.
type StepOf struct {
	WorkflowStep
	State JobState
	// StartedAt and FinishedAt are its job's (WorkflowSteps only): how long it ran, or runs.
	StartedAt, FinishedAt *time.Time
	// DependsOn names the steps it waits for.
	DependsOn []string `gorm:"-"`
}

// WorkflowSteps returns the steps of the run, in the order they were stored (each after the
// steps it depends on), with their jobs' states, times and dependencies.
func (s workflowStore) WorkflowSteps(ctx context.Context, id int64) ([]StepOf, error) {
	steps, err := stepJobs(s.rdb.WithContext(ctx), id)
	if err != nil {
		return nil, err
	}
	byJob := make(map[int64]int, len(steps))
	ids := make([]int64, len(steps))
	for i, st := range steps {
		byJob[st.JobID], ids[i] = i, st.JobID
	}
	for chunk := range slices.Chunk(ids, 500) {
		var deps []jobDep
		if err := s.rdb.WithContext(ctx).Where("job_id IN ?", chunk).Order("parent_id").Find(&deps).Error; err != nil {
			return nil, fmt.Errorf("models: graph of workflow %d: %w", id, err)
		}
		for _, d := range deps {
			c := &steps[byJob[d.JobID]]
			c.DependsOn = append(c.DependsOn, steps[byJob[d.ParentID]].Step)
		}
	}
	// The items a fan-out was expanded into wait for what its first did (they are stored with
	// no edge in: their dependencies had ended).
	first := map[string][]string{}
	for _, st := range steps {
		if st.Item != nil && *st.Item == 0 {
			first[st.Step] = st.DependsOn
		}
	}
	for i := range steps {
		if st := &steps[i]; st.Item != nil && *st.Item > 0 && st.DependsOn == nil {
			st.DependsOn = first[st.Step]
		}
	}
	return steps, nil
}
