package jobs

import (
	"strings"
	"testing"
)

func TestDescribe(t *testing.T) {
	for spec, want := range map[string]string{
		"* * * * *":       "every minute",
		"*/5 * * * *":     "every 5 minutes",
		"15 * * * *":      "at minute 15 of every hour",
		"15,45 * * * *":   "at minutes 15 and 45 of every hour",
		"0 2 * * *":       "at 02:00 every day",
		"30 9 * * 1-5":    "at 09:30 on weekdays",
		"0 18 * * 5":      "at 18:00 on Fridays",
		"0 8 * * 1,3":     "at 08:00 on Monday and Wednesday",
		"0 8 * * 0,6":     "at 08:00 on weekends",
		"0 8 * * 7":       "at 08:00 on Sundays",
		"0 0 1 * *":       "at 00:00 on day 1 of every month",
		"0 9,17 * * *":    "at 09:00 and 17:00 every day",
		"0 */6 * * *":     "at 00:00, 06:00, 12:00 and 18:00 every day",
		"0 */2 * * *":     "at minute 0 of every 2 hours",
		"*/15 1-3 * * *":  "every 15 minutes from 01:00 to 03:59",
		"* 2 * * *":       "every minute from 02:00 to 02:59",
		"*/48 * * * *":    "at minutes 0 and 48 of every hour",
		"*/7 * * * *":     "at minutes 0, 7, 14, … 56 of every hour",
		"0 */5 * * *":     "at 00:00, 05:00, 10:00, 15:00 and 20:00 every day",
		"5-10 * * * *":    "at minutes 5-10 of every hour",
		"*/10 * * * * *":  "every 10 seconds",
		"0 30 9 * * *":    "at 09:30 every day",
		"15 30 9 * * *":   "at 09:30:15 every day",
		"0,30 * * * * *":  "every 30 seconds",
		"5,35 * * * * *":  "at seconds 5 and 35 of every minute",
		"0 12 * 6 *":      "at 12:00 every day in June",
		"0 12 1 3-5,9 *":  "at 12:00 on day 1 of every month in March to May and September",
		"0 0 1,15 * *":    "at 00:00 on days 1 and 15 of the month",
		"0 0 1,15 * MON":  "at 00:00 on days 1 and 15 of the month, and on Mondays (either day)",
		"0 9 1-7 * 1":     "at 09:00 on days 1-7 of the month, and on Mondays (either day)",
		"0 0 */2 * 1":     "at 00:00 on every 2nd day of the month (1, 3, 5, …), if it is a Monday",
		"0 0 */2 * *":     "at 00:00 on every 2nd day of the month (1, 3, 5, …)",
		"0 0 ? * MON-FRI": "at 00:00 on weekdays",
		"@daily":          "at 00:00 every day",
		"@hourly":         "every hour, on the hour",
		"@every 1m":       "every minute",
		"@every 30s":      "every 30 seconds",
		"@every 2h":       "every 2 hours",
		"@every 1h30m":    "every 1h30m0s",
	} {
		s, err := ParseSchedule(spec, "")
		if err != nil {
			t.Fatalf("%q: %v", spec, err)
		}
		if got := s.Describe(); got != want {
			t.Errorf("Describe(%q) = %q, want %q", spec, got, want)
		}
	}
}

// Every spec the oracle draws has a description, and none is empty or garbled by a zero value.
func TestDescribeNeverEmpty(t *testing.T) {
	for _, spec := range []string{"1-59/2 * * * * *", "0 0/2 * * *", "3/7 1-20/3 */2 2-5 0-6/2", "* * * * * *", "0 0 29 2 *", "59 23 31 12 SAT"} {
		s, err := ParseSchedule(spec, "")
		if err != nil {
			t.Fatal(err)
		}
		if d := s.Describe(); d == "" || strings.Contains(d, "%!") {
			t.Errorf("Describe(%q) = %q", spec, d)
		} else {
			t.Logf("%-26q %s", spec, d)
		}
	}
}
