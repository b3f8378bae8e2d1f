package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// Server is one running Kiln process that works jobs, as it last reported itself.
type Server struct {
	ID          string `gorm:"primaryKey"`
	Host        string
	PID         int
	StartedAt   time.Time
	HeartbeatAt time.Time
	// Queues lists the queues it works with their concurrency, e.g. "critical=10,default=5".
	Queues  string
	Workers int
	Busy    int
	// UnwrittenSince is when the oldest outcome it has stamped and not yet written was stamped,
	// by its own clock (the one finished_at is written with); nil when none waits. Alert rules
	// on failures read no further (models.AlertTx.FailuresHorizon).
	UnwrittenSince *time.Time
}

// UpsertServer records the server's heartbeat, registering it the first time. A zero
// HeartbeatAt means now, by the database's clock on PostgreSQL, so that nodes whose clocks
// disagree still agree on who is silent (SQLite serves one machine, with one clock).
func (s serverStore) UpsertServer(ctx context.Context, srv *Server) error {
	var beat any = srv.HeartbeatAt.UTC()
	if srv.HeartbeatAt.IsZero() {
		beat = s.dbNow()
	}
	var unwritten any // NULL
	if srv.UnwrittenSince != nil {
		unwritten = srv.UnwrittenSince.UTC()
	}
	row := map[string]any{ // field names: GORM maps them to the columns (PID is p_id)
		"ID": srv.ID, "Host": srv.Host, "PID": srv.PID, "StartedAt": srv.StartedAt.UTC(), "HeartbeatAt": beat,
		"Queues": srv.Queues, "Workers": srv.Workers, "Busy": srv.Busy, "UnwrittenSince": unwritten,
	}
	err := s.db.WithContext(ctx).Model(&Server{}).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"heartbeat_at", "busy", "queues", "workers", "unwritten_since"}),
	}).Create(row).Error
	if err != nil {
		return fmt.Errorf("models: record server %s: %w", srv.ID, err)
	}
	return nil
}

// dbNow is the current time as heartbeats are written and compared: the database's clock on
// PostgreSQL, this machine's on SQLite.
func (s *conn) dbNow() any { return s.drv.Now() }

// silentSince is the heartbeat time before which a server has been silent for d: an SQL
// expression on PostgreSQL (the database's clock), a time on SQLite.
func (s *conn) silentSince(d time.Duration) any { return s.drv.Ago(d) }

// DeleteServer removes a server that is shutting down.
func (s serverStore) DeleteServer(ctx context.Context, id string) error {
	if err := s.db.WithContext(ctx).Delete(&Server{}, "id = ?", id).Error; err != nil {
		return fmt.Errorf("models: remove server %s: %w", id, err)
	}
	return nil
}

// DeleteStaleServers removes servers silent for longer than d.
func (s serverStore) DeleteStaleServers(ctx context.Context, d time.Duration) (int64, error) {
	res := s.db.WithContext(ctx).Where("heartbeat_at < ?", s.silentSince(d)).Delete(&Server{})
	if res.Error != nil {
		return 0, fmt.Errorf("models: remove stale servers: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// Servers lists the registered servers, oldest first.
func (s serverStore) Servers(ctx context.Context) ([]Server, error) {
	var out []Server
	if err := s.rdb.WithContext(ctx).Order("started_at, id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: list servers: %w", err)
	}
	return out, nil
}
