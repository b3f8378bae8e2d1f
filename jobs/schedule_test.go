package jobs

import (
	"errors"
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
	for _, tc := range []struct{ spec, tz string }{
		{"", ""},
		{"* * * *", ""},      // 4 fields
		{"61 * * * *", ""},   // minute out of range
		{"* * 32 * *", ""},   // day out of range
		{"0 0 30 2 *", ""},   // February 30th never comes
		{"@every", ""},       // no duration
		{"@every 500ms", ""}, // below 1s
		{"@every soon", ""},  // not a duration
		{"@fortnightly", ""}, // unknown descriptor
		{"CRON_TZ=UTC * * * * *", ""},
		{"* * * * *", "Mars/Olympus"},
		{"* * * * *", "Local"},
	} {
		if _, err := ParseSchedule(tc.spec, tc.tz); !errors.Is(err, ErrInvalidSchedule) {
			t.Errorf("ParseSchedule(%q, %q) = %v, want ErrInvalidSchedule", tc.spec, tc.tz, err)
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
		// 8 March 2026: New York skips from 02:00 to 03:00. 02:30 doesn't exist that day.
		{"spring forward: a missing time is skipped that day", "30 2 * * *", "America/New_York", time.Date(2026, 3, 7, 12, 0, 0, 0, ny),
			[]time.Time{time.Date(2026, 3, 9, 2, 30, 0, 0, ny)}},
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
		{"every 1h ignores the wall clock", "@every 1h", "America/New_York", time.Date(2026, 11, 1, 4, 30, 0, 0, utc),
			[]time.Time{time.Date(2026, 11, 1, 5, 0, 0, 0, utc), time.Date(2026, 11, 1, 6, 0, 0, 0, utc), time.Date(2026, 11, 1, 7, 0, 0, 0, utc)}},
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
