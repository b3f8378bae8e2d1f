package models

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// StepNode is a step of a run as its graph shows it: one node, even for a fan-out of
// thousands of jobs, with how many of its jobs are in each state.
type StepNode struct {
	Step string
	// Jobs is how many jobs the step is: 1, or a fan-out's items (FanOut). A fan-out over a
	// result not yet known is one job, waiting (Pending).
	Jobs            int
	FanOut, Pending bool
	// States counts its jobs by state.
	States map[JobState]int
	// JobID is the job a click opens: the first that failed, else the first running, else
	// its first.
	JobID int64
	// StartedAt is when its first job started; FinishedAt when its last ended, once all did.
	StartedAt, FinishedAt *time.Time
	// DependsOn names the steps it waits for.
	DependsOn []string
}

// State is one state that says where the step is: its jobs' when they agree; otherwise
// processing while any is not final, failed when any failed or was cancelled, else succeeded.
func (n StepNode) State() JobState {
	if len(n.States) == 1 {
		for st := range n.States {
			return st
		}
	}
	final, failed := true, false
	for st, c := range n.States {
		if c == 0 {
			continue
		}
		final = final && st.Final()
		failed = failed || failedStep(st)
	}
	switch {
	case !final:
		return JobProcessing
	case failed:
		return JobFailed
	}
	return JobSucceeded
}

// Done is how many of its jobs are in a final state.
func (n StepNode) Done() int {
	d := 0
	for st, c := range n.States {
		if st.Final() {
			d += c
		}
	}
	return d
}

// WorkflowGraph returns the steps of a run, one node each, in the order they were stored
// (each after those it depends on). It reads a count per step and state, and the graph's
// edges once per pair of steps, whatever the fan-outs' sizes.
func (s workflowStore) WorkflowGraph(ctx context.Context, id int64) ([]StepNode, error) {
	db := s.rdb.WithContext(ctx)
	var rows []struct {
		Step    string
		State   JobState
		N       int
		FirstID int64
		Items   int
		ForEach string
	}
	err := db.Raw(`SELECT ws.step, jobs.state, COUNT(*) AS n, MIN(ws.job_id) AS first_id, COUNT(ws.item) AS items, MAX(ws.for_each) AS for_each
FROM workflow_steps ws JOIN jobs ON jobs.id = ws.job_id WHERE ws.workflow_id = ? GROUP BY ws.step, jobs.state`, id).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("models: graph of workflow %d: %w", id, err)
	}
	byStep := map[string]*StepNode{}
	first := map[string]int64{}
	var order []string
	for _, r := range rows {
		n := byStep[r.Step]
		if n == nil {
			n = &StepNode{Step: r.Step, States: map[JobState]int{}}
			byStep[r.Step] = n
			order = append(order, r.Step)
		}
		n.Jobs += r.N
		n.States[r.State] += r.N
		switch {
		case literalList(r.ForEach) && r.Items == 0: // a fan-out over a list, not yet expanded: its items
			c := WorkflowStep{ForEach: r.ForEach}.counts() - 1
			n.Jobs += c
			n.States[r.State] += c
		case partlyStored(r.ForEach): // a fan-out being stored: its items to come wait
			c := restCount(r.ForEach)
			n.Jobs += c
			n.States[JobAwaiting] += c
		}
		n.FanOut = n.FanOut || r.Items > 0 || r.ForEach != ""
		n.Pending = n.Pending || strings.HasPrefix(r.ForEach, "${")
		if f, ok := first[r.Step]; !ok || r.FirstID < f {
			first[r.Step] = r.FirstID
		}
	}
	slices.SortFunc(order, func(a, b string) int { return int(first[a] - first[b]) })
	for _, name := range order {
		byStep[name].JobID = first[name]
	}
	// Which job a click opens, for a fan-out: its first that failed, else its first running.
	for _, want := range []JobState{JobProcessing, JobFailed} { // failed last: it wins
		for _, r := range rows {
			if r.State == want && r.Items > 0 {
				byStep[r.Step].JobID = r.FirstID
			}
		}
	}
	if err := s.stepTimes(ctx, id, byStep); err != nil {
		return nil, err
	}
	var edges []struct{ Parent, Child string }
	err = db.Raw(`SELECT DISTINCT p.step AS parent, c.step AS child FROM workflow_steps p
JOIN job_deps jd ON jd.parent_id = p.job_id JOIN workflow_steps c ON c.job_id = jd.job_id WHERE p.workflow_id = ?`, id).Scan(&edges).Error
	if err != nil {
		return nil, fmt.Errorf("models: graph of workflow %d: %w", id, err)
	}
	for _, e := range edges {
		if n := byStep[e.Child]; n != nil {
			n.DependsOn = append(n.DependsOn, e.Parent)
		}
	}
	out := make([]StepNode, len(order))
	for i, name := range order {
		n := byStep[name]
		slices.SortFunc(n.DependsOn, func(a, b string) int { return int(first[a] - first[b]) })
		out[i] = *n
	}
	return out, nil
}

// stepTimes sets when each step started (its first job) and ended (its last, once all did).
func (s workflowStore) stepTimes(ctx context.Context, id int64, byStep map[string]*StepNode) error {
	db := s.rdb.WithContext(ctx)
	var plain []struct {
		Step                  string
		StartedAt, FinishedAt *time.Time
	}
	err := db.Raw(`SELECT ws.step, jobs.started_at, jobs.finished_at FROM workflow_steps ws JOIN jobs ON jobs.id = ws.job_id
WHERE ws.workflow_id = ? AND ws.item IS NULL`, id).Scan(&plain).Error
	if err != nil {
		return fmt.Errorf("models: times of workflow %d: %w", id, err)
	}
	for _, p := range plain {
		if n := byStep[p.Step]; n != nil && !n.FanOut {
			n.StartedAt, n.FinishedAt = p.StartedAt, p.FinishedAt
		}
	}
	for name, n := range byStep {
		if !n.FanOut || n.Pending {
			continue
		}
		var t []time.Time
		q := db.Table("workflow_steps AS ws").Joins("JOIN jobs ON jobs.id = ws.job_id").Where("ws.workflow_id = ? AND ws.step = ?", id, name)
		if err := q.Session(&gorm.Session{}).Where("jobs.started_at IS NOT NULL").Order("jobs.started_at").Limit(1).Pluck("jobs.started_at", &t).Error; err != nil {
			return fmt.Errorf("models: times of workflow %d: %w", id, err)
		}
		if len(t) > 0 {
			n.StartedAt = &t[0]
		}
		if n.Done() < n.Jobs {
			continue
		}
		t = nil
		if err := q.Session(&gorm.Session{}).Where("jobs.finished_at IS NOT NULL").Order("jobs.finished_at DESC").Limit(1).Pluck("jobs.finished_at", &t).Error; err != nil {
			return fmt.Errorf("models: times of workflow %d: %w", id, err)
		}
		if len(t) > 0 {
			n.FinishedAt = &t[0]
		}
	}
	return nil
}
