package jobs

import (
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/kilnhq/kiln/models"
)

// Schedule is a parsed recurring schedule in its time zone: when occurrences fall.
//
// Specs are cron expressions of 5 fields (minute hour day-of-month month day-of-week) or 6
// (seconds first), descriptors (@yearly, @monthly, @weekly, @daily, @hourly), or
// "@every <duration>" (at least 1s). Fields take *, ?, numbers, names (JAN-DEC, SUN-SAT; 0 and
// 7 are Sunday), ranges (1-5), lists (1,15) and steps (*/15, 5/15, 1-30/10).
//
// Cron fields are read on the wall clock of the schedule's time zone, so "0 9 * * *" in
// Europe/Berlin is 09:00 Berlin time in winter and summer alike. The rules (the ones Hangfire's
// Cronos library settled on, Vixie cron's for the days):
//
//   - Days: when both day-of-month and day-of-week are restricted (neither starts with * or ?),
//     a day matching either runs ("0 0 1,15 * MON": the 1st, the 15th and every Monday);
//     otherwise a day must match both ("0 0 */2 * MON": odd days that are Mondays).
//   - A local time that clocks skip when they go forward (02:30 when they jump from 02:00 to
//     03:00) runs at the first instant after the gap (03:00), once however many skipped times
//     match.
//   - A local time that happens twice when clocks go back (01:30 when they fall from 02:00 to
//     01:00) runs once, in the first pass, when the hour field is fixed (a number, list or
//     range: "30 1 * * *"); when the hour field has * or a step ("*/15 * * * *", "0 */2 * * *"),
//     the schedule keeps its interval and runs in both passes.
//   - "@every" intervals are measured in absolute time and aligned to the Unix epoch
//     (1970-01-01 00:00:00 UTC), so every node computes the same occurrences and clock changes
//     don't touch them.
//
// Next is always strictly after its argument, and a schedule that could never fire
// ("0 0 30 2 *") is refused by ParseSchedule.
type Schedule struct {
	spec  string
	loc   *time.Location
	every time.Duration
	cron  *cronSpec
}

// ParseSchedule parses spec in the IANA time zone tz ("" means UTC). A spec is a cron
// expression of 5 or 6 fields, a descriptor (@hourly, @daily, ...), @every and a Go duration,
// or a Go duration alone, which means @every it.
func ParseSchedule(spec, tz string) (*Schedule, error) {
	spec = strings.TrimSpace(spec)
	if tz == "" {
		tz = models.DefaultTimeZone
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "Local" {
		return nil, invalid(fmt.Errorf("%w %q", ErrUnknownTimeZone, tz))
	}
	if bareDuration(spec) {
		spec = "@every " + spec // "1m" is "@every 1m", wherever a schedule is typed
	}
	s := &Schedule{spec: spec, loc: loc}
	if rest, ok := strings.CutPrefix(spec, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil || d < time.Second {
			return nil, invalid(fmt.Errorf("%w: %q: @every needs a duration of at least 1s, such as @every 30s or @every 5m", ErrInvalidSchedule, spec))
		}
		s.every = d
		return s, nil
	}
	if spec == "" || strings.Contains(spec, "TZ=") {
		return nil, invalid(fmt.Errorf("%w: %q: give a cron expression such as \"*/5 * * * *\"; set the time zone separately", ErrInvalidSchedule, spec))
	}
	if s.cron, err = parseCron(spec); err != nil {
		return nil, invalid(fmt.Errorf("%w: %q: %v", ErrInvalidSchedule, spec, err))
	}
	return s, nil
}

// bareDuration says spec is a Go duration alone ("90s", "1h30m"), which ParseSchedule takes
// for @every.
func bareDuration(spec string) bool {
	if spec == "" || strings.ContainsAny(spec, " \t@") {
		return false
	}
	_, err := time.ParseDuration(spec)
	return err == nil
}

// Spec returns the schedule as written, a bare duration with its "@every ".
func (s *Schedule) Spec() string { return s.spec }

// Location returns the schedule's time zone.
func (s *Schedule) Location() *time.Location { return s.loc }

// Next returns the first occurrence strictly after t, in the schedule's time zone.
func (s *Schedule) Next(t time.Time) time.Time {
	if s.every > 0 {
		return s.nextEvery(t).In(s.loc)
	}
	f := s.find(t)
	if f.at == nil {
		return time.Time{}
	}
	return *f.at
}

// Occurrence is one run of a schedule.
type Occurrence struct {
	At time.Time
	// Note says how a clock change bears on this run, or is "" when none does, e.g. "02:30 does
	// not exist on 29 Mar (clocks go forward from 02:00 to 03:00): runs at 03:00".
	Note string
}

// Upcoming returns the next n occurrences after t, each with a note when a clock change moved
// it, repeats it or makes it run once.
func (s *Schedule) Upcoming(t time.Time, n int) []Occurrence {
	var out []Occurrence
	for len(out) < n {
		if s.every > 0 {
			t = s.nextEvery(t).In(s.loc)
			out = append(out, Occurrence{At: t})
			continue
		}
		f := s.find(t)
		if f.at == nil {
			break
		}
		t = *f.at
		out = append(out, Occurrence{At: t, Note: s.note(f)})
	}
	return out
}

// NextClockNote returns the first occurrence after t, up to t+within, that a clock change of
// the schedule's zone moves, repeats or runs once, with its note; false if there is none (a
// schedule clear of the changes, an @every interval, a zone without them).
func (s *Schedule) NextClockNote(t time.Time, within time.Duration) (Occurrence, bool) {
	if s.every > 0 {
		return Occurrence{}, false
	}
	limit := t.Add(within)
	for at := t; ; {
		off, _, change := zonePeriod(s.loc, at)
		if change.IsZero() || change.After(limit) {
			return Occurrence{}, false
		}
		newOff, _, _ := zonePeriod(s.loc, change)
		// Only occurrences within the change's span, before or after it, can carry a note.
		span := time.Duration(max(off-newOff, newOff-off)) * time.Second
		for f := s.find(latest(t, change.Add(-span-time.Second))); f.at != nil && f.at.Before(change.Add(span)); f = s.find(*f.at) {
			if f.kind != foundPlain {
				return Occurrence{At: *f.at, Note: s.note(f)}, true
			}
		}
		at = change
	}
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Occurrences returns the occurrences in (after, until], oldest first, at most limit of them.
func (s *Schedule) Occurrences(after, until time.Time, limit int) []time.Time {
	var out []time.Time
	for t := s.Next(after); !t.IsZero() && !t.After(until) && len(out) < limit; t = s.Next(t) {
		out = append(out, t)
	}
	return out
}

// nextEvery returns the first multiple of the interval, counted from the Unix epoch, after t.
func (s *Schedule) nextEvery(t time.Time) time.Time {
	d := s.every
	if d%time.Second == 0 { // whole seconds: exact for any year
		ds := int64(d / time.Second)
		sec := t.Unix()
		r := (sec%ds + ds) % ds
		return time.Unix(sec-r+ds, 0)
	}
	// Fractions of seconds: count in nanoseconds, in big integers, as int64 nanoseconds since
	// 1970 only reach 1678 to 2262.
	n := new(big.Int).Mul(big.NewInt(t.Unix()), big.NewInt(int64(time.Second)))
	n.Add(n, big.NewInt(int64(t.Nanosecond())))
	dn := big.NewInt(int64(d))
	r := new(big.Int).Mod(n, dn) // Euclidean: never negative
	n.Sub(n, r).Add(n, dn)
	sec, nsec := new(big.Int).DivMod(n, big.NewInt(int64(time.Second)), new(big.Int))
	return time.Unix(sec.Int64(), nsec.Int64())
}

// found is an occurrence and how the clock changes around it bear on it.
type found struct {
	at   *time.Time
	wall int64 // its wall-clock time (seconds since 1970-01-01 00:00 of the zone's clock)
	kind foundKind
	// The clock change concerned: its instant and the UTC offsets before and after it.
	change             int64
	offBefore, offWith int
}

type foundKind int

const (
	foundPlain       foundKind = iota
	foundAfterGap              // a skipped wall time, run at the end of the gap
	foundFirstOfTwo            // its wall time comes again after the change
	foundSecondOfTwo           // the second pass of a repeated wall time (interval schedules only)
)

// find returns the first occurrence strictly after t. The time line is walked one zone period
// (a span of constant UTC offset) at a time: inside a period, wall clock and instants move
// together, so the first matching wall time is the first occurrence, save for the two rules at
// the period's start (a skipped gap; a repeated span).
func (s *Schedule) find(t time.Time) found {
	start := t.Unix() + 1 // the first whole second strictly after t
	off, periodStart, periodEnd := zonePeriod(s.loc, time.Unix(start, 0))
	prevOff := off
	if !periodStart.IsZero() {
		_, prevOff = periodStart.Add(-time.Second).In(s.loc).Zone()
	}
	search := wallSearch{c: s.cron}
	for range 100_000 { // zone periods; a period is at least hours long in any zone
		hasStart := !periodStart.IsZero()
		from := start + int64(off)
		var a int64
		if hasStart {
			a = periodStart.Unix()
			if a >= start && prevOff < off {
				// Clocks went forward at a: wall times [a+prevOff, a+off) never happen. If
				// one matches, it runs at a.
				if w, ok := search.next(a + int64(prevOff)); ok && w < a+int64(off) {
					at := time.Unix(a, 0).In(s.loc)
					return found{at: &at, wall: w, kind: foundAfterGap, change: a, offBefore: prevOff, offWith: off}
				}
			}
			from = max(from, a+int64(off))
			if prevOff > off && !s.cron.interval {
				// Clocks went back at a: wall times [a+off, a+prevOff) were shown before
				// the change. A fixed-hour schedule ran them in the first pass.
				from = max(from, a+int64(prevOff))
			}
		}
		w, ok := search.next(from)
		if !ok {
			return found{}
		}
		if periodEnd.IsZero() || w < periodEnd.Unix()+int64(off) {
			at := time.Unix(w-int64(off), 0).In(s.loc)
			f := found{at: &at, wall: w}
			switch {
			case hasStart && prevOff > off && w < a+int64(prevOff):
				f.kind, f.change, f.offBefore, f.offWith = foundSecondOfTwo, a, prevOff, off
			case !periodEnd.IsZero():
				end := periodEnd.Unix()
				if _, nextOff := periodEnd.In(s.loc).Zone(); nextOff < off && w >= end+int64(nextOff) {
					f.kind, f.change, f.offBefore, f.offWith = foundFirstOfTwo, end, off, nextOff
				}
			}
			return f
		}
		prevOff = off
		periodStart = periodEnd
		off, _, periodEnd = zonePeriod(s.loc, periodStart)
	}
	return found{}
}

// zonePeriod returns the UTC offset of loc at t and the span of constant offset around it,
// from time.Time.ZoneBounds; end is zero when the offset never changes again, and otherwise
// always after t. (Past the last transition a tz file lists, Go computes periods a UTC year
// at a time from the zone's rule, and near the year's end it can report an end at or before
// t: then the year's end is the bound, or the change found before it.)
func zonePeriod(loc *time.Location, t time.Time) (off int, start, end time.Time) {
	lt := t.In(loc)
	_, off = lt.Zone()
	start, end = lt.ZoneBounds()
	if end.IsZero() || end.After(t) {
		return off, start, end
	}
	lo, hi := t.Unix(), time.Date(t.UTC().Year()+1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	if _, o := time.Unix(hi-1, 0).In(loc).Zone(); o == off {
		return off, start, time.Unix(hi, 0)
	}
	for hi-lo > 1 { // the offset changes in (lo, hi): find the first second with the new one
		mid := lo + (hi-lo)/2
		if _, o := time.Unix(mid, 0).In(loc).Zone(); o == off {
			lo = mid
		} else {
			hi = mid
		}
	}
	return off, start, time.Unix(hi, 0)
}

// wallSearch remembers its last answer: the first match at or after x is also the first at or
// after any later x up to that match, which makes walking many zone periods cheap.
type wallSearch struct {
	c         *cronSpec
	from, got int64
	ok, valid bool
}

func (ws *wallSearch) next(x int64) (int64, bool) {
	if ws.valid && x >= ws.from && (!ws.ok || x <= ws.got) {
		return ws.got, ws.ok
	}
	ws.got, ws.ok = ws.c.nextWall(x)
	ws.from, ws.valid = x, true
	return ws.got, ws.ok
}

// note explains a found occurrence that a clock change bears on, in the schedule's zone.
func (s *Schedule) note(f found) string {
	if f.kind == foundPlain {
		return ""
	}
	before, after := f.change+int64(f.offBefore), f.change+int64(f.offWith)
	day := wallTime(f.wall).Format("2 Jan")
	clock := s.wallClock
	switch f.kind {
	case foundAfterGap:
		last := f.wall
		for w, ok := s.cron.nextWall(f.wall + 1); ok && w < after; w, ok = s.cron.nextWall(w + 1) {
			last = w
		}
		change := fmt.Sprintf("clocks go forward from %s to %s", s.wallStamp(before, f.wall), s.wallStamp(after, f.wall))
		if last == f.wall {
			return fmt.Sprintf("%s does not exist on %s (%s): runs at %s", clock(f.wall), day, change, clock(after))
		}
		return fmt.Sprintf("%s to %s do not exist on %s (%s): runs once, at %s", clock(f.wall), clock(last), day, change, clock(after))
	case foundFirstOfTwo:
		at := f.at.Format("MST")
		change := fmt.Sprintf("clocks go back from %s to %s", s.wallStamp(before, f.wall), s.wallStamp(after, f.wall))
		if s.cron.interval {
			return fmt.Sprintf("%s happens twice on %s (%s): this is the first, %s; the second runs too", clock(f.wall), day, change, at)
		}
		return fmt.Sprintf("%s happens twice on %s (%s): runs once, at the first (%s)", clock(f.wall), day, change, at)
	default: // foundSecondOfTwo
		change := fmt.Sprintf("clocks went back from %s to %s", s.wallStamp(before, f.wall), s.wallStamp(after, f.wall))
		return fmt.Sprintf("the second %s on %s (%s, %s): the schedule keeps its interval", clock(f.wall), day, change, f.at.Format("MST"))
	}
}

func wallTime(w int64) time.Time { return time.Unix(w, 0).UTC() }

// wallClock writes a wall-clock time as 15:04, or 15:04:05 when seconds matter.
func (s *Schedule) wallClock(w int64) string {
	t := wallTime(w)
	if s.cron.seconds || t.Second() != 0 {
		return t.Format("15:04:05")
	}
	return t.Format("15:04")
}

// wallStamp writes w as wallClock does, with its date when that is not the date of ref.
func (s *Schedule) wallStamp(w, ref int64) string {
	if wallTime(w).YearDay() != wallTime(ref).YearDay() {
		return s.wallClock(w) + " on " + wallTime(w).Format("2 Jan")
	}
	return s.wallClock(w)
}

// gocronCron adapts a Schedule to gocron's Cron interface, so gocron's timer fires exactly at
// the occurrences the database records. Times go to gocron in UTC: gocron skips a "next" with
// the same wall clock as the last run (its own fall-back rule), which UTC never repeats, so
// only this package's rules apply.
type gocronCron struct{ s *Schedule }

func (g gocronCron) IsValid(string, *time.Location, time.Time) error { return nil }
func (g gocronCron) Next(last time.Time) time.Time                   { return g.s.Next(last).UTC() }
