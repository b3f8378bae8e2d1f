package models

import "time"

// Defaults a job gets when neither its kind nor its caller says otherwise. The engine
// (jobs.DefaultQueue, jobs.DefaultMaxAttempts, Config.MaxAttempts) and the kiln command's flags
// use these, and a new recurring entry that leaves a field empty gets them (with MisfireRelaxed
// and OverlapAllow). The SQL migrations cannot name Go constants, so their column DEFAULTs
// repeat the values and TestMigrationDefaultsAreTheConstants checks, on both dialects, that
// they agree.
const (
	// DefaultQueue is the queue of jobs that name none (jobs.queue and recurring_jobs.queue
	// DEFAULT 'default').
	DefaultQueue = "default"
	// DefaultMaxAttempts is how often a job runs before it fails for good (jobs.max_attempts
	// and recurring_jobs.max_attempts DEFAULT 10).
	DefaultMaxAttempts = 10
	// DefaultTimeZone is the zone a recurring job's schedule is read in when it names none
	// (recurring_jobs.time_zone DEFAULT 'UTC').
	DefaultTimeZone = "UTC"
)

// KnownKindsWindow is how long after a server last registered a kind the API and the forms
// still accept jobs of it (a kind this process registers is always accepted). Seven days: a
// worker fleet redeployed weekly, or down over a long weekend, stays known meanwhile, while a
// kind nobody ever registered (a typo, a README's example) never is.
const KnownKindsWindow = 7 * 24 * time.Hour

// KnownKindsRefresh is how stale a kind's seen_at must be before a heartbeat rewrites it: every
// node records its kinds on every heartbeat (5 s), and against a window of days a rewrite an
// hour is plenty, so the other heartbeats write nothing.
const KnownKindsRefresh = time.Hour
