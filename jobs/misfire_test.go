package jobs

import (
	"testing"
	"time"

	"github.com/kilnhq/kiln/models"
)

func TestDueOccurrences(t *testing.T) {
	minutely, err := ParseSchedule("* * * * *", "")
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
	tests := []struct {
		name   string
		policy string
		next   time.Time // the entry's recorded next occurrence
		now    time.Time
		want   []time.Time
	}{
		{"not due yet", models.MisfireRelaxed, at(5), at(4), nil},
		{"on time: relaxed", models.MisfireRelaxed, at(5), at(5).Add(20 * time.Millisecond), []time.Time{at(5)}},
		{"on time: strict", models.MisfireStrict, at(5), at(5).Add(time.Second), []time.Time{at(5)}},
		{"on time: ignore", models.MisfireIgnore, at(5), at(5).Add(time.Second), []time.Time{at(5)}},
		{"missed 10: relaxed runs once, for the latest", models.MisfireRelaxed, at(0), at(9).Add(30 * time.Second), []time.Time{at(9)}},
		{"missed 10: strict runs each", models.MisfireStrict, at(0), at(9).Add(30 * time.Second),
			[]time.Time{at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7), at(8), at(9)}},
		{"missed 10: ignore runs the latest only if recent", models.MisfireIgnore, at(0), at(9).Add(30 * time.Second), []time.Time{at(9)}},
		// 59 s after minute 9 the latest occurrence is more than the 30 s threshold old.
		{"missed, latest too old: ignore runs none", models.MisfireIgnore, at(0), at(9).Add(59 * time.Second), nil},
		{"missed 200: strict is capped to the latest", models.MisfireStrict, at(0), at(199), nil}, // checked below
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := dueOccurrences(minutely, tt.next, tt.now, tt.policy, 30*time.Second, 100)
			if tt.name == "missed 200: strict is capped to the latest" {
				if len(got) != 100 || !got[0].Equal(at(100)) || !got[99].Equal(at(199)) {
					t.Fatalf("got %d occurrences from %v to %v", len(got), got[0], got[len(got)-1])
				}
				return
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if !got[i].Equal(tt.want[i]) {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// A year without a server, on an every-second schedule: catching up looks at the occurrences
// it keeps, not all 31 million missed (which the old loop walked one by one, capped at 10
// million, and so got the latest wrong).
func TestDueOccurrencesAfterALongOutage(t *testing.T) {
	s, err := ParseSchedule("* * * * * *", "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 10, 0, 30, 500, time.UTC)
	next := now.AddDate(-1, 0, 0)
	if got := dueOccurrences(s, next, now, models.MisfireRelaxed, time.Minute, 100); len(got) != 1 || !got[0].Equal(now.Truncate(time.Second)) {
		t.Fatalf("relaxed: got %v", got)
	}
	got := dueOccurrences(s, next, now, models.MisfireStrict, time.Minute, 100)
	if len(got) != 100 || !got[99].Equal(now.Truncate(time.Second)) || !got[0].Equal(now.Truncate(time.Second).Add(-99*time.Second)) {
		t.Fatalf("strict: got %d from %v to %v", len(got), got[0], got[len(got)-1])
	}
	// A schedule that fires in January only, a year late: the window keeps doubling back to it.
	jan, err := ParseSchedule("0 0 12 1 1 *", "UTC")
	if err != nil {
		t.Fatal(err)
	}
	got = dueOccurrences(jan, time.Date(2020, 1, 1, 12, 0, 0, 0, time.UTC), now, models.MisfireStrict, time.Minute, 3)
	want := []time.Time{time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC), time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	if len(got) != 3 || !got[0].Equal(want[0]) || !got[2].Equal(want[2]) {
		t.Fatalf("strict, yearly: got %v, want %v", got, want)
	}
	// The recorded next occurrence itself counts when the window reaches back to it.
	got = dueOccurrences(jan, time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC), now, models.MisfireStrict, time.Minute, 3)
	if len(got) != 1 || !got[0].Equal(want[2]) {
		t.Fatalf("strict, one missed: got %v", got)
	}
}
