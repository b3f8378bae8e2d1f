package postgres

import (
	"context"

	"gorm.io/gorm"

	"github.com/kilnhq/kiln/models/driver"
)

// Backup implements driver.Driver: a PostgreSQL database is backed up with pg_dump (or the
// server's own base backups), not by Kiln.
func (d *Driver) Backup(context.Context, *gorm.DB, string) error { return driver.ErrNoFileBackup }

// CheckBackup implements driver.Driver (see Backup).
func (d *Driver) CheckBackup(context.Context, string) (driver.BackupCheck, error) {
	return driver.BackupCheck{}, driver.ErrNoFileBackup
}
