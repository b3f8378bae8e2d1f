package models

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// When a step that uses its dependencies' results is released (in the transaction that ends
// its last dependency), its templates are filled in from those results, and a fan-out over a
// result is expanded into one job per item. A step whose templates can't be filled (a missing
// value, a dependency with no result) fails at once, saying why, as a job would.

// parentResult is the result of a job a released step depends on.
type parentResult struct {
	Child  int64
	Step   string
	Item   *int
	State  JobState
	Result string
}

// filled is what filling the templates of released steps did.
type filled struct {
	// failed are the steps that could not be filled, and why.
	failed map[int64]string
	// empty are the fan-outs over an empty list: nothing to do, they succeed.
	empty []int64
	// queues got the jobs of expanded fan-outs.
	queues []string
}

// fillSteps fills the templates of the ready steps that have some, and expands those that fan
// out over a result, in tx.
func (s *conn) fillSteps(tx *gorm.DB, ready []readyStep, now time.Time) (filled, error) {
	out := filled{failed: map[int64]string{}}
	ids := make([]int64, len(ready))
	for i, r := range ready {
		ids[i] = r.JobID
	}
	parents := map[int64][]parentResult{}
	args := map[int64]string{}
	for chunk := range slices.Chunk(ids, 500) {
		var got []parentResult
		err := tx.Raw(`SELECT jd.job_id AS child, ws.step, ws.item, jobs.state, jobs.result FROM job_deps jd
JOIN workflow_steps ws ON ws.job_id = jd.parent_id JOIN jobs ON jobs.id = jd.parent_id WHERE jd.job_id IN ?`, chunk).Scan(&got).Error
		if err != nil {
			return out, fmt.Errorf("models: results for steps: %w", err)
		}
		for _, p := range got {
			parents[p.Child] = append(parents[p.Child], p)
		}
		var rows []struct {
			ID   int64
			Args string
		}
		if err := tx.Raw("SELECT id, args FROM jobs WHERE id IN ?", chunk).Scan(&rows).Error; err != nil {
			return out, fmt.Errorf("models: arguments of steps: %w", err)
		}
		for _, r := range rows {
			args[r.ID] = r.Args
		}
	}
	var done []int64 // filled: their templates are gone
	for _, r := range ready {
		values := resultsOf(parents[r.JobID])
		filledArgs, err := fillTemplates(args[r.JobID], func(t tmplRef) bool { return t.Step != "" }, values)
		if err != nil {
			out.failed[r.JobID] = "its arguments' templates: " + err.Error()
			continue
		}
		if !r.expands() {
			if err := tx.Exec("UPDATE jobs SET args = ? WHERE id = ?", filledArgs, r.JobID).Error; err != nil {
				return out, fmt.Errorf("models: fill the arguments of job %d: %w", r.JobID, err)
			}
			done = append(done, r.JobID)
			continue
		}
		var list any
		if literalList(r.ForEach) { // a list given when the run was made
			list, err = decodeJSON(r.ForEach)
		} else {
			ref, _ := parseTemplate(strings.TrimSuffix(strings.TrimPrefix(r.ForEach, "${"), "}")) // checked when made
			list, err = values(ref)
		}
		if err != nil {
			out.failed[r.JobID] = "for_each: " + err.Error()
			continue
		}
		items, ok := list.([]any)
		switch {
		case !ok:
			out.failed[r.JobID] = fmt.Sprintf("for_each: %s is a %s, not a list", r.ForEach, jsonType(list))
			continue
		case len(items) > maxItems:
			out.failed[r.JobID] = fmt.Sprintf("for_each: %s has %d items; a fan-out has at most %d", r.ForEach, len(items), maxItems)
			continue
		case len(items) == 0:
			out.empty = append(out.empty, r.JobID)
			continue
		}
		why, queues, err := s.expand(tx, r, filledArgs, items, now)
		if err != nil {
			return out, err
		}
		if why != "" {
			out.failed[r.JobID] = why
		}
		out.queues = append(out.queues, queues...)
	}
	for chunk := range slices.Chunk(done, 500) {
		if err := tx.Exec("UPDATE workflow_steps SET templated = ? WHERE job_id IN ?", false, chunk).Error; err != nil {
			return out, fmt.Errorf("models: fill the arguments of steps: %w", err)
		}
	}
	return out, nil
}

// resultsOf gives the templates of a step the results of its dependencies: a step's result,
// or a fan-out's list of its items' results in their order.
func resultsOf(parents []parentResult) templateValues {
	return func(t tmplRef) (any, error) {
		var mine []parentResult
		for _, p := range parents {
			if p.Step == t.Step {
				mine = append(mine, p)
			}
		}
		if len(mine) == 0 { // checked when made; a run made before is told plainly
			return nil, fmt.Errorf("%s: %q is not a step this one depends on", t.Text, t.Step)
		}
		what := t.Step + "'s result"
		decode := func(p parentResult) (any, error) {
			if p.State != JobSucceeded {
				return nil, fmt.Errorf("%s: %s ended %s, with no result", t.Text, t.Step, p.State)
			}
			if p.Result == "" {
				return nil, nil
			}
			v, err := decodeJSON(p.Result)
			if err != nil {
				return nil, fmt.Errorf("%s: %s is not JSON", t.Text, what)
			}
			return v, nil
		}
		var v any
		if mine[0].Item == nil {
			r, err := decode(mine[0])
			if err != nil {
				return nil, err
			}
			v = r
		} else {
			slices.SortFunc(mine, func(a, b parentResult) int { return *a.Item - *b.Item })
			list := make([]any, len(mine))
			for i, p := range mine {
				r, err := decode(p)
				if err != nil {
					return nil, err
				}
				list[i] = r
			}
			v = list
		}
		val, err := valueAt(v, t.Path, what)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.Text, err)
		}
		return val, nil
	}
}

// expand makes a fan-out, r, its filled arguments and its items, into one job per item: r
// itself is the first, the next ones up to fanOutFirst are stored ready to run, and the rest
// are kept on r's row (fanOutRest) and stored a chunk at a time once this commits
// (StoreFanOuts), so that its first items run while the others are stored, as a plain
// enqueue's do. The steps that depend on r wait for every item from now on. It returns why it
// can't (too big, an item's arguments), or the queues that got jobs.
func (s *conn) expand(tx *gorm.DB, r readyStep, args string, items []any, now time.Time) (string, []string, error) {
	first, children, err := fanOutBase(tx, r.JobID)
	if err != nil {
		return "", nil, err
	}
	var wf Workflow
	if err := tx.Select("id", "steps_total").Take(&wf, r.WorkflowID).Error; err != nil {
		return "", nil, fmt.Errorf("models: workflow %d: %w", r.WorkflowID, err)
	}
	more := len(items) - 1
	counted := literalList(r.ForEach) // a list given when the run was made: its items are counted
	switch {
	case !counted && wf.StepsTotal+more > maxRunJobs:
		return fmt.Sprintf("for_each: %d items would make the run more than %d jobs", len(items), maxRunJobs), nil, nil
	case len(items)*len(children) > maxRunEdges:
		return fmt.Sprintf("for_each: %d items, each waited for by %d jobs, would make more than %d pairs", len(items), len(children), maxRunEdges), nil, nil
	}
	fill, err := itemFiller(args)
	if err != nil {
		return err.Error(), nil, nil
	}
	itemArgs := make([]string, len(items)) // every item's, now: a bad one fails the step before any runs
	for i, item := range items {
		a, err := fill(item)
		if err != nil {
			return fmt.Sprintf("item %d: %v", i, err), nil, nil
		}
		itemArgs[i] = a
	}
	rest := ""
	if len(items) > fanOutFirst {
		rest, err = restOf(args, items[fanOutFirst:], fanOutFirst)
		if err != nil {
			return "", nil, err
		}
	}
	zero := 0
	if err := tx.Exec("UPDATE jobs SET args = ? WHERE id = ?", itemArgs[0], r.JobID).Error; err != nil {
		return "", nil, fmt.Errorf("models: fill the arguments of job %d: %w", r.JobID, err)
	}
	if err := tx.Model(&WorkflowStep{}).Where("job_id = ?", r.JobID).
		Updates(map[string]any{"item": &zero, "for_each": rest, "templated": false}).Error; err != nil {
		return "", nil, fmt.Errorf("models: expand step of job %d: %w", r.JobID, err)
	}
	if more == 0 {
		return "", nil, nil
	}
	for chunk := range slices.Chunk(children, 500) {
		if err := tx.Exec("UPDATE workflow_steps SET deps_left = deps_left + ? WHERE job_id IN ?", more, chunk).Error; err != nil {
			return "", nil, fmt.Errorf("models: count the items of step %s: %w", r.Step, err)
		}
	}
	if !counted {
		if err := tx.Exec("UPDATE workflows SET steps_total = steps_total + ?, steps_left = steps_left + ? WHERE id = ?", more, more, r.WorkflowID).Error; err != nil {
			return "", nil, fmt.Errorf("models: count the items of step %s: %w", r.Step, err)
		}
	}
	if err := s.insertItems(tx, first, r.WorkflowID, r.Step, children, itemArgs[1:min(len(items), fanOutFirst)], 1, now); err != nil {
		return "", nil, err
	}
	if rest != "" {
		s.fanOuts.add([]fanOut{{WorkflowID: r.WorkflowID, Step: r.Step}})
	}
	return "", []string{first.Queue}, nil
}

// insertItems stores the items of a fan-out whose first item is first: one job each, with
// these arguments, numbered from from, ready to run and waited for by children. The jobs are
// enqueued as any job is, their history told by their rows (their step and run show on their
// pages): no event each, as a fan-out of 10,000 would make 10,000. They wait for nothing (what
// first waited for ended), so they have no edge in: a retry of the run makes them wait again for
// what the first waits for (waitLikeFirstItem).
func (s *conn) insertItems(tx *gorm.DB, first *Job, wf int64, step string, children []int64, args []string, from int, now time.Time) error {
	if len(args) == 0 {
		return nil
	}
	copies := make([]*Job, len(args))
	for i := range copies {
		c := *first
		c.ID, c.State, c.RunAt, c.UniqueKey, c.UniqueStates, c.Note = 0, "", now, nil, nil, ""
		c.StartedAt, c.FinishedAt, c.LeaseUntil, c.Result, c.LastError, c.ServerID, c.Runs, c.Rescues = nil, nil, nil, "", "", "", 0, 0
		c.Args = args[i]
		copies[i] = &c
	}
	if _, err := (jobStore{s}).InsertJobsTx(tx, copies, now); err != nil {
		return err
	}
	rows := make([]WorkflowStep, len(copies))
	var edges []jobDep
	for i, c := range copies {
		item := from + i
		rows[i] = WorkflowStep{JobID: c.ID, WorkflowID: wf, Step: step, Item: &item}
		for _, child := range children {
			edges = append(edges, jobDep{ParentID: c.ID, JobID: child})
		}
	}
	if err := insertRows(s, tx, rows); err != nil {
		return fmt.Errorf("models: store the items of step %s: %w", step, err)
	}
	if len(edges) > 0 {
		if err := insertRows(s, tx, edges); err != nil {
			return fmt.Errorf("models: store the graph of step %s: %w", step, err)
		}
	}
	return nil
}

// fillReady fills the templates of the steps among run that have some (fillSteps), and ends at
// once those that can't be filled (failed) and the fan-outs over an empty list (succeeded),
// recording them in ended, for their dependents to be released in turn. It returns the steps
// left to start, and the queues that got the jobs of expanded fan-outs.
func (s *conn) fillReady(tx *gorm.DB, run []int64, byID map[int64]readyStep, now time.Time, counts countDelta,
	ended map[int64]JobState, events *[]JobEvent) ([]int64, []string, error) {
	var todo []readyStep
	for _, id := range run {
		if r := byID[id]; r.Templated || r.expands() {
			todo = append(todo, r)
		}
	}
	if len(todo) == 0 {
		return run, nil, nil
	}
	f, err := s.fillSteps(tx, todo, now)
	if err != nil {
		return nil, nil, err
	}
	end := func(id int64, to JobState, set map[string]any, reason string) error {
		set["state"], set["finished_at"] = to, now
		res := tx.Model(&Job{}).Where("id = ? AND state = ?", id, JobAwaiting).Updates(set)
		if res.Error != nil {
			return fmt.Errorf("models: end step of job %d: %w", id, res.Error)
		}
		if res.RowsAffected == 1 {
			r := byID[id]
			counts.move(r.Queue, r.Kind, JobAwaiting, to, 1)
			ended[id] = to
			*events = append(*events, JobEvent{JobID: id, From: JobAwaiting, To: to, At: now, Reason: reason})
		}
		return nil
	}
	for _, id := range slices.Sorted(maps.Keys(f.failed)) {
		why := f.failed[id]
		if err := end(id, JobFailed, map[string]any{"last_error": truncate(why, JobErrorMax)}, "failed before it ran: "+why); err != nil {
			return nil, nil, err
		}
	}
	for _, id := range f.empty {
		if err := end(id, JobSucceeded, map[string]any{"result": "[]", "progress": 100},
			"for_each is an empty list: nothing to do"); err != nil {
			return nil, nil, err
		}
	}
	left := slices.DeleteFunc(run, func(id int64) bool { _, done := ended[id]; return done })
	return left, f.queues, nil
}

// expands reports whether the step is a fan-out to expand as it is released: not one being
// stored already (a retried first item), whose for_each holds its rest.
func (r readyStep) expands() bool { return r.ForEach != "" && !partlyStored(r.ForEach) }
