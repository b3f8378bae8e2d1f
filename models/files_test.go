package models_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// The SQLite database holds session keys and password hashes: its directory, when Kiln creates
// it, is 0700, and the database, its WAL, its shared memory and its migration lock are 0600,
// whatever the umask.
func TestSQLiteFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0) // the most permissive umask: the modes must come from Kiln
	t.Cleanup(func() { syscall.Umask(old) })

	dir := filepath.Join(t.TempDir(), "data")
	db := filepath.Join(dir, "kiln.db")
	s := modeltest.Open(t, db)
	_, err := s.Jobs.InsertJobs(ctx, []*models.Job{newJob("x")}, time.Now()) // a write, so the WAL exists
	require.NoError(t, err)
	requireMode(t, dir, 0o700)
	for _, f := range []string{db, db + "-wal", db + "-shm", db + "-migrate"} {
		requireMode(t, f, 0o600)
	}

	// A database made by an earlier version, readable by everyone, is narrowed at start. The
	// migration lock is made anew: whoever opened the old one may hold it locked, and a chmod
	// would leave them their open file (before, Kiln waited on it for good).
	require.NoError(t, s.Close())
	for _, f := range []string{db, db + "-wal", db + "-shm", db + "-migrate"} {
		if _, err := os.Stat(f); err == nil {
			require.NoError(t, os.Chmod(f, 0o644))
		}
	}
	held, err := os.Open(db + "-migrate")
	require.NoError(t, err)
	t.Cleanup(func() { _ = held.Close() })
	require.NoError(t, syscall.Flock(int(held.Fd()), syscall.LOCK_EX))
	opened := make(chan struct{})
	go func() {
		defer close(opened)
		modeltest.Open(t, db)
	}()
	select {
	case <-opened:
	case <-time.After(10 * time.Second):
		t.Fatal("the start waits on a lock someone else holds on the old, open lock file")
	}
	requireMode(t, db, 0o600)
	requireMode(t, db+"-migrate", 0o600)
}

func requireMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, want, fi.Mode().Perm(), "%s is %v", path, fi.Mode().Perm())
}
