package jobs

import "github.com/jonboulle/clockwork"

// SetClock makes e's recurring schedules read the time from c and run their timers on it.
// Call it before Start.
func SetClock(e *Engine, c clockwork.Clock) { e.clock = c }
