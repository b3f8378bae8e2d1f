package components

import (
	"testing"
	"time"
)

func TestRelative(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "just now"},
		{-59 * time.Second, "just now"},
		{30 * time.Second, "in under a minute"},
		{5 * time.Minute, "in 5 min"},
		{-5*time.Minute - 30*time.Second, "5 min ago"},
		{3 * time.Hour, "in 3 h"},
		{3*time.Hour + 59*time.Minute, "in 3 h"},
		{-23 * time.Hour, "23 h ago"},
		{-24 * time.Hour, "1 day ago"},
		{-49 * time.Hour, "2 days ago"},
		{29 * 24 * time.Hour, "in 29 days"},
		{-60 * 24 * time.Hour, "2 months ago"},
		{400 * 24 * time.Hour, "in 1 year"},
		{-800 * 24 * time.Hour, "2 years ago"},
	}
	for _, tt := range tests {
		if got := Relative(now.Add(tt.d), now); got != tt.want {
			t.Errorf("Relative(now%+v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestMomentFormats(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	m := Moment{At: time.Date(2026, 7, 1, 9, 30, 0, 0, ny), Now: time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)}
	if got, want := m.Exact(), "Wed 1 Jul 2026, 09:30"; got != want {
		t.Errorf("Exact = %q, want %q", got, want)
	}
	if got, want := m.ISO(), "2026-07-01T13:30:00Z"; got != want {
		t.Errorf("ISO = %q, want %q", got, want)
	}
	if got, want := m.Full(), "Wed 1 Jul 2026, 09:30:00 EDT (UTC-04:00) = 13:30:00 UTC"; got != want {
		t.Errorf("Full = %q, want %q", got, want)
	}
	if got, want := m.Relative(), "in 1 h"; got != want {
		t.Errorf("Relative = %q, want %q", got, want)
	}
	late := Moment{At: time.Date(2026, 7, 1, 22, 15, 0, 0, ny)}
	if got, want := late.Full(), "Wed 1 Jul 2026, 22:15:00 EDT (UTC-04:00) = Thu 2 Jul, 02:15:00 UTC"; got != want {
		t.Errorf("Full across midnight = %q, want %q", got, want)
	}
	utc := Moment{At: time.Date(2026, 7, 1, 9, 30, 0, 0, time.UTC)}
	if got, want := utc.Full(), "Wed 1 Jul 2026, 09:30:00 UTC (UTC+00:00)"; got != want {
		t.Errorf("Full in UTC = %q, want %q", got, want)
	}
}
