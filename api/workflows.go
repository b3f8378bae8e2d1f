package api

import (
	"encoding/json"
	"time"
)

// WorkflowStepSpec is a step of a workflow to start: a job (as an enqueue takes it), its name,
// the steps it depends on and when it runs. Its args may use the results of the steps it
// depends on, ${steps.NAME.result} or ${steps.NAME.result.PATH} (keys and list indexes joined
// by dots), filled in when it is released: a template that is the whole string becomes the
// value, of its own type; one inside a longer string, its text.
type WorkflowStepSpec struct {
	Name      string          `json:"name" minLength:"1" maxLength:"100" pattern:"^[A-Za-z0-9._-]+$" doc:"The step's name in its workflow: letters, digits, '.', '_' or '-'."`
	DependsOn []string        `json:"depends_on,omitempty" maxItems:"10000" doc:"The names of the steps it waits for."`
	ForEach   json.RawMessage `json:"for_each,omitempty" doc:"Makes the step a fan-out: one job per item, and the steps that depend on it wait for all of them. A list (of at most 10,000 items), or a string template of a list in the result of a step it depends on, such as \"${steps.list.result.files}\", expanded when that step ends. The step's args use the item as ${item} or ${item.PATH}."`
	On        string          `json:"on,omitempty" enum:"succeeded,failed,finished" doc:"When it runs, once every step it depends on ended: succeeded (the default: they all succeeded), failed (one of them did not succeed: a cleanup, a \"tell me it failed\"), finished (whatever they did). Otherwise it is skipped."`
	JobSpec
}

// WorkflowSpec is a workflow to start.
type WorkflowSpec struct {
	Name  string             `json:"name" minLength:"1" maxLength:"200" doc:"The workflow's name; its runs are told apart by their ids."`
	Steps []WorkflowStepSpec `json:"steps" minItems:"1" maxItems:"10000"`
}

// WorkflowStep is a job of a run's step as the API shows it: one per step, or per item of a
// fan-out.
type WorkflowStep struct {
	Name        string   `json:"name"`
	JobID       int64    `json:"job_id" doc:"The step's job: GET /v1/jobs/{id}."`
	State       string   `json:"state" doc:"Its job's state; skipped: the steps it depends on did not end as it needs."`
	DependsOn   []string `json:"depends_on"`
	ItemsToCome int      `json:"items_to_come,omitempty" doc:"For a fan-out over a list that waits for its dependencies: the jobs it will be expanded into when they end (it is one job until then)."`
	Item        *int     `json:"item,omitempty" doc:"For a fan-out's job (one per item of its for_each): its item's index. A fan-out over a result not yet known is one job, without item, until it is expanded."`
}

// Workflow is a run of a workflow.
type Workflow struct {
	ID          int64          `json:"id"`
	Name        string         `json:"name"`
	State       string         `json:"state" enum:"running,succeeded,failed,cancelled" doc:"failed: a step failed or was cancelled (steps that run on failure ran)."`
	StepsTotal  int            `json:"steps_total"`
	StepsLeft   int            `json:"steps_left" doc:"Steps not yet in a final state."`
	StepsFailed int            `json:"steps_failed" doc:"Steps that failed or were cancelled."`
	CreatedBy   string         `json:"created_by,omitempty"`
	CreatedAt   time.Time      `json:"created_at"`
	FinishedAt  *time.Time     `json:"finished_at,omitempty"`
	Steps       []WorkflowStep `json:"steps"`
}
