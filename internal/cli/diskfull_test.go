package cli

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// fullDisk gives a directory whose file system fills up: a 16 MB tmpfs when this machine lets
// the test mount one (as root), else a temporary directory with a file size limit
// (RLIMIT_FSIZE) on this process, which makes writes past it fail as a full disk does. fill
// leaves about room bytes free; free makes room again.
type fullDisk struct {
	dir     string
	tmpfs   bool
	ballast string
	limit   *syscall.Rlimit // the limit before ours, when we set one
}

func newFullDisk(t *testing.T) *fullDisk {
	t.Helper()
	d := &fullDisk{dir: t.TempDir()}
	if err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", d.dir).Run(); err == nil {
		d.tmpfs = true
		t.Cleanup(func() { _ = exec.Command("umount", d.dir).Run() })
	} else {
		t.Logf("no tmpfs (%v): a file size limit stands in for the full disk", err)
	}
	d.ballast = filepath.Join(d.dir, "ballast")
	return d
}

// fill takes all but room bytes of the tmpfs, or limits files to their size now plus room.
func (d *fullDisk) fill(t *testing.T, room int64) {
	t.Helper()
	if d.tmpfs {
		var st syscall.Statfs_t
		require.NoError(t, syscall.Statfs(d.dir, &st))
		free := int64(st.Bavail) * st.Bsize
		f, err := os.Create(d.ballast)
		require.NoError(t, err)
		chunk := make([]byte, 64<<10)
		for left := free - room; left > 0; left -= int64(len(chunk)) {
			if _, err := f.Write(chunk[:min(int64(len(chunk)), left)]); err != nil {
				break
			}
		}
		require.NoError(t, f.Close())
		return
	}
	var biggest int64
	entries, err := os.ReadDir(d.dir)
	require.NoError(t, err)
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			biggest = max(biggest, info.Size())
		}
	}
	var old syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old))
	d.limit = &old
	signal.Ignore(syscall.SIGXFSZ) // a write past the limit fails with EFBIG instead of killing us
	lim := syscall.Rlimit{Cur: uint64(biggest + room), Max: old.Max}
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim))
	t.Cleanup(d.free)
}

// free makes room again.
func (d *fullDisk) free() {
	_ = os.Remove(d.ballast)
	if d.limit != nil {
		_ = syscall.Setrlimit(syscall.RLIMIT_FSIZE, d.limit)
		d.limit = nil
		signal.Reset(syscall.SIGXFSZ)
	}
}

// A full disk under SQLite: enqueues fail with a clear answer (507 with
// "disk is full", never a 500 or a panic), nothing is half-written, the database stays sound
// (PRAGMA integrity_check), and once there is room again Kiln opens it and finishes every job
// it had accepted.
func TestSQLiteFullDisk(t *testing.T) {
	disk := newFullDisk(t)
	db := filepath.Join(disk.dir, "kiln.db")
	cfg, err := parseConfig([]string{"--db", db, "--addr", "127.0.0.1:0", "--poll-interval", "100ms", "--lease", "3s",
		"--queues", "default=4", "--log-level", "warn"}, io.Discard)
	require.NoError(t, err)
	var logs syncBuffer
	m := NewMain(cfg, &logs)
	release := make(chan struct{})
	m.Setup = func(e *jobs.Engine) error {
		return e.Register("disk.probe", func(ctx context.Context, _ *models.Job) error {
			select { // hold the jobs until the disk has been full
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}
	require.NoError(t, m.Run(context.Background()))
	base := "http://" + m.Web.Addr()
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = m.Close()
		}
	})
	disk.fill(t, 2<<20)

	post := func(path, contentType string, body []byte) (int, string, http.Header) {
		resp, err := http.Post(base+path, contentType, bytes.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	pad := strings.Repeat("x", 2000)
	accepted, full := 0, false
	for batch := 0; batch < 400 && !full; batch++ {
		var specs []map[string]any
		for i := range 100 {
			specs = append(specs, map[string]any{"kind": "disk.probe", "args": map[string]any{"n": batch*100 + i, "pad": pad}})
		}
		raw, _ := json.Marshal(map[string]any{"jobs": specs})
		code, body, header := post("/api/v1/jobs/batch", "application/json", raw)
		switch code {
		case http.StatusCreated:
			accepted += 100
		case http.StatusInsufficientStorage:
			full = true
			require.Equal(t, "application/problem+json", header.Get("Content-Type"))
			require.Contains(t, body, "disk is full")
		default:
			t.Fatalf("batch %d: %d %s", batch, code, body)
		}
	}
	require.True(t, full, "the disk filled up")
	require.Positive(t, accepted)
	resp, err := http.Get(base + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the process goes on")
	close(release) // the running jobs finish while the disk is full: their outcomes can't be written yet
	time.Sleep(500 * time.Millisecond)
	closed = true
	if err := m.Close(); err != nil { // its last outcomes and its goodbye could not be written
		t.Logf("closing on a full disk: %v", err)
	}
	require.NotContains(t, logs.String(), "panic")
	require.NotContains(t, logs.String(), "database is locked")

	// Room again: the database is sound, holds every job accepted and no other, and a Kiln
	// started on it finishes them all.
	disk.free()
	check, err := sql.Open("sqlite3", "file:"+db+"?mode=ro")
	require.NoError(t, err)
	var integrity string
	require.NoError(t, check.QueryRow("PRAGMA integrity_check").Scan(&integrity))
	require.Equal(t, "ok", integrity)
	var n int
	require.NoError(t, check.QueryRow("SELECT COUNT(*) FROM jobs WHERE kind = 'disk.probe'").Scan(&n))
	require.Equal(t, accepted, n, "every accepted batch whole, no refused one in part")
	require.NoError(t, check.Close())

	cfg2, err := parseConfig([]string{"--db", db, "--addr", "127.0.0.1:0", "--poll-interval", "100ms", "--lease", "2s",
		"--queues", "default=8", "--log-level", "warn"}, io.Discard)
	require.NoError(t, err)
	cfg2.Jobs.ServerHeartbeat = 300 * time.Millisecond
	m2 := NewMain(cfg2, io.Discard)
	m2.Setup = func(e *jobs.Engine) error {
		return e.Register("disk.probe", func(context.Context, *models.Job) error { return nil })
	}
	require.NoError(t, m2.Run(context.Background()))
	defer func() { require.NoError(t, m2.Close()) }()
	waitFor(t, 60*time.Second, fmt.Sprintf("the %d accepted jobs to succeed", accepted), func() bool {
		n, err := m2.Store.JobQueries.CountJobs(context.Background(), models.JobFilter{Kind: "disk.probe", State: models.JobSucceeded})
		return err == nil && n == int64(accepted)
	})
}
