package jobs

import "testing"

func TestDescribe(t *testing.T) {
	for spec, want := range map[string]string{
		"* * * * *":      "every minute",
		"*/5 * * * *":    "every 5 minutes",
		"15 * * * *":     "at minute 15 of every hour",
		"0 2 * * *":      "at 02:00 every day",
		"30 9 * * 1-5":   "at 09:30 on weekdays",
		"0 18 * * 5":     "at 18:00 on Fridays",
		"0 8 * * 1,3":    "at 08:00 on Monday and Wednesday",
		"0 0 1 * *":      "at 00:00 on day 1 of every month",
		"0 */6 * * *":    "at minute 0 of every 6 hours",
		"*/10 * * * * *": "every 10 seconds",
		"0 30 9 * * *":   "at 09:30 every day",
		"@daily":         "at 00:00 every day",
		"@hourly":        "every hour, on the hour",
		"@every 1m":      "every minute",
		"@every 30s":     "every 30 seconds",
		"@every 2h":      "every 2 hours",
		"@every 1h30m":   "every 1h30m0s",
		"0 12 * 6 *":     "", // months: said by the expression itself
		"5-10 * * * *":   "",
		"0 9 1-7 * 1":    "",
		"15 30 9 * * *":  "",
		"0 0 L * *":      "",
	} {
		s, err := ParseSchedule(spec, "")
		if err != nil {
			if want == "" {
				continue // not even parseable: nothing to describe
			}
			t.Fatalf("%q: %v", spec, err)
		}
		if got := s.Describe(); got != want {
			t.Errorf("Describe(%q) = %q, want %q", spec, got, want)
		}
	}
}
