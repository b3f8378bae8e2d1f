package models

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm/clause"
)

// The kinds servers register, as they last said so: a server writes its kinds when it starts
// and on every heartbeat, so that any node (one that only serves the API, say) knows which
// kinds some server works, and refuses a job of a kind none does rather than let it fail later.

// knownKindsTable holds each kind and when a server last registered it.
const knownKindsTable = "known_kinds"

// RecordKinds records that a server registers kinds, now (by the database's clock on
// PostgreSQL, as heartbeats are): one statement, however many kinds.
func (s serverStore) RecordKinds(ctx context.Context, kinds []string) error {
	if len(kinds) == 0 {
		return nil
	}
	// In one order on every node: two nodes upserting the same rows at once then wait for each
	// other rather than deadlock.
	kinds = slices.Sorted(slices.Values(kinds))
	now := s.dbNow()
	rows := make([]map[string]any, 0, len(kinds))
	for _, k := range slices.Compact(kinds) {
		rows = append(rows, map[string]any{"kind": k, "seen_at": now})
	}
	err := s.db.WithContext(ctx).Table(knownKindsTable).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "kind"}},
		DoUpdates: clause.AssignmentColumns([]string{"seen_at"}),
		// Only a row older than KnownKindsRefresh: a heartbeat's record then writes nothing.
		Where: clause.Where{Exprs: []clause.Expression{
			clause.Expr{SQL: knownKindsTable + ".seen_at < ?", Vars: []any{s.silentSince(KnownKindsRefresh)}}}},
	}).Create(rows).Error
	if err != nil {
		return fmt.Errorf("models: record kinds: %w", err)
	}
	return nil
}

// KindsSeen lists, by name, the kinds some server registered within the last d.
func (s serverStore) KindsSeen(ctx context.Context, d time.Duration) ([]string, error) {
	var kinds []string
	err := s.rdb.WithContext(ctx).Table(knownKindsTable).Where("seen_at >= ?", s.silentSince(d)).
		Order("kind").Pluck("kind", &kinds).Error
	if err != nil {
		return nil, fmt.Errorf("models: kinds seen: %w", err)
	}
	return kinds, nil
}
