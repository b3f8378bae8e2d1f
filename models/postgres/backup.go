package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"

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

// StorageFull implements driver.Driver: PostgreSQL's disk_full (53100) or
// program_limit_exceeded on a quota is what a full disk gives.
func (d *Driver) StorageFull(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "53100"
}
