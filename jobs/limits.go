package jobs

import "time"

// Caps and rates per kind, across every node; models.Store.claimLimited enforces them.

// MaxRunning caps how many jobs of the kind run at once across every node (Register only):
// claims take no more, on SQLite and on PostgreSQL, however many workers are free; jobs of
// other kinds in the same queues go on. The cap is stored in the database when the engine
// starts, so every node keeps it. 0 means no cap.
func MaxRunning(n int) Option { return func(s *settings) { s.maxRunning = &n } }

type kindRate struct {
	n   int
	per time.Duration
}

// RateLimit lets at most n jobs of the kind start per period across every node (Register
// only), counted in windows of per aligned to the Unix epoch: "at most 100 sms.send per
// minute". Claims take no more; jobs of other kinds go on. Stored when the engine starts.
func RateLimit(n int, per time.Duration) Option {
	return func(s *settings) { s.rate = &kindRate{n: n, per: per} }
}
