package models

import (
	"encoding/json"
	"fmt"
	"strings"
)

// A fan-out is a step with for_each: one job per item of a list, given when the run is made
// (NewStep.Items) or a dependency's result (NewStep.ForEach, a template expanded when that
// dependency ends). The steps that depend on it wait for all its jobs. Bounds keep one run
// from becoming a million rows by accident.
const (
	// maxItems bounds one fan-out's items.
	maxItems = 10000
	// maxRunJobs bounds a run's jobs, fan-outs expanded.
	maxRunJobs = 50000
	// maxRunEdges bounds a run's graph, one edge per job and job it waits for: a fan-out that
	// depends on another fan-out waits for each of its jobs.
	maxRunEdges = 200000
)

// checkTemplates checks a step's templates and fan-out when the run is made: the steps whose
// results it uses are among those it depends on, ${item} is used only by a fan-out, its list is
// 1 to maxItems items or one template of a dependency's result. It returns why not, or "".
func checkTemplates(st NewStep) string {
	deps := make(map[string]bool, len(st.DependsOn))
	for _, d := range st.DependsOn {
		deps[d] = true
	}
	fanOut := st.Items != nil || st.ForEach != ""
	switch {
	case st.Items != nil && st.ForEach != "":
		return fmt.Sprintf("step %q: for_each is a list or a template, not both", st.Name)
	case st.Items != nil && (len(st.Items) == 0 || len(st.Items) > maxItems):
		return fmt.Sprintf("step %q: for_each has %d items; a fan-out has 1 to %d", st.Name, len(st.Items), maxItems)
	case fanOut && st.Job.UniqueKey != nil:
		return fmt.Sprintf("step %q: a fan-out's jobs share their arguments' shape, not a unique key; leave the unique key out", st.Name)
	}
	if st.ForEach != "" {
		refs, err := templatesIn(st.ForEach)
		switch {
		case err != nil:
			return fmt.Sprintf("step %q: for_each: %v", st.Name, err)
		case len(refs) != 1 || refs[0].Text != st.ForEach || refs[0].Step == "":
			return fmt.Sprintf("step %q: for_each is a list, or one template of a result, ${steps.NAME.result...}, not %q", st.Name, st.ForEach)
		case !deps[refs[0].Step]:
			return fmt.Sprintf("step %q: for_each uses the result of %q, which is not one of the steps it depends on", st.Name, refs[0].Step)
		}
	}
	refs, err := templatesIn(st.Job.Args)
	if err != nil {
		return fmt.Sprintf("step %q: args: %v", st.Name, err)
	}
	for _, r := range refs {
		switch {
		case r.Step == "" && !fanOut:
			return fmt.Sprintf("step %q: args use %s, but the step has no for_each", st.Name, r.Text)
		case r.Step != "" && !deps[r.Step]:
			return fmt.Sprintf("step %q: args use %s, but %q is not one of the steps it depends on", st.Name, r.Text, r.Step)
		}
	}
	return ""
}

// checkRunSize checks the run's jobs and edges, fan-outs given as lists expanded, against the
// bounds; order is the steps checked, each after those it depends on.
func checkRunSize(order []NewStep) string {
	jobsOf := make(map[string]int, len(order))
	total, edges := 0, 0
	for _, st := range order {
		n := 1
		if st.Items != nil {
			n = len(st.Items)
		}
		jobsOf[st.Name] = n
		total += n
		for _, d := range st.DependsOn {
			edges += n * jobsOf[d]
		}
		switch {
		case total > maxRunJobs:
			return fmt.Sprintf("the run would have more than %d jobs, from step %q on", maxRunJobs, st.Name)
		case edges > maxRunEdges:
			return fmt.Sprintf("step %q: the run would wait on more than %d pairs of jobs (a fan-out waiting for a fan-out waits for each of its jobs); put a step between them", st.Name, maxRunEdges)
		}
	}
	return ""
}

// stepJob is one job of a run to store: its step, its item in a fan-out, and, for a fan-out
// stored as one job until its dependencies end, its list (forEach) and how many jobs it will be
// (counts).
type stepJob struct {
	step    *NewStep
	job     *Job
	item    *int
	forEach string
	counts  int
}

// expandSteps makes the jobs of the steps (in order): one for a step; for a fan-out over a list
// with no dependency, one per item, each with its item filled into its arguments; for one over
// a list that waits for dependencies, one job holding the list, expanded when they end as a
// fan-out over a result is (it is then as cheap as enqueueing its items: no job is stored
// awaiting, then rewritten). Each item's arguments are filled here, to refuse a bad one now.
func expandSteps(order []NewStep, run string) ([]stepJob, error) {
	var out []stepJob
	for k := range order {
		st := &order[k]
		note := fmt.Sprintf("step %s of workflow %s", st.Name, run)
		if st.Items == nil {
			st.Job.Note = note
			out = append(out, stepJob{step: st, job: st.Job, forEach: st.ForEach, counts: 1})
			continue
		}
		fill, err := itemFiller(st.Job.Args)
		if err != nil {
			return nil, &Error{Code: EINVALID, Message: fmt.Sprintf("The workflow was not started: step %s: %v.", st.Name, err),
				Fields: map[string]string{"steps." + st.Name + ".args": err.Error()}}
		}
		lazy := len(st.DependsOn) > 0
		for i, raw := range st.Items {
			item, err := decodeJSON(string(raw))
			if err != nil {
				return nil, &Error{Code: EINVALID, Message: fmt.Sprintf("The workflow was not started: step %s: item %d is not JSON.", st.Name, i),
					Fields: map[string]string{"steps." + st.Name + ".for_each": fmt.Sprintf("Item %d is not JSON.", i)}}
			}
			args, err := fill(item)
			if err != nil {
				msg := fmt.Sprintf("item %d: %v", i, err)
				return nil, &Error{Code: EINVALID, Message: fmt.Sprintf("The workflow was not started: step %s: %s.", st.Name, msg),
					Fields: map[string]string{"steps." + st.Name + ".args": msg}}
			}
			if lazy {
				continue
			}
			j := st.Job
			if i > 0 {
				c := *st.Job
				j = &c
			}
			j.Args, j.Note = args, fmt.Sprintf("%s, item %d", note, i)
			out = append(out, stepJob{step: st, job: j, item: &i, counts: 1})
		}
		if lazy {
			st.Job.Note = note
			out = append(out, stepJob{step: st, job: st.Job, forEach: listText(st.Items), counts: len(st.Items)})
		}
	}
	return out, nil
}

// listText is items as one JSON list.
func listText(items []json.RawMessage) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(it)
	}
	b.WriteByte(']')
	return b.String()
}

// literalList reports whether a step's for_each column holds its list itself (a fan-out over a
// list, not yet expanded) rather than a template of one.
func literalList(forEach string) bool { return strings.HasPrefix(forEach, "[") }

// ItemsOf makes the items of a fan-out over a list from any JSON list.
func ItemsOf(list string) ([]json.RawMessage, error) {
	var items []json.RawMessage
	if err := json.Unmarshal([]byte(list), &items); err != nil {
		return nil, fmt.Errorf("for_each is not a list: %w", err)
	}
	if items == nil {
		items = []json.RawMessage{}
	}
	return items, nil
}

// ItemFiller reads a fan-out's arguments (JSON) once and returns what fills an item (JSON) into
// their ${item} templates, leaving those of steps' results; for checking each item's arguments
// as an enqueue would.
func ItemFiller(args string) (func(item json.RawMessage) (string, error), error) {
	fill, err := itemFiller(args)
	if err != nil {
		return nil, err
	}
	return func(item json.RawMessage) (string, error) {
		v, err := decodeJSON(string(item))
		if err != nil {
			return "", fmt.Errorf("the item is not JSON: %w", err)
		}
		return fill(v)
	}, nil
}

// counts is how many of its run's jobs the step's job stands for: a fan-out over a list, not
// yet expanded, is counted as its items (it ends as them all when it ends unexpanded: skipped,
// failed, cancelled); any other job as one.
func (st WorkflowStep) counts() int {
	if st.Item != nil || !literalList(st.ForEach) {
		return 1
	}
	var items []json.RawMessage
	if json.Unmarshal([]byte(st.ForEach), &items) != nil || len(items) == 0 {
		return 1
	}
	return len(items)
}

// ItemsToCome is, for a fan-out over a list not yet expanded, how many jobs it will be; for the
// first item of a fan-out being stored, how many are still to be; 0 for any other step.
func (st WorkflowStep) ItemsToCome() int {
	if partlyStored(st.ForEach) {
		return restCount(st.ForEach)
	}
	if st.Item != nil || !literalList(st.ForEach) {
		return 0
	}
	return st.counts()
}
