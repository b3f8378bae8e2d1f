package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// Server is one running Kiln process that works jobs, as it last reported itself.
type Server struct {
	ID          string    `gorm:"primaryKey;size:64"`
	Host        string    `gorm:"size:255;not null"`
	PID         int       `gorm:"not null"`
	StartedAt   time.Time `gorm:"not null"`
	HeartbeatAt time.Time `gorm:"not null;index"`
	// Queues lists the queues it works with their concurrency, e.g. "critical=10,default=5".
	Queues  string `gorm:"size:1000;not null;default:''"`
	Workers int    `gorm:"not null;default:0"`
	Busy    int    `gorm:"not null;default:0"`
}

// UpsertServer records the server's heartbeat, registering it the first time.
func (s *Store) UpsertServer(ctx context.Context, srv *Server) error {
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"heartbeat_at", "busy", "queues", "workers"}),
	}).Create(srv).Error
	if err != nil {
		return fmt.Errorf("models: record server %s: %w", srv.ID, err)
	}
	return nil
}

// DeleteServer removes a server that is shutting down.
func (s *Store) DeleteServer(ctx context.Context, id string) error {
	if err := s.db.WithContext(ctx).Delete(&Server{}, "id = ?", id).Error; err != nil {
		return fmt.Errorf("models: remove server %s: %w", id, err)
	}
	return nil
}

// DeleteStaleServers removes servers whose last heartbeat is older than before.
func (s *Store) DeleteStaleServers(ctx context.Context, before time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Where("heartbeat_at < ?", before.UTC()).Delete(&Server{})
	if res.Error != nil {
		return 0, fmt.Errorf("models: remove stale servers: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// Servers lists the registered servers, oldest first.
func (s *Store) Servers(ctx context.Context) ([]Server, error) {
	var out []Server
	if err := s.rdb.WithContext(ctx).Order("started_at, id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: list servers: %w", err)
	}
	return out, nil
}
