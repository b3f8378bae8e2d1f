package models

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Each kind's outcomes per hour, with a histogram of how long its runs took, are kept as jobs
// finish (in the finish's transaction), so the kinds page reads a few hundred rows, never the
// jobs. A row counts the runs of one kind, in one hour, on one node (Store.statNode), whose
// duration fell in one slot: slot s holds the durations from 2^(s/2) to 2^((s+1)/2)
// microseconds, so a quantile read from the slots is within a slot (a factor of √2, 41%) of the
// true one, and far closer when runs spread over several slots. Runs of no-op
// jobs spread over about eight slots; real jobs over fewer.

// KindStatSlots is how many duration slots there are: the last holds every run of 2^39.5 µs
// (about 9 days) or more.
const KindStatSlots = 80

// KindStat counts the runs of a kind that succeeded or failed in one hour on one node and took
// a duration within one slot.
type KindStat struct {
	Bucket    time.Time `gorm:"primaryKey"` // start of the hour, UTC
	Kind      string    `gorm:"primaryKey"`
	Node      int       `gorm:"primaryKey"`
	Slot      int       `gorm:"primaryKey"`
	Succeeded int64
	Failed    int64
	TotalNS   int64 `gorm:"column:total_ns"` // the durations' sum
	MaxNS     int64 `gorm:"column:max_ns"`   // the longest
}

// TableName names KindStat's table.
func (KindStat) TableName() string { return "kind_stats" }

// DurationSlot is the histogram slot of a run that took d. PostgreSQL's finish computes the
// same in SQL (models/postgres/finish.go).
func DurationSlot(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us <= 1 {
		return 0
	}
	return min(int(math.Floor(2*math.Log2(us))), KindStatSlots-1)
}

// SlotStart is the shortest duration of slot s.
func SlotStart(s int) time.Duration {
	return time.Duration(math.Pow(2, float64(s)/2) * float64(time.Microsecond))
}

type kindSlot struct {
	kind string
	slot int
}

// kindStatDelta accumulates what one transaction adds to the kinds' stats.
type kindStatDelta map[kindSlot]*KindStat

// add counts a run of kind that ended in state after d; only successes and failures count.
func (k kindStatDelta) add(kind string, state JobState, d time.Duration) {
	if state != JobSucceeded && state != JobFailed {
		return
	}
	d = max(d, 0)
	key := kindSlot{kind, DurationSlot(d)}
	st := k[key]
	if st == nil {
		st = &KindStat{Kind: kind, Slot: key.slot}
		k[key] = st
	}
	if state == JobSucceeded {
		st.Succeeded++
	} else {
		st.Failed++
	}
	st.TotalNS += int64(d)
	st.MaxNS = max(st.MaxNS, int64(d))
}

// addKindStats adds k to the kinds' stats of the hour of at, a row at a time through a
// prepared statement (a GORM upsert per batch cost SQLite's burn-down 7%), in key order (as
// PostgreSQL's finish writes them) so that concurrent writers don't deadlock.
func (s *conn) addKindStats(tx *gorm.DB, k kindStatDelta, at time.Time) error {
	if len(k) == 0 {
		return nil
	}
	keys := make([]kindSlot, 0, len(k))
	for key := range k {
		keys = append(keys, key)
	}
	slices.SortFunc(keys, func(a, b kindSlot) int {
		if c := strings.Compare(a.kind, b.kind); c != 0 {
			return c
		}
		return a.slot - b.slot
	})
	stmt, ctx, err := txStmt(tx, s.hot.kindStat)
	if err != nil {
		return err
	}
	bucket := at.UTC().Truncate(time.Hour)
	for _, key := range keys {
		st := k[key]
		if _, err := stmt.ExecContext(ctx, bucket, key.kind, s.statNode, key.slot, st.Succeeded, st.Failed, st.TotalNS, st.MaxNS); err != nil {
			return fmt.Errorf("models: kind stats: %w", err)
		}
	}
	return nil
}

// KindStats returns the kinds' stats from the hour of since on, summed over nodes, for one kind
// or ("") for every kind, ordered by kind, hour and slot.
func (s jobQueries) KindStats(ctx context.Context, kind string, since time.Time) ([]KindStat, error) {
	q := s.rdb.WithContext(ctx).Model(&KindStat{}).
		Select("bucket, kind, slot, SUM(succeeded) AS succeeded, SUM(failed) AS failed, SUM(total_ns) AS total_ns, MAX(max_ns) AS max_ns").
		Where("bucket >= ?", since.UTC().Truncate(time.Hour))
	if kind != "" {
		q = q.Where("kind = ?", kind)
	}
	var out []KindStat
	if err := q.Group("bucket, kind, slot").Order("kind, bucket, slot").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: kind stats: %w", err)
	}
	return out, nil
}

// DurationSummary sums a kind's stats rows: how many runs succeeded and failed, and how long
// they took.
type DurationSummary struct {
	Succeeded, Failed int64
	// P50 and P95 are estimates within a slot's width (41% at worst); Max and Mean are exact.
	P50, P95, Max, Mean time.Duration
}

// SummarizeKindStats sums rows (of one kind) into a DurationSummary.
func SummarizeKindStats(rows []KindStat) DurationSummary {
	var (
		out   DurationSummary
		slots [KindStatSlots]int64
		total int64
	)
	for _, r := range rows {
		out.Succeeded += r.Succeeded
		out.Failed += r.Failed
		total += r.TotalNS
		out.Max = max(out.Max, time.Duration(r.MaxNS))
		if r.Slot >= 0 && r.Slot < KindStatSlots {
			slots[r.Slot] += r.Succeeded + r.Failed
		}
	}
	n := out.Succeeded + out.Failed
	if n == 0 {
		return out
	}
	out.Mean = time.Duration(total / n)
	out.P50 = quantile(slots[:], n, 0.50, out.Max)
	out.P95 = quantile(slots[:], n, 0.95, out.Max)
	return out
}

// quantile estimates the q-quantile of n durations counted in slots: it finds the slot of the
// run at that rank and places it within the slot geometrically, never beyond the longest run.
func quantile(slots []int64, n int64, q float64, longest time.Duration) time.Duration {
	rank := q * float64(n)
	var seen int64
	for s, c := range slots {
		if c == 0 {
			continue
		}
		if float64(seen+c) >= rank {
			frac := (rank - float64(seen)) / float64(c)
			lo, hi := float64(SlotStart(s)), float64(SlotStart(s+1))
			if s == 0 {
				lo = 0
			}
			var d float64
			if lo <= 0 {
				d = hi * frac
			} else {
				d = lo * math.Pow(hi/lo, frac)
			}
			return min(time.Duration(d), longest)
		}
		seen += c
	}
	return longest
}

// FailureGroup is a kind's recent failed jobs that failed with the same message.
type FailureGroup struct {
	// Message is the first line of the error.
	Message string
	Count   int
	// LastJobID and LastAt are the newest of them.
	LastJobID int64
	LastAt    *time.Time
}

// KindFailures groups the kind's newest failed jobs (at most scan of them, through an index that
// holds failed jobs only) by the first line of their error, most frequent first.
func (s jobQueries) KindFailures(ctx context.Context, kind string, scan int) ([]FailureGroup, error) {
	var rows []struct {
		ID         int64
		LastError  string
		FinishedAt *time.Time
	}
	err := s.rdb.WithContext(ctx).Model(&Job{}).Select("id, last_error, finished_at").
		Where("kind = ? AND state = ?", kind, JobFailed).Order("id DESC").Limit(scan).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("models: failures of kind %s: %w", kind, err)
	}
	var out []FailureGroup
	at := map[string]int{}
	for _, r := range rows {
		msg := truncate(strings.TrimSpace(FirstLine(strings.TrimSpace(r.LastError))), 300)
		i, ok := at[msg]
		if !ok {
			i = len(out)
			at[msg] = i
			out = append(out, FailureGroup{Message: msg, LastJobID: r.ID, LastAt: r.FinishedAt})
		}
		out[i].Count++
	}
	slices.SortStableFunc(out, func(a, b FailureGroup) int { return int(b.Count - a.Count) })
	return out, nil
}
