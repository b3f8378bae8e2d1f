package jobs

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

var weekdays = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

// Describe says in words when the schedule fires: "every 15 minutes", "at 02:00 every day",
// "at 09:30 on weekdays", "at 00:00 on days 1 and 15 of the month, and on Mondays (either
// day)". It names how the two day fields combine whenever both are restricted, and the time
// zone is left to the caller.
func (s *Schedule) Describe() string {
	if s.every > 0 {
		return describeEvery(s.every)
	}
	switch strings.ToLower(s.spec) {
	case "@hourly":
		return "every hour, on the hour"
	case "@daily", "@midnight":
		return "at 00:00 every day"
	case "@weekly":
		return "at 00:00 every Sunday"
	case "@monthly":
		return "at 00:00 on day 1 of every month"
	case "@yearly", "@annually":
		return "at 00:00 on 1 January"
	}
	c := s.cron
	if vals := values(c.dom, 1, 31); len(vals) == 1 && c.dow == allWeekdays && isRun(c.month, 1, 12) && len(values(c.month, 1, 12)) == 1 {
		at, _ := c.describeTime()
		return fmt.Sprintf("%s on %d %s", at, vals[0], monthNames[values(c.month, 1, 12)[0]]) // "at 00:00 on 29 February"
	}
	at, clockTime := c.describeTime()
	days := c.describeDays()
	if days == "every day" && !clockTime {
		days = ""
	}
	out := at
	if days != "" {
		out += " " + days
	}
	if months := c.describeMonths(); months != "" {
		out += " " + months
	}
	return out
}

const (
	all60 = uint64(1)<<60 - 1
	all24 = uint64(1)<<24 - 1
)

// describeTime describes the second, minute and hour fields; clockTime reports a phrase of
// the "at 09:30" kind, which reads well followed by "every day".
func (c *cronSpec) describeTime() (phrase string, clockTime bool) {
	secs, mins, hours := values(c.second, 0, 59), values(c.minute, 0, 59), values(c.hour, 0, 23)
	// Up to six times of day: "at 09:00 and 17:30".
	if len(secs) == 1 && len(mins)*len(hours) <= 6 {
		var times []string
		for _, h := range hours {
			for _, m := range mins {
				if c.seconds && secs[0] != 0 {
					times = append(times, fmt.Sprintf("%02d:%02d:%02d", h, m, secs[0]))
				} else {
					times = append(times, fmt.Sprintf("%02d:%02d", h, m))
				}
			}
		}
		return "at " + joinWords(times, "and"), true
	}
	var minutePart string
	switch {
	case c.minute == all60:
		minutePart = "every minute"
	case stepFromZero(c.minute, 59) > 0:
		minutePart = fmt.Sprintf("every %d minutes", stepFromZero(c.minute, 59))
	case len(mins) == 1:
		minutePart = fmt.Sprintf("at minute %d", mins[0])
	default:
		minutePart = "at minutes " + listBits(c.minute, 0, 59, "and")
	}
	phrase = minutePart
	switch {
	case c.hour == all24:
		if strings.HasPrefix(minutePart, "at ") {
			phrase += " of every hour"
		}
	case stepFromZero(c.hour, 23) > 0:
		phrase += fmt.Sprintf(" of every %d hours", stepFromZero(c.hour, 23))
		if !strings.HasPrefix(minutePart, "at ") {
			phrase = minutePart + fmt.Sprintf(" during every %d hours", stepFromZero(c.hour, 23))
		}
	case isRun(c.hour, 0, 23):
		phrase += fmt.Sprintf(" from %02d:00 to %02d:59", hours[0], hours[len(hours)-1])
	default:
		phrase += " during hours " + listBits(c.hour, 0, 23, "and")
	}
	if c.seconds && !(len(secs) == 1 && secs[0] == 0) {
		var sec string
		switch {
		case c.second == all60:
			sec = "every second"
		case stepFromZero(c.second, 59) > 0:
			sec = fmt.Sprintf("every %d seconds", stepFromZero(c.second, 59))
		case len(secs) == 1:
			sec = fmt.Sprintf("at second %d", secs[0])
		default:
			sec = "at seconds " + listBits(c.second, 0, 59, "and")
		}
		if c.minute == all60 && c.hour == all24 {
			if strings.HasPrefix(sec, "at ") {
				sec += " of every minute"
			}
			return sec, false
		}
		phrase = sec + ", " + phrase
	}
	return phrase, false
}

// describeDays describes the two day fields and how they combine.
func (c *cronSpec) describeDays() string {
	domAll, dowAll := c.dom == allDays, c.dow == allWeekdays
	dom, dow := describeDom(c.dom), describeDow(c.dow)
	switch {
	case domAll && dowAll:
		return "every day"
	case !c.domStar && !c.dowStar:
		return fmt.Sprintf("on %s, and on %s (either day)", dom, dow)
	case dowAll:
		return "on " + dom
	case domAll:
		return "on " + dow
	default: // one field starts with *: a day must match both
		return fmt.Sprintf("on %s, if it is %s", dom, describeDowSingular(c.dow))
	}
}

const (
	allDays     = uint64(1)<<32 - 2 // 1-31
	allWeekdays = uint64(1)<<7 - 1  // 0-6
)

func describeDom(set uint64) string {
	if n := stepFrom(set, 1, 31); n > 1 {
		return fmt.Sprintf("every %s day of the month (%d, %d, %d, …)", ordinal(n), 1, 1+n, 1+2*n)
	}
	if vals := values(set, 1, 31); len(vals) == 1 {
		return fmt.Sprintf("day %d of every month", vals[0])
	}
	return "days " + listBits(set, 1, 31, "and") + " of the month"
}

func describeDow(set uint64) string {
	switch set {
	case 0b0111110:
		return "weekdays"
	case 0b1000001:
		return "weekends"
	}
	var names []string
	for _, d := range values(set, 0, 6) {
		names = append(names, weekdays[d])
	}
	if len(names) == 1 {
		return names[0] + "s"
	}
	return joinWords(names, "and")
}

func describeDowSingular(set uint64) string {
	if set == 0b0111110 {
		return "a weekday"
	}
	if set == 0b1000001 {
		return "a Saturday or Sunday"
	}
	var names []string
	for _, d := range values(set, 0, 6) {
		names = append(names, weekdays[d])
	}
	return "a " + joinWords(names, "or")
}

func (c *cronSpec) describeMonths() string {
	if c.month == uint64(1)<<13-2 {
		return ""
	}
	var parts []string
	for _, r := range runs(c.month, 1, 12) {
		if r[0] == r[1] {
			parts = append(parts, monthNames[r[0]])
		} else {
			parts = append(parts, monthNames[r[0]]+" to "+monthNames[r[1]])
		}
	}
	return "in " + joinWords(parts, "and")
}

func describeEvery(d time.Duration) string {
	switch {
	case d == time.Second:
		return "every second"
	case d == time.Minute:
		return "every minute"
	case d == time.Hour:
		return "every hour"
	case d%time.Hour == 0:
		return fmt.Sprintf("every %d hours", d/time.Hour)
	case d%time.Minute == 0 && d < time.Hour:
		return fmt.Sprintf("every %d minutes", d/time.Minute)
	case d < time.Minute && d%time.Second == 0:
		return fmt.Sprintf("every %d seconds", d/time.Second)
	}
	return "every " + d.String()
}

// values lists the members of set between lo and hi.
func values(set uint64, lo, hi int) []int {
	var out []int
	for v := lo; v <= hi; v++ {
		if set&(1<<v) != 0 {
			out = append(out, v)
		}
	}
	return out
}

// runs groups the members of set into runs of consecutive values, [first, last] each.
func runs(set uint64, lo, hi int) [][2]int {
	var out [][2]int
	for v := lo; v <= hi; v++ {
		if set&(1<<v) == 0 {
			continue
		}
		end := v
		for end+1 <= hi && set&(1<<(end+1)) != 0 {
			end++
		}
		out = append(out, [2]int{v, end})
		v = end
	}
	return out
}

// isRun reports whether set is one run of consecutive values.
func isRun(set uint64, lo, hi int) bool { return len(runs(set, lo, hi)) == 1 }

// stepFrom returns n when set is exactly lo, lo+n, lo+2n, ... up to hi (n > 1), else 0.
func stepFrom(set uint64, lo, hi int) int {
	vals := values(set, lo, hi)
	if len(vals) < 2 || vals[0] != lo {
		return 0
	}
	n := vals[1] - vals[0]
	if n < 2 {
		return 0
	}
	for i, v := range vals {
		if v != lo+i*n {
			return 0
		}
	}
	if vals[len(vals)-1]+n <= hi {
		return 0
	}
	return n
}

// stepFromZero is stepFrom from 0 for the fields of the clock, which wrap: only a step that
// divides the field's span ("*/15" of 60 minutes) is an even interval; "*/48" runs at :00 and
// :48, 12 minutes apart across the hour.
func stepFromZero(set uint64, hi int) int {
	n := stepFrom(set, 0, hi)
	if n == 0 || (hi+1)%n != 0 {
		return 0
	}
	return n
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return strconv.Itoa(n) + suffix
}
