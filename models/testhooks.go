package models

import (
	"context"

	"gorm.io/gorm"

	"github.com/kilnhq/kiln/models/internal/testhooks"
)

// Tests reach these through models/modeltest; they are not the store's API.
func init() {
	testhooks.DB = func(s any) *gorm.DB { return s.(*Store).db }
	testhooks.RecountJobs = func(ctx context.Context, s any) error { return s.(*Store).recountJobs(ctx) }
	testhooks.CountJobsByQueueScan = func(ctx context.Context, s any) (any, error) { return s.(*Store).countJobsScan(ctx, byQueueKey) }
	testhooks.CountJobsByKindScan = func(ctx context.Context, s any) (any, error) { return s.(*Store).countJobsScan(ctx, byKindKey) }
	testhooks.SetSearchWindow = func(s any, n int64) { s.(*Store).searchWindow = max(n, 1) }
	testhooks.AuditHash = func(e any) string { return auditHash(e.(*AuditEntry)) }
}
