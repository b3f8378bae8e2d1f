// Package testhooks lets models/modeltest reach what models keeps unexported for tests (the
// GORM handle, recounting, the search window), so that none of it is models' public API. models
// sets the hooks when it is loaded; nothing outside models/... can import this package.
package testhooks

import (
	"context"

	"gorm.io/gorm"
)

// The hooks; each takes a *models.Store as store.
var (
	DB                   func(store any) *gorm.DB
	RecountJobs          func(ctx context.Context, store any) error
	CountJobsByQueueScan func(ctx context.Context, store any) (any, error)
	CountJobsByKindScan  func(ctx context.Context, store any) (any, error)
	SetSearchWindow      func(store any, n int64)
	// AuditHash takes a *models.AuditEntry.
	AuditHash func(entry any) string
)
