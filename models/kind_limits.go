package models

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/kilnhq/kiln/models/driver"
)

// KindLimit caps how many jobs of a kind run at once (MaxRunning) and how many start per
// period (RateN per RatePerSeconds), across every node; 0 is no cap.
type KindLimit struct {
	Kind           string `gorm:"primaryKey"`
	MaxRunning     int
	RateN          int
	RatePerSeconds int64
	UpdatedAt      time.Time
}

// kindCodeLimit is what a server's code last said of a kind's limits.
type kindCodeLimit struct {
	Kind           string `gorm:"primaryKey"`
	MaxRunning     int
	RateN          int
	RatePerSeconds int64
}

func (kindCodeLimit) TableName() string { return "kind_code_limits" }

// ApplyCodeLimits stores the limits a server's code gives its kinds (0 included: a limit taken
// out of the code goes), but only where the code changed since a server last applied it: a
// limit set since on the kind's page (SetKindLimits) stays until the code changes.
// It returns the kinds whose limits it set.
func (s jobStore) ApplyCodeLimits(ctx context.Context, code []KindLimit) ([]string, error) {
	var seen []kindCodeLimit
	if err := s.db.WithContext(ctx).Find(&seen).Error; err != nil {
		return nil, fmt.Errorf("models: code limits: %w", err)
	}
	last := make(map[string]kindCodeLimit, len(seen))
	for _, r := range seen {
		last[r.Kind] = r
	}
	var set []string
	for _, l := range code {
		was, ok := last[l.Kind]
		if ok && was.MaxRunning == l.MaxRunning && was.RateN == l.RateN && was.RatePerSeconds == l.RatePerSeconds {
			continue
		}
		if !ok && l.MaxRunning == 0 && l.RateN == 0 {
			// Nothing said yet, and no limit: keep what the page set, note the code's word.
			if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(&kindCodeLimit{Kind: l.Kind}).Error; err != nil {
				return set, fmt.Errorf("models: code limits of kind %q: %w", l.Kind, err)
			}
			continue
		}
		if err := (kindStore{s.conn}).SetKindLimits(ctx, l.Kind, l); err != nil {
			return set, err
		}
		row := kindCodeLimit{Kind: l.Kind, MaxRunning: l.MaxRunning, RateN: l.RateN, RatePerSeconds: l.RatePerSeconds}
		if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
			return set, fmt.Errorf("models: code limits of kind %q: %w", l.Kind, err)
		}
		set = append(set, l.Kind)
	}
	return set, nil
}

// KindRateCount counts the jobs of a rate-limited kind started in one window.
type KindRateCount struct {
	Kind   string    `gorm:"primaryKey"`
	Bucket time.Time `gorm:"primaryKey"`
	N      int
}

// limitsTTL is how long a store trusts its copy of the limits before reading them again: a
// limit set on another node holds here within that time (one set here, at once).
const limitsTTL = time.Second

type limitCache struct {
	mu     sync.Mutex
	at     time.Time
	limits map[string]KindLimit
}

// SetKindLimits sets a kind's cap (MaxRunning) and rate (RateN per RatePerSeconds) together,
// in one transaction; zeros remove them.
func (s kindStore) SetKindLimits(ctx context.Context, kind string, l KindLimit) error {
	if l.MaxRunning < 0 || l.RateN < 0 || (l.RateN > 0 && l.RatePerSeconds < 1) {
		return Errorf(EINVALID, "Limits are at least 0, and a rate is per at least 1s: not %d at once, %d per %ds.", l.MaxRunning, l.RateN, l.RatePerSeconds)
	}
	per := l.RatePerSeconds
	if l.RateN == 0 {
		per = 0
	}
	return s.setKindLimit(ctx, kind, "limits", map[string]any{"max_running": l.MaxRunning, "rate_n": l.RateN, "rate_per_seconds": per})
}

func (s *conn) setKindLimit(ctx context.Context, kind, what string, set map[string]any) error {
	if err := KindName.Check(kind); err != nil {
		return err
	}
	err := s.change(ctx, func(tx *gorm.DB) error {
		var before KindLimit
		if err := tx.Where("kind = ?", kind).Limit(1).Find(&before).Error; err != nil {
			return err
		}
		changes := map[string]any{}
		was := map[string]int64{"max_running": int64(before.MaxRunning), "rate_n": int64(before.RateN), "rate_per_seconds": before.RatePerSeconds}
		for col, v := range set {
			if now := reflect.ValueOf(v).Int(); now != was[col] {
				changes[col] = AuditChange{Before: was[col], After: now}
			}
		}
		noteChange(ctx, "kind "+kind, changes)
		row := KindLimit{Kind: kind, UpdatedAt: time.Now().UTC()}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
			return err
		}
		set["updated_at"] = time.Now().UTC()
		if err := tx.Model(&KindLimit{}).Where("kind = ?", kind).Updates(set).Error; err != nil {
			return err
		}
		// A kind with no cap left has no row: claims go back to their fast path.
		return tx.Where("kind = ? AND max_running = 0 AND rate_n = 0", kind).Delete(&KindLimit{}).Error
	})
	if err != nil {
		return fmt.Errorf("models: %s limit of kind %q: %w", what, kind, err)
	}
	s.kindLimits.mu.Lock()
	s.kindLimits.at = time.Time{} // read again at the next claim
	s.kindLimits.mu.Unlock()
	return nil
}

// KindLimits returns every kind's caps, by kind.
func (s kindStore) KindLimits(ctx context.Context) (map[string]KindLimit, error) {
	var rows []KindLimit
	if err := s.rdb.WithContext(ctx).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("models: kind limits: %w", err)
	}
	out := make(map[string]KindLimit, len(rows))
	for _, r := range rows {
		out[r.Kind] = r
	}
	return out, nil
}

// rateBucket is the start of the window of per seconds that at falls in.
func rateBucket(at time.Time, perSeconds int64) time.Time {
	u := at.Unix()
	return time.Unix(u-u%perSeconds, 0).UTC()
}

// KindRateUsed is how many jobs of the kind started in the current window of its rate.
func (s kindStore) KindRateUsed(ctx context.Context, l KindLimit, now time.Time) (int, error) {
	if l.RateN <= 0 || l.RatePerSeconds <= 0 {
		return 0, nil
	}
	var counts []int
	err := s.rdb.WithContext(ctx).Model(&KindRateCount{}).Where("kind = ? AND bucket = ?", l.Kind, rateBucket(now, l.RatePerSeconds)).Pluck("n", &counts).Error
	if err != nil || len(counts) == 0 {
		return 0, err
	}
	return counts[0], nil
}

// KindCapped reports whether kind has a cap on running jobs, from the limits read at most
// limitsTTL ago (or the last ones read, when they can't be read now; false when none were).
// Asked for each finished job, it reads the database only once per limitsTTL, for a second at
// most: a database that doesn't answer must not hold an outcome back from being written.
func (s jobStore) KindCapped(ctx context.Context, kind string) bool {
	c := &s.kindLimits
	c.mu.Lock()
	l, fresh := c.limits, c.limits != nil && time.Since(c.at) < limitsTTL
	c.mu.Unlock()
	if !fresh {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		var err error
		if l, err = s.limits(ctx); err != nil {
			return false
		}
	}
	return l[kind].MaxRunning > 0
}

// limits is KindLimits, read at most once per limitsTTL.
func (s *conn) limits(ctx context.Context) (map[string]KindLimit, error) {
	c := &s.kindLimits
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.limits != nil && time.Since(c.at) < limitsTTL {
		return c.limits, nil
	}
	l, err := kindStore{s}.KindLimits(ctx)
	if err != nil {
		if c.limits != nil { // the last ones read, till the next try a TTL later
			c.at = time.Now()
			return c.limits, nil
		}
		return nil, err
	}
	c.limits, c.at = l, time.Now()
	return l, nil
}

// claimLimited is a claim while kinds have limits: in one transaction it locks the limits (so
// claims on every node take turns), counts the running jobs of limited kinds, and claims in
// the queue's order only as many of each limited kind as it has free slots. Jobs of other
// kinds, and of kinds with slots, are not held up by a full one.
func (s *conn) claimLimited(ctx context.Context, p ClaimParams, now time.Time) ([]*Job, error) {
	var jobs []*Job
	err := s.db.WithContext(ctx).Transaction(func(gtx *gorm.DB) error {
		jobs = nil
		_, tx := runToEnd(ctx, gtx)
		var limits []KindLimit
		if err := s.drv.LockRows(tx.Model(&KindLimit{}), "UPDATE").Order("kind").Find(&limits).Error; err != nil {
			return fmt.Errorf("models: lock kind limits: %w", err)
		}
		slots := map[string]int{}
		var kinds, capped []string
		for _, l := range limits {
			kinds = append(kinds, l.Kind)
			slots[l.Kind] = 1 << 30
			if l.MaxRunning > 0 {
				slots[l.Kind] = l.MaxRunning
				capped = append(capped, l.Kind)
			}
		}
		if len(capped) > 0 {
			var running []struct {
				Kind string
				N    int
			}
			if err := tx.Model(&Job{}).Select("kind, COUNT(*) AS n").Where("state = ? AND kind IN ?", JobProcessing, capped).
				Group("kind").Scan(&running).Error; err != nil {
				return fmt.Errorf("models: count running jobs: %w", err)
			}
			for _, r := range running {
				slots[r.Kind] -= r.N
			}
		}
		for _, l := range limits { // rates: what is left of the current window
			if l.RateN <= 0 || l.RatePerSeconds <= 0 {
				continue
			}
			var used []int
			if err := tx.Model(&KindRateCount{}).Where("kind = ? AND bucket = ?", l.Kind, rateBucket(now, l.RatePerSeconds)).
				Pluck("n", &used).Error; err != nil {
				return fmt.Errorf("models: rate of kind %q: %w", l.Kind, err)
			}
			left := l.RateN
			if len(used) > 0 {
				left -= used[0]
			}
			slots[l.Kind] = min(slots[l.Kind], left)
		}
		// Pick in the queue's order, skipping kinds without a free slot. A kind that fills up
		// while picking is left out of the next look, so that a long run of its jobs at the
		// head of the queue never hides the other kinds behind it (one look per limited kind
		// at most, plus one).
		var ids []int64
		for look := 0; look <= len(kinds) && len(ids) < p.Limit; look++ {
			var full []string
			for _, k := range kinds {
				if slots[k] <= 0 {
					full = append(full, k)
				}
			}
			want := p.Limit - len(ids)
			candidates, err := s.ops.ClaimCandidates(tx, driver.CandidateParams{Queue: p.Queue, Skip: full, Taken: ids, Limit: 2*want + 10})
			if err != nil {
				return fmt.Errorf("models: claim jobs: %w", err)
			}
			filled := false
			for _, c := range candidates {
				if len(ids) == p.Limit {
					break
				}
				if n, limited := slots[c.Kind]; limited {
					if n <= 0 {
						continue
					}
					slots[c.Kind] = n - 1
					filled = filled || n == 1
				}
				ids = append(ids, c.ID)
			}
			if len(candidates) < 2*want+10 || !filled {
				break // the queue has no more, or no kind filled up: another look finds nothing new
			}
		}
		if len(ids) == 0 {
			return nil
		}
		claimed, err := s.ops.ClaimLimited(tx, driver.ClaimLimitedParams{IDs: ids, ServerID: p.ServerID, StartedAt: now, LeaseUntil: now.Add(p.Lease)})
		if err != nil {
			return fmt.Errorf("models: claim jobs: %w", err)
		}
		jobs = claimedJobs(claimed, p, now)
		if len(jobs) == 0 {
			return nil
		}
		if err := s.countRates(tx, limits, jobs, now); err != nil {
			return err
		}
		counts := countDelta{}
		for _, j := range jobs {
			counts.move(p.Queue, j.Kind, JobEnqueued, JobProcessing, 1)
		}
		return s.writeCounts(tx, counts)
	})
	if err != nil {
		return nil, err
	}
	return jobs, nil
}

// countRates adds the jobs just claimed to their rate-limited kinds' current windows, and
// drops windows long past.
func (s *conn) countRates(tx *gorm.DB, limits []KindLimit, jobs []*Job, now time.Time) error {
	for _, l := range limits {
		if l.RateN <= 0 || l.RatePerSeconds <= 0 {
			continue
		}
		n := 0
		for _, j := range jobs {
			if j.Kind == l.Kind {
				n++
			}
		}
		if n == 0 {
			continue
		}
		bucket := rateBucket(now, l.RatePerSeconds)
		err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "kind"}, {Name: "bucket"}},
			DoUpdates: clause.Assignments(map[string]any{"n": gorm.Expr("kind_rate_counts.n + excluded.n")})}).
			Create(&KindRateCount{Kind: l.Kind, Bucket: bucket, N: n}).Error
		if err != nil {
			return fmt.Errorf("models: count rate of kind %q: %w", l.Kind, err)
		}
		if err := tx.Where("kind = ? AND bucket < ?", l.Kind, bucket).Delete(&KindRateCount{}).Error; err != nil {
			return fmt.Errorf("models: old rate windows of kind %q: %w", l.Kind, err)
		}
	}
	return nil
}
