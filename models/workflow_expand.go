package models

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/kilnhq/kiln/models/driver"
)

// A fan-out is expanded a chunk at a time: its release stores its first fanOutFirst items, and
// keeps the rest, with the arguments they are filled into, on its first item's row
// (workflow_steps.for_each, a JSON object: fanOutRest). The rest is stored fanOutChunk items a
// transaction (StoreFanOuts), under the first item's row lock, so that two nodes storing at
// once store a chunk each, never the same one twice; a crash leaves the rest where it was.
// Every item is counted from the release on (its run's steps, its dependents' dependencies),
// so nothing after the fan-out starts before its last item ends.
//
// The engine stores on outside its finishes: a finish of items only notes their fan-out
// (fanOutHints), and the engine's loop stores it on once the finish commits; every node also
// looks, at its start and now and then, for fan-outs left half stored by a node that died.
// Chunks stored inside the finishes held each for 20-25 ms on PostgreSQL, and made a workflow
// of a 9,998-item fan-out 1.4-1.6x slower than as many plain jobs (kiln bench --workflow).

// fanOutChunk is how many items of a fan-out a transaction of StoreFanOuts stores; fanOutFirst
// how many its release stores, fewer, so that its first items start sooner (the next chunks
// are stored once the release commits, long before workers run out).
const (
	fanOutChunk = 1000
	fanOutFirst = 250
)

// fanOutRest is the part of a fan-out still to be stored: its items, numbered from Next, and
// the arguments (the step's, its results filled) each is filled into.
type fanOutRest struct {
	Args  string            `json:"args"`
	Items []json.RawMessage `json:"items"`
	Next  int               `json:"next"`
}

// restOf is the for_each of a fan-out's first item while items from next on are to be stored.
func restOf(args string, items []any, next int) (string, error) {
	r := fanOutRest{Args: args, Next: next, Items: make([]json.RawMessage, len(items))}
	for i, it := range items {
		b, err := json.Marshal(it)
		if err != nil {
			return "", fmt.Errorf("models: keep item %d: %w", next+i, err)
		}
		r.Items[i] = b
	}
	b, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("models: keep a fan-out's items: %w", err)
	}
	return string(b), nil
}

// partlyStored reports whether a step's for_each holds the rest of a fan-out being stored.
func partlyStored(forEach string) bool { return strings.HasPrefix(forEach, "{") }

// restCount is how many items a fan-out's for_each has still to store.
func restCount(forEach string) int {
	if !partlyStored(forEach) {
		return 0
	}
	var r fanOutRest
	if json.Unmarshal([]byte(forEach), &r) != nil {
		return 0
	}
	return len(r.Items)
}

// fanOut names a fan-out: its run and step (and, once read, its first item's job).
type fanOut struct {
	WorkflowID int64
	Step       string
	FirstID    int64
}

// storingFanOuts returns which of these fan-outs are being stored, their runs going, with
// their first items (fanOut.FirstID).
func storingFanOuts(tx *gorm.DB, of []fanOut) ([]fanOut, error) {
	var storing []fanOut
	for _, f := range of {
		var got []fanOut
		err := tx.Table("workflow_steps AS p").Joins("JOIN workflows w ON w.id = p.workflow_id").
			Select("p.workflow_id", "p.step", "p.job_id AS first_id").
			Where("p.workflow_id = ? AND p.step = ? AND p.item = 0 AND p.for_each LIKE ? AND w.state = ?", f.WorkflowID, f.Step, "{%", WorkflowRunning).
			Scan(&got).Error // a cancelled run stores no more
		if err != nil {
			return nil, fmt.Errorf("models: fan-outs to store on: %w", err)
		}
		storing = append(storing, got...)
	}
	return storing, nil
}

// continueFanOuts stores the next chunk of each of these fan-outs that is being stored and whose
// run goes on, but for those another transaction is storing. It returns the queues that got
// jobs, and the fan-outs it left items of to store.
func (s *conn) continueFanOuts(tx *gorm.DB, of []fanOut) (queues []string, more []fanOut, err error) {
	storing, err := storingFanOuts(tx, of)
	if err != nil || len(storing) == 0 {
		return nil, nil, err
	}
	firsts := make([]int64, len(storing))
	for i, f := range storing {
		firsts[i] = f.FirstID
	}
	slices.Sort(firsts)
	var rows []WorkflowStep
	if err := s.drv.LockRows(tx.Model(&WorkflowStep{}), "UPDATE "+driver.SkipLocked).Where("job_id IN ?", firsts).Order("job_id").Find(&rows).Error; err != nil {
		return nil, nil, fmt.Errorf("models: lock fan-outs: %w", err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, p := range rows {
		if !partlyStored(p.ForEach) { // stored meanwhile, by another transaction
			continue
		}
		q, left, err := s.storeChunk(tx, p, now)
		if err != nil {
			return nil, nil, err
		}
		queues = append(queues, q)
		if left {
			more = append(more, fanOut{WorkflowID: p.WorkflowID, Step: p.Step})
		}
	}
	return queues, more, nil
}

// storeChunk stores the next chunk of the fan-out whose first item is p, locked. It returns
// its queue, and whether items are left to store.
func (s *conn) storeChunk(tx *gorm.DB, p WorkflowStep, now time.Time) (string, bool, error) {
	var r fanOutRest
	if err := json.Unmarshal([]byte(p.ForEach), &r); err != nil {
		return "", false, fmt.Errorf("models: the rest of fan-out %s: %w", p.Step, err)
	}
	n := min(len(r.Items), fanOutChunk)
	fill, err := itemFiller(r.Args)
	if err != nil {
		return "", false, err
	}
	args := make([]string, n)
	for i, raw := range r.Items[:n] {
		item, err := decodeJSON(string(raw))
		if err == nil {
			args[i], err = fill(item)
		}
		if err != nil { // every item was filled at the release: only a bug gets here
			return "", false, fmt.Errorf("models: item %d of fan-out %s: %w", r.Next+i, p.Step, err)
		}
	}
	first, children, err := fanOutBase(tx, p.JobID)
	if err != nil {
		return "", false, err
	}
	if err := s.insertItems(tx, first, p.WorkflowID, p.Step, children, args, r.Next, now); err != nil {
		return "", false, err
	}
	left := ""
	if n < len(r.Items) {
		r.Items, r.Next = r.Items[n:], r.Next+n
		b, err := json.Marshal(r)
		if err != nil {
			return "", false, fmt.Errorf("models: keep a fan-out's items: %w", err)
		}
		left = string(b)
	}
	if err := tx.Model(&WorkflowStep{}).Where("job_id = ?", p.JobID).Update("for_each", left).Error; err != nil {
		return "", false, fmt.Errorf("models: store on fan-out %s: %w", p.Step, err)
	}
	return first.Queue, left != "", nil
}

// fanOutsOf are the fan-outs of a run that are being stored.
func fanOutsOf(tx *gorm.DB, run int64) ([]fanOut, error) {
	var of []fanOut
	if err := tx.Model(&WorkflowStep{}).Select("workflow_id", "step").
		Where("workflow_id = ? AND item = 0 AND for_each LIKE ?", run, "{%").Scan(&of).Error; err != nil {
		return nil, fmt.Errorf("models: fan-outs of workflow %d: %w", run, err)
	}
	return of, nil
}

// fanOutBase reads a fan-out's first item, the job its other items copy, and the jobs that wait
// for its items.
func fanOutBase(tx *gorm.DB, firstID int64) (*Job, []int64, error) {
	var first Job
	if err := tx.Take(&first, firstID).Error; err != nil {
		return nil, nil, fmt.Errorf("models: load job %d: %w", firstID, err)
	}
	var children []int64
	if err := tx.Model(&jobDep{}).Where("parent_id = ?", firstID).Order("job_id").Pluck("job_id", &children).Error; err != nil {
		return nil, nil, fmt.Errorf("models: steps waiting for job %d: %w", firstID, err)
	}
	return &first, children, nil
}
