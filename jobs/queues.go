package jobs

import "context"

// Pausing queues: every server stops taking jobs from a paused queue, and learns it from the
// database within a poll.

// PauseQueue stops every server from taking jobs from the queue (running jobs finish); it
// survives restarts. ResumeQueue undoes it.
func (e *Engine) PauseQueue(ctx context.Context, name string) error {
	return e.setQueuePaused(ctx, name, true)
}

// ResumeQueue lets workers take jobs from a paused queue again.
func (e *Engine) ResumeQueue(ctx context.Context, name string) error {
	return e.setQueuePaused(ctx, name, false)
}

func (e *Engine) setQueuePaused(ctx context.Context, name string, paused bool) error {
	if err := e.store.Queues.SetQueuePaused(ctx, name, paused, actor(ctx)); err != nil {
		return err
	}
	if err := e.refreshPausedQueues(ctx); err != nil {
		return err
	}
	if !paused {
		e.wake(name)
	}
	return nil
}

// refreshPausedQueues reloads which queues are paused (other servers may have changed it).
func (e *Engine) refreshPausedQueues(ctx context.Context) error {
	e.refreshMu.Lock()
	defer e.refreshMu.Unlock()
	paused, err := e.store.Queues.PausedQueues(ctx)
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.paused = paused
	e.mu.Unlock()
	return nil
}

func (e *Engine) queuePaused(name string) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.paused[name]
}
