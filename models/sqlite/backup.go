package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"syscall"

	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"

	"github.com/kilnhq/kiln/models/driver"
)

// Backup implements driver.Driver with VACUUM INTO: a consistent copy of the database as of one
// read transaction, written while other connections (and other processes) go on writing, and
// compacted on the way (no free pages, no WAL).
func (d *Driver) Backup(ctx context.Context, db *gorm.DB, to string) error {
	if err := db.WithContext(ctx).Exec("VACUUM INTO ?", to).Error; err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	return nil
}

// CheckBackup implements driver.Driver: it opens the copy read-only, runs PRAGMA
// integrity_check, and reads its schema version and how many jobs it holds.
func (d *Driver) CheckBackup(ctx context.Context, path string) (driver.BackupCheck, error) {
	var out driver.BackupCheck
	db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro")
	if err != nil {
		return out, fmt.Errorf("sqlite: check backup: %w", err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return out, fmt.Errorf("sqlite: check backup: %w", err)
	}
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			_ = rows.Close()
			return out, fmt.Errorf("sqlite: check backup: %w", err)
		}
		problems = append(problems, line)
	}
	if err := rows.Close(); err != nil {
		return out, fmt.Errorf("sqlite: check backup: %w", err)
	}
	out.Integrity = strings.Join(problems, "; ")
	if out.Integrity != "ok" {
		return out, nil
	}
	err = db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM kiln_schema_migrations WHERE is_applied`).Scan(&out.Version)
	if err != nil {
		return out, fmt.Errorf("sqlite: check backup: schema version: %w", err)
	}
	err = db.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(*) FILTER (WHERE state IN ('enqueued', 'scheduled', 'processing', 'awaiting')) FROM jobs`).
		Scan(&out.Jobs, &out.Unfinished)
	if err != nil {
		return out, fmt.Errorf("sqlite: check backup: jobs: %w", err)
	}
	return out, nil
}

// StorageFull implements driver.Driver: SQLite says SQLITE_FULL when the disk is full, and
// SQLITE_IOERR when a write fails for want of room otherwise (a quota, a file size limit); an
// I/O error for any other reason (a failing disk) is not a full disk.
func (d *Driver) StorageFull(err error) bool {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return false
	}
	if se.Code == sqlite3.ErrFull {
		return true
	}
	return se.Code == sqlite3.ErrIoErr && (se.SystemErrno == syscall.ENOSPC || se.SystemErrno == syscall.EDQUOT || se.SystemErrno == syscall.EFBIG)
}

// Refused implements driver.Driver: a value too big, a constraint, a type mismatch or a
// parameter out of range.
func (d *Driver) Refused(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrTooBig || se.Code == sqlite3.ErrConstraint || se.Code == sqlite3.ErrMismatch || se.Code == sqlite3.ErrRange)
}

// Unreachable implements driver.Driver: a file that can no longer be opened (its disk or mount
// gone) is SQLite's way of being unreachable.
func (d *Driver) Unreachable(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrCantOpen || se.Code == sqlite3.ErrNotADB)
}
