package jobs

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

var weekdays = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

// Describe says in words when the schedule fires, for the common shapes ("every minute", "at
// 02:00 every day", "every 15 minutes", "at 09:30 on weekdays"). For anything else it returns
// "", and the expression speaks for itself.
func (s *Schedule) Describe() string {
	if s.every > 0 {
		return describeEvery(s.every)
	}
	switch s.spec {
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
	f := strings.Fields(s.spec)
	if len(f) == 6 {
		if f[0] == "*" && allStar(f[1:]) {
			return "every second"
		}
		if n, ok := stepOf(f[0]); ok && allStar(f[1:]) {
			return fmt.Sprintf("every %d seconds", n)
		}
		if f[0] != "0" {
			return ""
		}
		f = f[1:]
	}
	if len(f) != 5 {
		return ""
	}
	min, hour, dom, mon, dow := f[0], f[1], f[2], f[3], f[4]
	if mon != "*" {
		return ""
	}
	switch {
	case min == "*" && hour == "*" && dom == "*" && dow == "*":
		return "every minute"
	case hour == "*" && dom == "*" && dow == "*":
		if n, ok := stepOf(min); ok {
			return fmt.Sprintf("every %d minutes", n)
		}
		if m, ok := number(min, 59); ok {
			return fmt.Sprintf("at minute %d of every hour", m)
		}
		return ""
	}
	m, ok := number(min, 59)
	if !ok {
		return ""
	}
	if n, ok := stepOf(hour); ok && dom == "*" && dow == "*" {
		return fmt.Sprintf("at minute %d of every %d hours", m, n)
	}
	h, ok := number(hour, 23)
	if !ok {
		return ""
	}
	at := fmt.Sprintf("at %02d:%02d", h, m)
	switch {
	case dom == "*" && dow == "*":
		return at + " every day"
	case dom == "*":
		if days := describeWeekdays(dow); days != "" {
			return at + " on " + days
		}
	case dow == "*":
		if d, ok := number(dom, 31); ok && d >= 1 {
			return fmt.Sprintf("%s on day %d of every month", at, d)
		}
	}
	return ""
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

func allStar(fields []string) bool {
	for _, f := range fields {
		if f != "*" {
			return false
		}
	}
	return true
}

func stepOf(f string) (int, bool) {
	rest, ok := strings.CutPrefix(f, "*/")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n > 0
}

func number(f string, maxV int) (int, bool) {
	n, err := strconv.Atoi(f)
	return n, err == nil && n >= 0 && n <= maxV
}

func describeWeekdays(dow string) string {
	switch strings.ToUpper(dow) {
	case "1-5", "MON-FRI":
		return "weekdays"
	case "0,6", "6,0", "SAT,SUN", "SUN,SAT":
		return "weekends"
	}
	var names []string
	for _, part := range strings.Split(dow, ",") {
		d, ok := number(part, 7)
		if !ok {
			return ""
		}
		names = append(names, weekdays[d%7])
	}
	if len(names) == 1 {
		return names[0] + "s"
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
