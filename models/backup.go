package models

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/kilnhq/kiln/models/driver"
)

// ErrNoFileBackup is Backup's answer on PostgreSQL, whose backups are pg_dump's (or the
// server's base backups) to take.
var ErrNoFileBackup = driver.ErrNoFileBackup

// BackupReport is what Backup wrote and found in it.
type BackupReport struct {
	Path  string
	Bytes int64
	Took  time.Duration
	driver.BackupCheck
}

// Backup copies the database into a new file at to while Kiln may be running on it (SQLite),
// then opens the copy read-only and checks it: its integrity, its schema version, its jobs.
// The file is made readable by its owner only (it holds users, sessions, token hashes and
// sealed secrets), and is never overwritten: an existing path is refused. A copy that fails
// its check is left for inspection and reported as an error.
func (s *Store) Backup(ctx context.Context, to string) (BackupReport, error) {
	r := BackupReport{Path: to}
	if to == "" {
		return r, Errorf(EINVALID, "Say where to write the backup.")
	}
	f, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return r, Errorf(EINVALID, "%s already exists: a backup never overwrites a file; choose another name.", to)
	}
	if err != nil {
		return r, Errorf(EINVALID, "Can't create %s: %v.", to, err)
	}
	if err := f.Close(); err != nil {
		return r, fmt.Errorf("models: backup: %w", err)
	}
	start := time.Now()
	if err := s.drv.Backup(ctx, s.db, to); err != nil {
		_ = os.Remove(to)
		return r, fmt.Errorf("models: backup: %w", err)
	}
	r.Took = time.Since(start)
	st, err := os.Stat(to)
	if err != nil {
		return r, fmt.Errorf("models: backup: %w", err)
	}
	r.Bytes = st.Size()
	if r.BackupCheck, err = s.drv.CheckBackup(ctx, to); err != nil {
		return r, fmt.Errorf("models: check the backup: %w", err)
	}
	if r.Integrity != "ok" {
		return r, fmt.Errorf("models: the backup at %s failed its integrity check: %s", to, r.Integrity)
	}
	return r, nil
}
