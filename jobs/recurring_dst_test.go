package jobs_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// The engine crosses a real clock change on a fake clock, one minute at a time, with gocron's
// timers running on that clock: each occurrence is enqueued once and none is missed. The
// expected instants are written out by hand from the rules in the README.
func TestRecurringAcrossClockChanges(t *testing.T) {
	utc := func(h, m int, day time.Time) int64 {
		return time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, time.UTC).Unix()
	}
	every30 := func(from, to time.Time) []int64 {
		var out []int64
		for t := from; !t.After(to); t = t.Add(30 * time.Minute) {
			out = append(out, t.Unix())
		}
		return out
	}
	fallBack := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)     // New York: 06:00Z, 02:00 EDT -> 01:00 EST
	springForward := time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC) // New York: 07:00Z, 02:00 EST -> 03:00 EDT
	scenarios := []struct {
		name     string
		from, to time.Time // the fake clock's walk
		want     map[string][]int64
	}{
		{
			name: "fall back", from: fallBack.Add(3*time.Hour + 30*time.Minute), to: fallBack.Add(10 * time.Hour),
			want: map[string][]int64{
				// 01:30 happens twice; it runs once, at 01:30 EDT.
				"once": {utc(5, 30, fallBack)},
				// An interval keeps going through both passes of 01:00-02:00.
				"interval": every30(fallBack.Add(4*time.Hour), fallBack.Add(10*time.Hour)),
				// A fixed hour range runs 01:00-01:45 in the first pass only, then 02:00-03:45 EST.
				"range": {utc(5, 0, fallBack), utc(5, 15, fallBack), utc(5, 30, fallBack), utc(5, 45, fallBack),
					utc(7, 0, fallBack), utc(7, 15, fallBack), utc(7, 30, fallBack), utc(7, 45, fallBack),
					utc(8, 0, fallBack), utc(8, 15, fallBack), utc(8, 30, fallBack), utc(8, 45, fallBack)},
			},
		},
		{
			name: "spring forward", from: springForward.Add(4*time.Hour + 30*time.Minute), to: springForward.Add(10 * time.Hour),
			want: map[string][]int64{
				// 01:30 EST exists: it runs as usual.
				"once": {utc(6, 30, springForward)},
				// 02:00 to 02:59 don't exist; the interval goes on at 03:00 EDT.
				"interval": every30(springForward.Add(5*time.Hour), springForward.Add(10*time.Hour)),
				// 01:00-01:45 EST, then the skipped 02:00-02:45 run once at 03:00 EDT, then 03:00-03:45
				// EDT: 03:00 is both, and runs once.
				"range": {utc(6, 0, springForward), utc(6, 15, springForward), utc(6, 30, springForward), utc(6, 45, springForward),
					utc(7, 0, springForward), utc(7, 15, springForward), utc(7, 30, springForward), utc(7, 45, springForward)},
				// 02:30 doesn't exist: it runs at 03:00 EDT.
				"missing": {utc(7, 0, springForward)},
			},
		},
	}
	specs := map[string]string{"once": "30 1 * * *", "interval": "*/30 * * * *", "range": "*/15 1-3 * * *", "missing": "30 2 * * *"}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
				clock := clockwork.NewFakeClockAt(sc.from)
				cfg := fast()
				cfg.NoWorkers = true
				logs := &syncBuffer{}
				cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				defer func() {
					if t.Failed() {
						t.Logf("engine log:\n%s", logs.String())
					}
				}()
				e := newEngine(t, s, cfg)
				jobs.SetClock(e, clock)
				require.NoError(t, e.Register("tick", func(context.Context, *models.Job) error { return nil }))
				for name := range sc.want {
					require.NoError(t, e.Recurring(name, specs[name], "tick", nil, jobs.TimeZone("America/New_York")))
				}
				start(t, e)
				for now := sc.from; !now.After(sc.to); now = now.Add(time.Minute) {
					if now.After(clock.Now()) {
						// gocron arms one timer per entry, after each firing. Moving the clock
						// before it has would make it skip the occurrence it missed, as it does
						// after a machine sleeps: a test's jump, not a real clock's walk.
						armed, cancel := context.WithTimeout(ctx, 10*time.Second)
						require.NoError(t, clock.BlockUntilContext(armed, len(sc.want)), "gocron armed its timers")
						cancel()
						clock.Advance(now.Sub(clock.Now()))
					}
					waitFired(t, s, sc.want, now)
				}
				got := map[string][]int64{}
				rows, err := s.Recurring.ListRecurring(ctx)
				require.NoError(t, err)
				names := map[int64]string{}
				for _, rj := range rows {
					names[rj.ID] = rj.Name
				}
				for _, j := range recurringJobs(t, s) {
					name := names[*j.RecurringID]
					got[name] = append(got[name], occurrence(t, j))
				}
				for name, want := range sc.want {
					sort.Slice(got[name], func(i, j int) bool { return got[name][i] < got[name][j] })
					require.Equal(t, showUnix(want), showUnix(got[name]), "%s (%s): each occurrence once, none missed", name, specs[name])
				}
			})
		})
	}
}

// waitFired waits until every entry has handled the occurrences due by now: its recorded next
// occurrence is later than now.
func waitFired(t *testing.T, s *models.Store, names map[string][]int64, now time.Time) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var late []string
		for name := range names {
			rj, err := s.Recurring.GetRecurring(ctx, name)
			require.NoError(t, err)
			if rj.NextRunAt == nil || !rj.NextRunAt.After(now) {
				late = append(late, fmt.Sprintf("%s (next %v)", name, rj.NextRunAt))
			}
		}
		if len(late) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("at %s these recurring jobs did not fire: %v", now.UTC().Format(time.RFC3339), late)
		}
		time.Sleep(time.Millisecond)
	}
}

func showUnix(us []int64) []string {
	ny, _ := time.LoadLocation("America/New_York")
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = fmt.Sprint(time.Unix(u, 0).In(ny).Format("15:04 MST"))
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for the engine's goroutines to log into.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
