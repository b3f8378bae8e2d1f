package builtin

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kilnhq/kiln/api"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// KindWorkflowStart is the built-in kind whose job starts a run of a workflow: its arguments
// are the body POST /v1/workflows takes (api.WorkflowSpec), its result {"workflow_id": N}. A
// recurring entry of the kind starts a run on a schedule, with the schedule's time zone,
// misfire, overlap, pause and trigger.
const KindWorkflowStart = "workflow.start"

// WorkflowStarted is the result of a workflow.start job.
type WorkflowStarted struct {
	// WorkflowID is the run the job started: /dashboard/workflows/{id}, GET /v1/workflows/{id}.
	WorkflowID int64 `json:"workflow_id"`
}

// registerWorkflowStart registers workflow.start on e, which starts its runs and checks its
// arguments.
func registerWorkflowStart(e *jobs.Engine) error {
	_, err := jobs.RegisterChecked(e, KindWorkflowStart, func(ctx context.Context, job *jobs.Job[api.WorkflowSpec]) error {
		return startWorkflow(ctx, e, job)
	}, func(ctx context.Context, spec *api.WorkflowSpec) error {
		return checkWorkflowStart(ctx, e, spec)
	}, jobs.MaxAttempts(5), jobs.Timeout(time.Minute))
	return err
}

// startWorkflow starts the run job's arguments describe, once: the run is marked as the job's
// (StartedBy), so that the job, rescued after its server died and run again, finds the run it
// started and starts no second.
func startWorkflow(ctx context.Context, e *jobs.Engine, job *jobs.Job[api.WorkflowSpec]) error {
	wf, bad := WorkflowFromSpec(job.Args)
	if len(bad) > 0 { // made on a server without the check, or through the store
		return jobs.Permanent(fmt.Errorf("the workflow was not started: %s", bad[0]))
	}
	run, err := e.StartWorkflow(jobs.WithActor(ctx, "job "+strconv.FormatInt(job.ID, 10)), wf.StartedBy(job.ID))
	if err != nil {
		if code := models.ErrorCode(err); code == models.EINVALID || code == models.ECONFLICT {
			return jobs.Permanent(StepsAt(err, job.Args, -1)) // the same spec would be refused again
		}
		return err
	}
	jobs.Logf(ctx, "workflow %s: run %d", run.Name, run.ID)
	return jobs.SetResult(ctx, WorkflowStarted{WorkflowID: run.ID})
}

// checkWorkflowStart refuses, when a workflow.start job or schedule is made, the spec
// POST /v1/workflows would refuse: a step's options, a kind no server knows (unless the step
// allows it), the graph (a cycle, a step depending on none), each step's arguments. Fields are
// named by their place in the spec (steps[0].timeout), and their messages by the step.
func checkWorkflowStart(ctx context.Context, e *jobs.Engine, spec *api.WorkflowSpec) error {
	wf, bad := WorkflowFromSpec(*spec)
	if len(bad) > 0 {
		fields := make(map[string]string, len(bad))
		for _, fe := range bad {
			fields[fe.Field] = fe.Message
		}
		return specError(*spec, &models.Error{Code: models.EINVALID, Message: bad[0].Error(), Fields: fields})
	}
	for i, st := range spec.Steps {
		if st.AllowUnknownKind || models.KindName.Check(st.Kind) != nil { // a bad name: the engine says why
			continue
		}
		known, err := e.KindKnown(ctx, st.Kind)
		if err != nil {
			return fmt.Errorf("builtin: the kinds servers know: %w", err)
		}
		if !known {
			days := int(models.KnownKindsWindow / (24 * time.Hour))
			msg := fmt.Sprintf("No server has registered the kind %q in the last %d days, so no worker would run it; allow_unknown_kind on the step takes it anyway.", st.Kind, days)
			return specError(*spec, &models.Error{Code: models.EINVALID, Message: msg, Fields: map[string]string{stepPlace(i) + ".kind": msg}})
		}
	}
	if err := e.CheckWorkflow(ctx, wf); err != nil {
		return specError(*spec, StepsAt(err, *spec, -1))
	}
	return nil
}

// specError is err, about a workflow.start spec, as a refusal of the job's arguments: its fields
// under args (args.steps[0].timeout, where the API and the forms look for them), each message
// saying which step it is about, since a form shows them all beside one box.
func specError(spec api.WorkflowSpec, err error) error {
	me, ok := err.(*models.Error)
	if !ok {
		return err
	}
	fields := make(map[string]string, len(me.Fields))
	for k, msg := range me.Fields {
		if i, ok := stepIndex(k); ok && i < len(spec.Steps) && !strings.HasPrefix(strings.ToLower(msg), "step ") {
			msg = fmt.Sprintf("Step %s: %s", spec.Steps[i].Name, msg)
		}
		fields["args."+k] = msg
	}
	msg, said := strings.CutPrefix(me.Message, notStarted+": ")
	if !said && strings.HasPrefix(me.Message, notStarted) && len(me.Fields) == 1 { // "not started." with why in its one field
		for _, v := range me.Fields {
			msg = v
		}
	}
	return &models.Error{Code: me.Code, Message: "The arguments of " + KindWorkflowStart + " are not valid: " + msg, Fields: fields}
}

// notStarted begins the engine's refusals of a workflow, which a refusal of the job's
// arguments says in its own words.
const notStarted = "The workflow was not started"

// stepIndex reads i from a field that begins steps[i].
func stepIndex(field string) (int, bool) {
	rest, ok := strings.CutPrefix(field, "steps[")
	if !ok {
		return 0, false
	}
	n, _, ok := strings.Cut(rest, "]")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(n)
	return i, err == nil
}
