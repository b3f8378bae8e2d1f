package jobs

import (
	"math/rand/v2"
	"time"
)

// Backoff says how long to wait before retrying after the given attempt (1 for the first) failed.
type Backoff func(attempt int) time.Duration

// DefaultBackoff waits attempt⁴ + 15 + rand(0..30)·attempt seconds, as Sidekiq does: about
// 16-46 s after the first failure, 5 min after the fifth, and 2.9 h after the tenth, with the
// jitter spreading out retries of jobs that failed together.
func DefaultBackoff(attempt int) time.Duration {
	return backoffWith(attempt, rand.IntN(31))
}

func backoffWith(attempt, jitter int) time.Duration {
	a := max(attempt, 1)
	secs := a*a*a*a + 15 + jitter*a
	return time.Duration(secs) * time.Second
}

// ConstantBackoff waits d before every retry.
func ConstantBackoff(d time.Duration) Backoff {
	return func(int) time.Duration { return d }
}
