package models

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"gorm.io/gorm"
)

// fanOutHints are the fan-outs this process finished items of, or released, for StoreFanOuts
// to store on those still being stored; wake tells the engine there are some, once the finish
// commits. Which are being stored is asked by StoreFanOuts, not by the finish: every statement
// of a finish delays its workers' next outcomes.
type fanOutHints struct {
	mu   sync.Mutex
	of   []fanOut
	wake chan struct{}
}

// maxFanOutHints bounds the fan-outs noted: a process that finishes jobs but never stores on
// (a test's store, with no engine) keeps no more.
const maxFanOutHints = 1000

func newFanOutHints() *fanOutHints { return &fanOutHints{wake: make(chan struct{}, 1)} }

// add notes fan-outs to store on; signal, after the transaction that saw them commits, wakes
// whoever stores them. A transaction that rolls back leaves a note StoreFanOuts finds nothing for.
func (h *fanOutHints) add(of []fanOut) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range of {
		f.FirstID = 0
		if len(h.of) >= maxFanOutHints { // none stored on for long: every node's sweep finds them
			return
		}
		if !slices.Contains(h.of, f) {
			h.of = append(h.of, f)
		}
	}
}

func (h *fanOutHints) signal() {
	h.mu.Lock()
	n := len(h.of)
	h.mu.Unlock()
	if n > 0 {
		select {
		case h.wake <- struct{}{}:
		default: // a wake is pending: it stores these too
		}
	}
}

func (h *fanOutHints) pending() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.of) > 0
}

func (h *fanOutHints) take() []fanOut {
	h.mu.Lock()
	defer h.mu.Unlock()
	of := h.of
	h.of = nil
	return of
}

// FanOutsToStore receives a value when this process finished items of a fan-out, or released
// one: StoreFanOuts(ctx, false) then stores it on, if it is being stored.
func (s workflowStore) FanOutsToStore() <-chan struct{} { return s.fanOuts.wake }

// StoreFanOuts stores the next chunk of each fan-out being stored, in one transaction: those
// this process noted as it finished their items, or, with all, those of every running run (a
// node that died while it stored one left the rest). A fan-out another node is storing at the
// moment is left to it. It returns the queues that got jobs, and whether any fan-out it stored
// has items left: the caller wakes its workers, and calls again.
func (s workflowStore) StoreFanOuts(ctx context.Context, all bool) (queues []string, more bool, err error) {
	of := s.fanOuts.take()
	if all {
		var every []fanOut
		if err := s.rdb.WithContext(ctx).Table("workflow_steps AS p").Joins("JOIN workflows w ON w.id = p.workflow_id").
			Select("p.workflow_id", "p.step").Where("w.state = ? AND p.item = 0 AND p.for_each LIKE ?", WorkflowRunning, "{%").
			Scan(&every).Error; err != nil {
			return nil, false, fmt.Errorf("models: fan-outs being stored: %w", err)
		}
		for _, f := range every {
			if !slices.Contains(of, f) {
				of = append(of, f)
			}
		}
	}
	if len(of) == 0 {
		return nil, false, nil
	}
	// Most fan-outs whose items finished are stored whole: asked first, outside a transaction.
	if of, err = storingFanOuts(s.rdb.WithContext(ctx), of); err != nil || len(of) == 0 {
		return nil, false, err
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q, left, err := s.continueFanOuts(tx, of)
		if err != nil {
			return err
		}
		queues = q
		s.fanOuts.add(left)
		return s.notifyEnqueued(tx, q...)
	})
	if err != nil {
		return nil, false, err
	}
	slices.Sort(queues)
	return slices.Compact(queues), s.fanOuts.pending(), nil
}
