package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kilnhq/kiln/models"
)

// Workflow is a run of named steps to start with Engine.StartWorkflow: each step is a job of
// any kind that waits for the steps it depends on, and runs once they all ended as it needs
// (succeeded, by default; OnFailure; OnAnyFinalState).
//
//	wf := jobs.NewWorkflow("nightly backup").
//		Add(jobs.Step{Name: "dump", Kind: "db.dump", Args: DumpArgs{DB: "main"}}).
//		Add(jobs.Step{Name: "upload", Kind: "s3.upload", DependsOn: []string{"dump"}}).
//		Add(jobs.Step{Name: "check", Kind: "db.check", DependsOn: []string{"dump"}}).
//		Add(jobs.Step{Name: "tell", Kind: "email.send", DependsOn: []string{"upload", "check"},
//			Opts: []jobs.Option{jobs.OnAnyFinalState()}})
//	run, err := engine.StartWorkflow(ctx, wf)
type Workflow struct {
	name  string
	steps []Step
	// startJob is the job whose work the run is (StartedBy); 0: none.
	startJob int64
}

// Step is one step of a Workflow.
type Step struct {
	// Name names the step in its run: 1 to 100 letters, digits, '.', '_' or '-'.
	Name string
	// Kind and Args are its job's, as Enqueue takes them.
	Kind string
	Args any
	// DependsOn names the steps it waits for.
	DependsOn []string
	// Opts are its job's options (Queue, Priority, MaxAttempts, Timeout, Tags, RunAt, ...),
	// and when it runs: OnFailure or OnAnyFinalState.
	Opts []Option
	// ForEach makes the step a fan-out: one job per item, and the steps that depend on it wait
	// for all of them. It is a list (a slice, or json.RawMessage of a JSON list), or a string
	// template of a list in the result of a step it depends on ("${steps.list.result.files}"),
	// expanded when that step ends. Args use the item as ${item} or ${item.PATH}.
	ForEach any
}

// NewWorkflow begins a workflow named name (1 to 200 characters; runs of one name are told
// apart by their ids).
func NewWorkflow(name string) *Workflow { return &Workflow{name: name} }

// Add adds steps to the workflow, and returns it.
func (w *Workflow) Add(steps ...Step) *Workflow {
	w.steps = append(w.steps, steps...)
	return w
}

// StartedBy marks the run as the work of job jobID, a job that starts workflows (such as the
// built-in workflow.start): StartWorkflow starts at most one run for that job, so that the job,
// run again after its server died, finds the run it started instead of starting a second.
func (w *Workflow) StartedBy(jobID int64) *Workflow {
	w.startJob = jobID
	return w
}

// StartWorkflow checks the workflow (its graph: no cycle, no unknown step; each step's kind and
// arguments, as Enqueue does) and stores it with all its steps in one transaction. The steps
// that depend on nothing start at once. An error names the step it is about. A workflow
// StartedBy a job that started one already returns that run, and starts none.
func (e *Engine) StartWorkflow(ctx context.Context, w *Workflow) (*models.Workflow, error) {
	if w.startJob != 0 {
		if run, err := e.store.Workflows.WorkflowStartedBy(ctx, w.startJob); run != nil || err != nil {
			return run, err
		}
	}
	steps, err := e.workflowSteps(ctx, w)
	if err != nil {
		return nil, err
	}
	wf := &models.Workflow{Name: w.name}
	if w.startJob != 0 {
		wf.StartJobID = &w.startJob
	}
	if who, _ := ctx.Value(actorKey{}).(string); who != "" {
		wf.CreatedBy = who
	}
	if err := e.store.Workflows.CreateWorkflow(ctx, wf, steps, time.Now()); err != nil {
		if w.startJob != 0 { // the job's run may have been stored meanwhile, by its other attempt: the unique key is taken
			if run, lookErr := e.store.Workflows.WorkflowStartedBy(ctx, w.startJob); run != nil && lookErr == nil {
				return run, nil
			}
		}
		return nil, err
	}
	jobs := make([]*models.Job, len(steps))
	for i, st := range steps {
		jobs[i] = st.Job
	}
	e.wakeReady(jobs)
	return wf, nil
}

// newStep builds the job of a step. Its arguments are checked as an enqueue's are, for each of
// a fan-out's items; arguments that use a step's result are whole only when the step is
// released, and are checked as its job runs.
func (e *Engine) newStep(ctx context.Context, st Step) (models.NewStep, error) {
	ns := models.NewStep{Name: st.Name, DependsOn: st.DependsOn}
	raw, err := marshalArgs(st.Args)
	if err != nil {
		return ns, err
	}
	switch fe := st.ForEach.(type) {
	case nil:
	case string:
		ns.ForEach = fe
	default:
		list, err := marshalArgs(fe)
		if err == nil {
			ns.Items, err = models.ItemsOf(list)
		}
		if err != nil {
			return ns, &models.Error{Code: models.EINVALID, Message: "for_each is a list, or a template of one.", Fields: map[string]string{"for_each": err.Error()}}
		}
	}
	checks := []string{raw}
	if k, ok := e.kind(st.Kind); !ok || k.check == nil {
		checks = nil // nothing to check each item's arguments with: CreateWorkflow fills them once
	} else if ns.Items != nil {
		checks = checks[:0]
		fill, err := models.ItemFiller(raw)
		for _, item := range ns.Items {
			var a string
			if err == nil {
				a, err = fill(item)
			}
			if err != nil {
				break // CheckWorkflow names the template and the item
			}
			checks = append(checks, a)
		}
	}
	for i, a := range checks {
		if models.HasTemplates(a) {
			break
		}
		if err := e.CheckArgs(ctx, st.Kind, a); err != nil {
			var me *models.Error
			if ns.Items != nil && errors.As(err, &me) { // the message names the item; its fields stay the step's args
				return ns, &models.Error{Code: me.Code, Message: fmt.Sprintf("item %d: %s", i, me.Message), Fields: me.Fields}
			}
			if ns.Items != nil {
				return ns, fmt.Errorf("item %d: %w", i, err)
			}
			return ns, err
		}
	}
	ns.Job, err = e.jobOf(st.Kind, raw, st.Opts, "on any final state")
	return ns, err
}

// StepResult decodes into a T the result of step, a step of the workflow run that job (a
// step too, usually the one the worker runs) belongs to: for a fan-out, the list of its items'
// results, in their order (T a slice). The step must have succeeded; it is best one that job
// depends on, so that it has. Call it from a worker: ctx is its context.
//
//	paths, err := jobs.StepResult[DumpResult](ctx, job, "dump")
func StepResult[T any](ctx context.Context, job *models.Job, step string) (T, error) {
	var v T
	s := stateOf(ctx)
	if s == nil {
		return v, invalid(fmt.Errorf("%w: StepResult outside a running job", ErrInvalidOption))
	}
	raw, err := s.e.store.Workflows.StepResult(ctx, job.ID, step)
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return v, fmt.Errorf("jobs: the result of step %s is not a %T: %w", step, v, err)
	}
	return v, nil
}

// CheckWorkflow checks the workflow as StartWorkflow does (its graph; each step's kind,
// arguments and options) and stores nothing: for a job or a schedule that will start it later,
// refused now rather than when it runs.
func (e *Engine) CheckWorkflow(ctx context.Context, w *Workflow) error {
	steps, err := e.workflowSteps(ctx, w)
	if err != nil {
		return err
	}
	_, err = models.CheckWorkflow(w.name, steps)
	return err
}

// workflowSteps builds the jobs of the workflow's steps, as Enqueue would; an error names the
// step.
func (e *Engine) workflowSteps(ctx context.Context, w *Workflow) ([]models.NewStep, error) {
	steps := make([]models.NewStep, len(w.steps))
	for i, st := range w.steps {
		ns, err := e.newStep(ctx, st)
		if err != nil {
			return nil, stepError(st.Name, err)
		}
		steps[i] = ns
	}
	return steps, nil
}

// stepError says which step err, an error about a job, is about: its message and fields name
// the step, and err stays in its chain (ErrInvalidOption, ...).
func stepError(step string, err error) error {
	fields := map[string]string{}
	msg := err.Error()
	var me *models.Error
	code := models.EINVALID
	if errors.As(err, &me) {
		code, msg = me.Code, me.Message
		for k, v := range me.Fields {
			fields["steps."+step+"."+k] = v
		}
	}
	if len(fields) == 0 {
		fields["steps."+step] = msg
	}
	return &stepErr{named: &models.Error{Code: code, Message: "Step " + step + ": " + msg, Fields: fields}, cause: err}
}

// stepErr is an error about a workflow's step: named says it of the step, cause is the job's.
type stepErr struct {
	named *models.Error
	cause error
}

func (e *stepErr) Error() string   { return e.named.Error() }
func (e *stepErr) Unwrap() []error { return []error{e.named, e.cause} }

// CancelWorkflow stops a running run: its unfinished steps are cancelled (those running, here
// or on another node, have their contexts cancelled) and none starts after.
func (e *Engine) CancelWorkflow(ctx context.Context, id int64) error {
	stopped, err := e.store.Workflows.CancelWorkflow(ctx, id, "workflow cancelled by "+actor(ctx))
	if err != nil {
		return err
	}
	for _, j := range stopped {
		e.afterStop(j, nil)
	}
	return nil
}

// RetryWorkflow runs again the steps of an ended run that failed, were cancelled or skipped,
// keeping the steps that succeeded.
func (e *Engine) RetryWorkflow(ctx context.Context, id int64) error {
	queues, err := e.store.Workflows.RetryWorkflow(ctx, id, "workflow retried by "+actor(ctx))
	if err != nil {
		return err
	}
	if len(queues) > 0 { // none: every step it retries waits for another
		e.wake(queues...)
	}
	return nil
}
