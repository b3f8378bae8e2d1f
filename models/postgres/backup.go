package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"gorm.io/gorm"

	kdriver "github.com/kilnhq/kiln/models/driver"
)

// Backup implements driver.Driver: a PostgreSQL database is backed up with pg_dump (or the
// server's own base backups), not by Kiln.
func (d *Driver) Backup(context.Context, *gorm.DB, string) error { return kdriver.ErrNoFileBackup }

// CheckBackup implements driver.Driver (see Backup).
func (d *Driver) CheckBackup(context.Context, string) (kdriver.BackupCheck, error) {
	return kdriver.BackupCheck{}, kdriver.ErrNoFileBackup
}

// StorageFull implements driver.Driver: PostgreSQL's disk_full (53100) is what a full disk
// gives.
func (d *Driver) StorageFull(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "53100"
}

// Refused implements driver.Driver: a data exception (class 22: a value out of range, bad
// text), an integrity constraint (23) or a program limit (54: too long, too complex).
func (d *Driver) Refused(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "22") || strings.HasPrefix(pe.Code, "23") || strings.HasPrefix(pe.Code, "54"))
}

// Unreachable implements driver.Driver: a connection refused, reset or cut mid-statement, or
// the server going away (SQLSTATE class 08, 57P01-57P03).
func (d *Driver) Unreachable(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return true
	case errors.As(err, &pe):
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	return false
}
