package builtin

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/kilnhq/kiln/api"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// The one reading of the API's job and workflow bodies into the engine's terms: the API's
// enqueue and POST /v1/workflows call it, and so does the workflow.start kind, whose arguments
// are that body, when it checks a job or a schedule and when it starts the run.

// JobOptions reads a JobSpec's options (queue, priority, attempts, timeout, run_at or delay,
// unique key, tags) into the engine's. What is wrong is a FieldError per field, named as in the
// JSON (timeout, delay); the kind and arguments are the caller's.
func JobOptions(b api.JobSpec) ([]jobs.Option, []*jobs.FieldError) {
	var opts []jobs.Option
	var bad []*jobs.FieldError
	refuse := func(field, msg string) { bad = append(bad, &jobs.FieldError{Field: field, Message: msg}) }
	if b.Queue != "" {
		opts = append(opts, jobs.Queue(b.Queue))
	}
	if b.Priority != nil {
		opts = append(opts, jobs.Priority(*b.Priority))
	}
	if b.MaxAttempts != nil {
		opts = append(opts, jobs.MaxAttempts(*b.MaxAttempts))
	}
	if b.Timeout != "" {
		if d, err := time.ParseDuration(b.Timeout); err != nil || d <= 0 {
			refuse("timeout", "A positive Go duration, such as 30s or 5m.")
		} else {
			opts = append(opts, jobs.Timeout(d))
		}
	}
	switch {
	case b.RunAt != nil && b.Delay != "":
		refuse("delay", "Give run_at or delay, not both.")
	case b.RunAt != nil:
		opts = append(opts, jobs.RunAt(*b.RunAt))
	case b.Delay != "": // from now: for a step of workflow.start, from when its job runs
		if d, err := time.ParseDuration(b.Delay); err != nil || d < 0 {
			refuse("delay", "A Go duration that isn't negative, such as 90s or 2h.")
		} else {
			opts = append(opts, jobs.RunAt(time.Now().Add(d)))
		}
	}
	if b.UniqueKey != "" { // checked by the engine, which names the field
		opts = append(opts, jobs.UniqueKey(b.UniqueKey))
	}
	if len(b.Tags) > 0 {
		opts = append(opts, jobs.Tags(b.Tags...))
	}
	return opts, bad
}

// JobArgs is a JobSpec's arguments as Enqueue takes them: nil when it gives none.
func JobArgs(b api.JobSpec) any {
	if len(b.Args) == 0 {
		return nil
	}
	return b.Args
}

// WorkflowFromSpec reads a WorkflowSpec into the workflow StartWorkflow takes. What is wrong
// with a step's options is a FieldError per field, named by its place in the spec
// (steps[0].timeout); the graph, kinds and arguments are checked by the engine (StartWorkflow,
// CheckWorkflow), whose errors StepsAt names the same way.
func WorkflowFromSpec(spec api.WorkflowSpec) (*jobs.Workflow, []*jobs.FieldError) {
	wf := jobs.NewWorkflow(spec.Name)
	var bad []*jobs.FieldError
	for i, st := range spec.Steps {
		opts, optsBad := JobOptions(st.JobSpec)
		for _, fe := range optsBad {
			bad = append(bad, &jobs.FieldError{Field: stepPlace(i) + "." + fe.Field, Message: fe.Message})
		}
		switch st.On {
		case models.ContinueOnFailure:
			opts = append(opts, jobs.OnFailure())
		case models.ContinueOnFinish:
			opts = append(opts, jobs.OnAnyFinalState())
		}
		wf.Add(jobs.Step{Name: st.Name, Kind: st.Kind, Args: JobArgs(st.JobSpec), DependsOn: st.DependsOn, Opts: opts, ForEach: forEachOf(st.ForEach)})
	}
	return wf, bad
}

// stepPlace is the place of the spec's step i: steps[i].
func stepPlace(i int) string { return "steps[" + strconv.Itoa(i) + "]" }

// StepsAt rewrites the fields of err, an error of StartWorkflow or CheckWorkflow that names
// steps by name (steps.dump.args), as the places in spec they are (steps[0].args); a field that
// names no step is put under the step at (-1: none) when err is about that one.
func StepsAt(err error, spec api.WorkflowSpec, at int) error {
	var me *models.Error
	if !errors.As(err, &me) {
		return err
	}
	index := make(map[string]int, len(spec.Steps))
	for i, st := range spec.Steps {
		index[st.Name] = i // of two steps of one name, the second: the one refused
	}
	fields := make(map[string]string, len(me.Fields))
	for k, v := range me.Fields {
		rest, isStep := strings.CutPrefix(k, "steps.")
		switch {
		case isStep:
			name, field, _ := strings.Cut(rest, ".")
			if i, ok := index[name]; ok {
				k = stepPlace(i)
				if field != "" {
					k += "." + field
				}
			}
		case at >= 0:
			k = stepPlace(at) + "." + k
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
