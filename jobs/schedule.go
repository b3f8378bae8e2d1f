package jobs

import (
	"fmt"
	"strings"
	"time"

	"github.com/go-co-op/gocron/v2"
)

// Schedule is a parsed recurring schedule in its time zone: when occurrences fall.
//
// Specs are cron expressions of 5 fields (minute hour day-of-month month day-of-week) or 6
// (seconds first), descriptors (@yearly, @monthly, @weekly, @daily, @hourly), or
// "@every <duration>" (at least 1s). Cron fields are read in the schedule's time zone, so
// "0 9 * * *" in Europe/Berlin is 09:00 Berlin time in winter and summer alike. Across
// daylight-saving changes: a wall-clock time that does not exist that day (02:30 when clocks
// jump from 02:00 to 03:00) is skipped that day, and one that happens twice (01:30 when clocks
// fall back) runs once, the first time. "@every" intervals are measured in absolute time and
// aligned to the Unix epoch, so every node computes the same occurrences.
type Schedule struct {
	spec  string
	loc   *time.Location
	every time.Duration
	cron  gocron.Cron
}

// ParseSchedule parses spec in the IANA time zone tz ("" means UTC).
func ParseSchedule(spec, tz string) (*Schedule, error) {
	spec = strings.TrimSpace(spec)
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "Local" {
		return nil, fmt.Errorf("%w: unknown time zone %q", ErrInvalidSchedule, tz)
	}
	s := &Schedule{spec: spec, loc: loc}
	if rest, ok := strings.CutPrefix(spec, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil || d < time.Second {
			return nil, fmt.Errorf("%w: %q: @every needs a duration of at least 1s, such as @every 30s or @every 5m", ErrInvalidSchedule, spec)
		}
		s.every = d
		return s, nil
	}
	if spec == "" || strings.Contains(spec, "TZ=") {
		return nil, fmt.Errorf("%w: %q: give a cron expression such as \"*/5 * * * *\"; set the time zone separately", ErrInvalidSchedule, spec)
	}
	c := gocron.NewDefaultCron(true) // 5 fields, or 6 with seconds first
	if err := c.IsValid("CRON_TZ="+loc.String()+" "+spec, loc, time.Now()); err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrInvalidSchedule, spec, cronReason(err))
	}
	s.cron = c
	return s, nil
}

func cronReason(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "\n"); i >= 0 {
		msg = msg[i+1:]
	}
	return msg
}

// Spec returns the schedule as written.
func (s *Schedule) Spec() string { return s.spec }

// Location returns the schedule's time zone.
func (s *Schedule) Location() *time.Location { return s.loc }

// Next returns the first occurrence strictly after t.
func (s *Schedule) Next(t time.Time) time.Time {
	if s.every > 0 {
		return t.UTC().Truncate(s.every).Add(s.every)
	}
	t = t.In(s.loc)
	next := s.cron.Next(t)
	// When clocks fall back, the same wall-clock time happens twice; run it once. (gocron's
	// scheduler applies the same rule on top of this schedule, so both agree.)
	if !next.IsZero() && sameWallClock(t, next) {
		next = s.cron.Next(next)
	}
	return next
}

func sameWallClock(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd && a.Hour() == b.Hour() && a.Minute() == b.Minute() && a.Second() == b.Second()
}

// Occurrences returns the occurrences in (after, until], oldest first, at most limit of them.
func (s *Schedule) Occurrences(after, until time.Time, limit int) []time.Time {
	var out []time.Time
	for t := s.Next(after); !t.IsZero() && !t.After(until) && len(out) < limit; t = s.Next(t) {
		out = append(out, t)
	}
	return out
}

// gocronCron adapts a Schedule to gocron's Cron interface, so gocron's timer fires exactly at
// the occurrences the database records.
type gocronCron struct{ s *Schedule }

func (g gocronCron) IsValid(string, *time.Location, time.Time) error { return nil }
func (g gocronCron) Next(last time.Time) time.Time                   { return g.s.Next(last) }
