package jobs

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParseScheduleErrors(t *testing.T) {
	for _, tc := range []struct{ spec, tz, says string }{
		{"", "", "give a cron expression"},
		{"* * * *", "", "not 4"},
		{"61 * * * *", "", "minute field \"61\": 61 is outside 0-59"},
		{"* 24 * * *", "", "hour field"},
		{"* * 32 * *", "", "day-of-month field"},
		{"* * 0 * *", "", "0 is outside 1-31"},
		{"* * * 13 *", "", "month field"},
		{"* * * * 8", "", "day-of-week field"},
		{"* * * * MON-FUN", "", "neither a number from 0 to 7 nor a name such as MON"},
		{"0 0 30 2 *", "", "never runs: February has no day 30"},
		{"0 0 31 4,6,9,11 *", "", "never runs: April, June, September or November has no day 31"},
		{"0 0 30-31 FEB ?", "", "never runs: February has no day 30 or 31"},
		{"5-1 * * * *", "", "runs backwards"},
		{"0 0 * * 7/1", "", "a step must start at 0-6 (7 is Sunday: write 0/1)"},
		{"0 0 * * 7/2", "", "7 is Sunday"},
		{"*/0 * * * *", "", "step after / must be a whole number"},
		{"1,,2 * * * *", "", "empty item"},
		{"0 0 L * *", "", "\"L\" is not a number"},
		{"@every", "", "unknown descriptor"},
		{"@every 500ms", "", "at least 1s"},
		{"500ms", "", "at least 1s"},
		{"-1m", "", "at least 1s"},
		{"@every soon", "", "at least 1s"},
		{"@fortnightly", "", "unknown descriptor @fortnightly"},
		{"CRON_TZ=UTC * * * * *", "", "set the time zone separately"},
		{"* * * * *", "Mars/Olympus", "unknown time zone"},
		{"* * * * *", "Local", "unknown time zone"},
	} {
		_, err := ParseSchedule(tc.spec, tc.tz)
		if !errors.Is(err, ErrInvalidSchedule) {
			t.Errorf("ParseSchedule(%q, %q) = %v, want ErrInvalidSchedule", tc.spec, tc.tz, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.says) {
			t.Errorf("ParseSchedule(%q, %q) = %q, want it to say %q", tc.spec, tc.tz, err, tc.says)
		}
	}
}

// Nothing valid is refused: rare days, both day fields, names, 7 for Sunday, ? and steps.
// A bare Go duration is @every that duration, wherever a schedule is typed (--sweep-every 1m).
func TestBareDurationIsEvery(t *testing.T) {
	for spec, every := range map[string]time.Duration{"1m": time.Minute, " 90s ": 90 * time.Second, "1h30m": 90 * time.Minute} {
		s, err := ParseSchedule(spec, "Europe/Berlin")
		if err != nil {
			t.Fatalf("ParseSchedule(%q): %v", spec, err)
		}
		if want := "@every " + strings.TrimSpace(spec); s.Spec() != want {
			t.Errorf("ParseSchedule(%q).Spec() = %q, want %q", spec, s.Spec(), want)
		}
		next := s.Next(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
		if got := s.Next(next).Sub(next); got != every {
			t.Errorf("%q runs every %s, want %s", spec, got, every)
		}
	}
	for _, spec := range []string{"1", "m", "1 m", "@1m"} {
		if _, err := ParseSchedule(spec, ""); !errors.Is(err, ErrInvalidSchedule) {
			t.Errorf("ParseSchedule(%q) = %v, want ErrInvalidSchedule", spec, err)
		}
	}
}

func TestParseScheduleAcceptsRareButValidSpecs(t *testing.T) {
	for _, spec := range []string{
		"0 0 29 2 *", "0 0 31 2 MON", "0 0 31 * *", "0 0 * * 7", "0 0 * * 5-7", "0 0 ? * SUN",
		"0 9 1-7 * MON", "0 0 1 jan *", "*/90 * * * *", "0 0/2 * * *", "1-59/2 * * * * *", "@annually",
		"@midnight", "@MONTHLY", "0  0   * * *",
	} {
		s, err := ParseSchedule(spec, "Europe/Berlin")
		if err != nil {
			t.Errorf("ParseSchedule(%q) = %v", spec, err)
			continue
		}
		if next := s.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); next.IsZero() {
			t.Errorf("%q never runs", spec)
		}
	}
}

func TestScheduleNext(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	utc := time.UTC
	tests := []struct {
		name, spec, tz string
		after          time.Time
		want           []time.Time // the next occurrences, in order
	}{
		{"every minute", "* * * * *", "", time.Date(2026, 1, 1, 10, 0, 30, 0, utc),
			[]time.Time{time.Date(2026, 1, 1, 10, 1, 0, 0, utc), time.Date(2026, 1, 1, 10, 2, 0, 0, utc)}},
		{"with seconds", "*/15 * * * * *", "", time.Date(2026, 1, 1, 10, 0, 7, 0, utc),
			[]time.Time{time.Date(2026, 1, 1, 10, 0, 15, 0, utc), time.Date(2026, 1, 1, 10, 0, 30, 0, utc)}},
		{"daily in a zone", "0 9 * * *", "America/New_York", time.Date(2026, 6, 30, 14, 0, 0, 0, utc),
			[]time.Time{time.Date(2026, 7, 1, 9, 0, 0, 0, ny), time.Date(2026, 7, 2, 9, 0, 0, 0, ny)}},
		{"descriptor", "@daily", "", time.Date(2026, 1, 1, 10, 0, 0, 0, utc),
			[]time.Time{time.Date(2026, 1, 2, 0, 0, 0, 0, utc)}},
		{"every 30s aligned to the epoch", "@every 30s", "", time.Date(2026, 1, 1, 10, 0, 7, 500, utc),
			[]time.Time{time.Date(2026, 1, 1, 10, 0, 30, 0, utc), time.Date(2026, 1, 1, 10, 1, 0, 0, utc)}},
		{"every 90m", "@every 90m", "", time.Date(2026, 1, 1, 0, 10, 0, 0, utc),
			[]time.Time{time.Date(2026, 1, 1, 1, 30, 0, 0, utc), time.Date(2026, 1, 1, 3, 0, 0, 0, utc)}},
		// 8 March 2026: New York skips from 02:00 to 03:00. 02:30 doesn't exist that day: it runs at 03:00.
		{"spring forward: a missing time runs right after the gap", "30 2 * * *", "America/New_York", time.Date(2026, 3, 7, 12, 0, 0, 0, ny),
			[]time.Time{time.Date(2026, 3, 8, 7, 0, 0, 0, utc), time.Date(2026, 3, 9, 2, 30, 0, 0, ny)}},
		{"spring forward: every missing time runs once, at the end of the gap", "*/15 2 * * *", "America/New_York", time.Date(2026, 3, 7, 12, 0, 0, 0, ny),
			[]time.Time{time.Date(2026, 3, 8, 7, 0, 0, 0, utc), time.Date(2026, 3, 9, 2, 0, 0, 0, ny)}},
		{"spring forward: an interval goes on after the gap", "*/30 * * * *", "America/New_York", time.Date(2026, 3, 8, 6, 29, 0, 0, utc),
			[]time.Time{time.Date(2026, 3, 8, 6, 30, 0, 0, utc), time.Date(2026, 3, 8, 7, 0, 0, 0, utc), time.Date(2026, 3, 8, 7, 30, 0, 0, utc)}},
		{"spring forward: 09:00 stays 09:00 local", "0 9 * * *", "America/New_York", time.Date(2026, 3, 7, 12, 0, 0, 0, ny),
			[]time.Time{time.Date(2026, 3, 8, 9, 0, 0, 0, ny), time.Date(2026, 3, 9, 9, 0, 0, 0, ny)}},
		{"spring forward: 24 h between 09:00s becomes 23 h", "0 9 * * *", "America/New_York", time.Date(2026, 3, 7, 9, 0, 0, 0, ny),
			[]time.Time{time.Date(2026, 3, 7, 14, 0, 0, 0, utc).Add(23 * time.Hour)}},
		// 1 November 2026: New York falls back from 02:00 EDT to 01:00 EST. 01:30 happens twice.
		{"fall back: a repeated time runs once", "30 1 * * *", "America/New_York", time.Date(2026, 10, 31, 12, 0, 0, 0, ny),
			[]time.Time{
				time.Date(2026, 11, 1, 5, 30, 0, 0, utc), // 01:30 EDT
				time.Date(2026, 11, 2, 6, 30, 0, 0, utc), // next day, 01:30 EST
			}},
		// The example 1: a fixed hour field runs the repeated hour once, in its first pass.
		{"fall back: a fixed hour runs the repeated hour once", "*/15 1-3 * * *", "America/New_York", time.Date(2026, 11, 1, 4, 59, 0, 0, utc),
			[]time.Time{
				time.Date(2026, 11, 1, 5, 0, 0, 0, utc), time.Date(2026, 11, 1, 5, 15, 0, 0, utc), // 01:00, 01:15 EDT
				time.Date(2026, 11, 1, 5, 30, 0, 0, utc), time.Date(2026, 11, 1, 5, 45, 0, 0, utc),
				time.Date(2026, 11, 1, 7, 0, 0, 0, utc), // 02:00 EST: 01:00-01:45 EST are skipped
			}},
		{"fall back: started in the second pass, a fixed hour waits for the next day", "30 1 * * *", "America/New_York", time.Date(2026, 11, 1, 6, 10, 0, 0, utc),
			[]time.Time{time.Date(2026, 11, 2, 6, 30, 0, 0, utc)}},
		{"fall back: an interval runs in both passes", "30 * * * *", "America/New_York", time.Date(2026, 11, 1, 5, 0, 0, 0, utc),
			[]time.Time{time.Date(2026, 11, 1, 5, 30, 0, 0, utc), time.Date(2026, 11, 1, 6, 30, 0, 0, utc), time.Date(2026, 11, 1, 7, 30, 0, 0, utc)}},
		{"every 1h ignores the wall clock", "@every 1h", "America/New_York", time.Date(2026, 11, 1, 4, 30, 0, 0, utc),
			[]time.Time{time.Date(2026, 11, 1, 5, 0, 0, 0, utc), time.Date(2026, 11, 1, 6, 0, 0, 0, utc), time.Date(2026, 11, 1, 7, 0, 0, 0, utc)}},
		{"every 7s is aligned to the Unix epoch", "@every 7s", "", time.Unix(1000, 0),
			[]time.Time{time.Unix(1001, 0), time.Unix(1008, 0)}},
		{"every 1.5s is aligned to the Unix epoch", "@every 1500ms", "", time.Unix(1000, 0),
			[]time.Time{time.Unix(1000, 500_000_000), time.Unix(1002, 0)}},
		{"every 1.5s after 2262", "@every 1500ms", "", time.Date(2300, 1, 1, 0, 0, 0, 0, utc),
			[]time.Time{time.Date(2300, 1, 1, 0, 0, 1, 500_000_000, utc), time.Date(2300, 1, 1, 0, 0, 3, 0, utc)}},
		{"every 1.5s before 1678", "@every 1500ms", "", time.Date(1600, 1, 1, 0, 0, 0, 0, utc),
			[]time.Time{time.Date(1600, 1, 1, 0, 0, 1, 500_000_000, utc), time.Date(1600, 1, 1, 0, 0, 3, 0, utc)}},
		{"weekdays before year 1", "0 0 * * MON", "", time.Date(-5, 3, 1, 0, 0, 0, 0, utc),
			[]time.Time{time.Date(-5, 3, 6, 0, 0, 0, 0, utc)}},
		// Lord Howe Island: a 30-minute change. 5 April 2026 02:00 (+11) back to 01:30 (+10:30);
		// 4 October 2026 02:00 (+10:30) forward to 02:30 (+11).
		{"Lord Howe: @daily runs on the day clocks go back", "@daily", "Australia/Lord_Howe", time.Date(2026, 4, 4, 12, 0, 0, 0, utc),
			[]time.Time{time.Date(2026, 4, 4, 13, 0, 0, 0, utc), time.Date(2026, 4, 5, 13, 30, 0, 0, utc)}},
		{"Lord Howe: 09:00 runs on the day clocks go forward", "0 9 * * *", "Australia/Lord_Howe", time.Date(2026, 10, 3, 12, 0, 0, 0, utc),
			[]time.Time{time.Date(2026, 10, 3, 22, 0, 0, 0, utc)}},
		{"Lord Howe: 01:30 runs at 01:30, before the gap", "30 1 * * *", "Australia/Lord_Howe", time.Date(2026, 10, 3, 12, 0, 0, 0, utc),
			[]time.Time{time.Date(2026, 10, 3, 15, 0, 0, 0, utc), time.Date(2026, 10, 4, 14, 30, 0, 0, utc)}},
		{"Lord Howe: 02:15 runs at 02:30 when it doesn't exist", "15 2 * * *", "Australia/Lord_Howe", time.Date(2026, 10, 3, 12, 0, 0, 0, utc),
			[]time.Time{time.Date(2026, 10, 3, 15, 30, 0, 0, utc), time.Date(2026, 10, 4, 15, 15, 0, 0, utc)}},
		// Chatham: 45-minute offsets. 5 April 2026 03:45 (+13:45) back to 02:45 (+12:45).
		{"Chatham: Next moves forward", "50 3 * * *", "Pacific/Chatham", time.Date(2026, 4, 3, 14, 0, 0, 0, utc),
			[]time.Time{time.Date(2026, 4, 3, 14, 5, 0, 0, utc), time.Date(2026, 4, 4, 15, 5, 0, 0, utc)}},
		{"Chatham: a repeated 03:00 does not run again", "0 3 * * *", "Pacific/Chatham", time.Date(2026, 4, 4, 13, 59, 59, 0, utc),
			[]time.Time{time.Date(2026, 4, 5, 14, 15, 0, 0, utc)}},
		// Havana changes at midnight: 8 March 2026 00:00 forward to 01:00.
		{"Havana: midnight that doesn't exist runs at 01:00", "@daily", "America/Havana", time.Date(2026, 3, 7, 12, 0, 0, 0, utc),
			[]time.Time{time.Date(2026, 3, 8, 5, 0, 0, 0, utc), time.Date(2026, 3, 9, 4, 0, 0, 0, utc)}},
		{"29 February comes after 2096 too", "0 0 29 2 *", "", time.Date(2096, 3, 1, 0, 0, 0, 0, utc),
			[]time.Time{time.Date(2104, 2, 29, 0, 0, 0, 0, utc), time.Date(2108, 2, 29, 0, 0, 0, 0, utc)}},
		{"both day fields restricted: either day", "0 0 1,15 * MON", "", time.Date(2026, 11, 27, 0, 0, 0, 0, utc),
			[]time.Time{time.Date(2026, 11, 30, 0, 0, 0, 0, utc), time.Date(2026, 12, 1, 0, 0, 0, 0, utc), time.Date(2026, 12, 7, 0, 0, 0, 0, utc)}},
		{"a day field starting with *: both days", "0 0 */2 * 1", "", time.Date(2026, 11, 27, 0, 0, 0, 0, utc),
			[]time.Time{time.Date(2026, 12, 7, 0, 0, 0, 0, utc), time.Date(2026, 12, 21, 0, 0, 0, 0, utc)}},
		{"7 is Sunday", "0 12 * * 7", "", time.Date(2026, 11, 27, 0, 0, 0, 0, utc),
			[]time.Time{time.Date(2026, 11, 29, 12, 0, 0, 0, utc)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSchedule(tt.spec, tt.tz)
			if err != nil {
				t.Fatal(err)
			}
			at := tt.after
			for i, want := range tt.want {
				got := s.Next(at)
				if !got.Equal(want) {
					t.Fatalf("occurrence %d after %v: got %v, want %v", i+1, at, got.UTC(), want.UTC())
				}
				at = got
			}
		})
	}
}

func TestScheduleOccurrences(t *testing.T) {
	s, err := ParseSchedule("*/10 * * * *", "")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	got := s.Occurrences(from, from.Add(time.Hour), 100)
	if len(got) != 6 || !got[0].Equal(from.Add(10*time.Minute)) || !got[5].Equal(from.Add(time.Hour)) {
		t.Fatalf("got %v", got)
	}
	if got := s.Occurrences(from, from.Add(time.Hour), 2); len(got) != 2 {
		t.Fatalf("limit ignored: %v", got)
	}
	if got := s.Occurrences(from, from.Add(5*time.Minute), 10); len(got) != 0 {
		t.Fatalf("want none, got %v", got)
	}
}

func TestScheduleNotes(t *testing.T) {
	utc := time.UTC
	tests := []struct {
		name, spec, tz string
		after          time.Time
		wantAt         time.Time
		wantNote       string
	}{
		{"a skipped time", "30 2 * * *", "Europe/Berlin", time.Date(2027, 3, 27, 12, 0, 0, 0, utc),
			time.Date(2027, 3, 28, 1, 0, 0, 0, utc), "02:30 does not exist on 28 Mar (clocks go forward from 02:00 to 03:00): runs at 03:00"},
		{"several skipped times", "*/20 2 * * *", "Europe/Berlin", time.Date(2027, 3, 27, 12, 0, 0, 0, utc),
			time.Date(2027, 3, 28, 1, 0, 0, 0, utc), "02:00 to 02:40 do not exist on 28 Mar (clocks go forward from 02:00 to 03:00): runs once, at 03:00"},
		{"a repeated time, fixed hour", "30 2 * * *", "Europe/Berlin", time.Date(2027, 10, 30, 12, 0, 0, 0, utc),
			time.Date(2027, 10, 31, 0, 30, 0, 0, utc), "02:30 happens twice on 31 Oct (clocks go back from 03:00 to 02:00): runs once, at the first (CEST)"},
		{"a repeated time, interval: first", "30 * * * *", "Europe/Berlin", time.Date(2027, 10, 31, 0, 0, 0, 0, utc),
			time.Date(2027, 10, 31, 0, 30, 0, 0, utc), "02:30 happens twice on 31 Oct (clocks go back from 03:00 to 02:00): this is the first, CEST; the second runs too"},
		{"Havana at midnight", "@daily", "America/Havana", time.Date(2027, 3, 13, 0, 0, 0, 0, utc),
			time.Date(2027, 3, 14, 5, 0, 0, 0, utc), "00:00 does not exist on 14 Mar (clocks go forward from 00:00 to 01:00): runs at 01:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSchedule(tt.spec, tt.tz)
			if err != nil {
				t.Fatal(err)
			}
			o, ok := s.NextClockNote(tt.after, 365*24*time.Hour)
			if !ok || !o.At.Equal(tt.wantAt) || o.Note != tt.wantNote {
				t.Fatalf("got %v %v %q, want %v %q", ok, o.At.UTC(), o.Note, tt.wantAt, tt.wantNote)
			}
			up := s.Upcoming(tt.after, 400)
			found := false
			for _, u := range up {
				if u.At.Equal(tt.wantAt) {
					found = u.Note == tt.wantNote
				}
			}
			if !found {
				t.Fatalf("Upcoming does not carry the note at %v", tt.wantAt)
			}
		})
	}
	// The second pass of an interval schedule says so too.
	s, _ := ParseSchedule("30 * * * *", "Europe/Berlin")
	up := s.Upcoming(time.Date(2027, 10, 31, 0, 0, 0, 0, utc), 2)
	if len(up) != 2 || up[1].Note != "the second 02:30 on 31 Oct (clocks went back from 03:00 to 02:00, CET): the schedule keeps its interval" {
		t.Fatalf("second pass: %+v", up)
	}
	// Nothing to say: a schedule clear of the change, an interval, a zone without changes.
	for _, tc := range []struct{ spec, tz string }{{"0 9 * * *", "Europe/Berlin"}, {"@every 1h", "Europe/Berlin"}, {"30 2 * * *", "Asia/Kolkata"}} {
		s, _ := ParseSchedule(tc.spec, tc.tz)
		if o, ok := s.NextClockNote(time.Date(2027, 1, 1, 0, 0, 0, 0, utc), 365*24*time.Hour); ok {
			t.Errorf("%q in %s: unexpected note %+v", tc.spec, tc.tz, o)
		}
	}
}
