package jobs

import (
	"testing"
	"time"
)

// Fuzz target for what users type as schedules. CI runs it for a few seconds from the seeds
// below (make fuzz); run it longer with:
//
//	go test -run '^$' -fuzz '^FuzzSchedule$' -fuzztime 10m ./jobs/

// FuzzSchedule: any spec and zone either parses or is refused with an error, never a panic; a
// schedule that parses describes itself, and its occurrences come after the instant asked
// about, in order, each found quickly.
func FuzzSchedule(f *testing.F) {
	for _, s := range [][2]string{
		{"*/5 * * * *", "Europe/Berlin"}, {"30 2 * * *", "America/New_York"}, {"0 0 29 2 *", "UTC"},
		{"@every 90s", "UTC"}, {"1m", "Local"}, {"@daily", "Australia/Lord_Howe"}, {"0 9 * * MON-FRI", "Asia/Kolkata"},
		{"7/n * * * *", "UTC"}, {"* * * * * *", "Pacific/Chatham"}, {"@every 9223372036854775807s", "UTC"},
		{"0 0 31 4 *", "UTC"}, {"59 23 L * *", "UTC"}, {"0 2 * * 0#2", "UTC"}, {"*/48 * * * *", "Mars/Olympus"},
		{"0-59/7 0-23/5 1-31/3 1-12/2 0-6/4", "Etc/GMT+14"}, {"", ""}, {"\x00", "../../etc/passwd"},
	} {
		f.Add(s[0], s[1], int64(1_774_746_000)) // 2026-03-29, a spring-forward day in Europe
		f.Add(s[0], s[1], int64(-62_135_596_800))
	}
	f.Fuzz(func(t *testing.T, spec, tz string, unix int64) {
		s, err := ParseSchedule(spec, tz)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("refused %q in %q without a message", spec, tz)
			}
			return
		}
		_ = s.Describe()
		if unix < -62_135_596_800 || unix > 253_402_300_799 { // years 1 to 9999
			return
		}
		at := time.Unix(unix, 0)
		var (
			next time.Time
			occ  []Occurrence
		)
		done := make(chan struct{})
		go func() { // a schedule that never finds its next run must fail, not hang the fuzzer
			defer close(done)
			occ, next = s.Upcoming(at, 3), s.Next(at)
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatalf("%q in %q: no 3 occurrences after %v within 2 s", spec, tz, at)
		}
		prev := at
		for _, o := range occ {
			if !o.At.After(prev) {
				t.Fatalf("%q in %q after %v: %v is not after %v", spec, tz, at, o.At, prev)
			}
			prev = o.At
		}
		if !next.IsZero() && !next.After(at) {
			t.Fatalf("%q in %q: Next(%v) = %v", spec, tz, at, next)
		}
	})
}
