package components

import (
	"fmt"
	"time"
)

// Moment is an instant as one viewer sees it: At in the viewer's zone, and the Now that relative
// phrases are measured from.
type Moment struct {
	At  time.Time
	Now time.Time
}

// Exact formats the instant for reading, e.g. "Mon 2 Jan 2026, 15:04".
func (m Moment) Exact() string { return m.At.Format("Mon 2 Jan 2006, 15:04") }

// Full formats the instant with its zone, for tooltips, e.g. "Mon 2 Jan 2026, 15:04:05 CET
// (UTC+01:00) = 14:04:05 UTC": in any zone but UTC it gives the UTC time too, for comparing
// with logs and other servers.
func (m Moment) Full() string {
	full := m.At.Format("Mon 2 Jan 2006, 15:04:05 MST (UTC-07:00)")
	if m.At.Location().String() == "UTC" {
		return full
	}
	u := m.At.UTC()
	if u.YearDay() != m.At.YearDay() || u.Year() != m.At.Year() {
		return full + u.Format(" = Mon 2 Jan, 15:04:05 UTC")
	}
	return full + u.Format(" = 15:04:05 UTC")
}

// ISO formats the instant in RFC 3339 for the datetime attribute.
func (m Moment) ISO() string { return m.At.UTC().Format(time.RFC3339) }

// ISOMilli is the instant in UTC to the millisecond, for a datetime attribute whose text shows
// milliseconds (a job's log lines).
func (m Moment) ISOMilli() string { return m.At.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// Relative phrases the instant relative to Now.
func (m Moment) Relative() string { return Relative(m.At, m.Now) }

// Relative phrases t relative to now, coarsely, the way people say it: "in 3 h", "2 days ago",
// "in 5 min", "just now". Each unit is rounded down, so "in 1 h" means at least an hour.
func Relative(t, now time.Time) string {
	d := t.Sub(now)
	future := d > 0
	if d < 0 {
		d = -d
	}
	if d < time.Minute {
		if future {
			return "in under a minute"
		}
		return "just now"
	}
	var phrase string
	switch {
	case d < time.Hour:
		phrase = fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 24*time.Hour:
		phrase = fmt.Sprintf("%d h", int(d/time.Hour))
	case d < 30*24*time.Hour:
		phrase = Plural(int(d/(24*time.Hour)), "day", "days")
	case d < 365*24*time.Hour:
		phrase = Plural(int(d/(30*24*time.Hour)), "month", "months")
	default:
		phrase = Plural(int(d/(365*24*time.Hour)), "year", "years")
	}
	if future {
		return "in " + phrase
	}
	return phrase + " ago"
}
