package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/jobstest"
	"github.com/kilnhq/kiln/models"
)

// A backup taken while a burn-down runs opens, passes its check, and a Kiln started on it
// finishes every job that was waiting or running when it was taken.
func TestBackupDuringBurnDownRestoresEveryJob(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, backup := filepath.Join(dir, "kiln.db"), filepath.Join(dir, "copy.db")
	const total = 3000
	// Past half the jobs, the first engine's workers wait for held to close: the copy is taken
	// while half of them are still waiting or running, however fast the machine.
	held := make(chan struct{})
	var started atomic.Int64
	newEngine := func(s *models.Store, hold bool) *jobs.Engine {
		cfg := jobstest.Fast()
		cfg.Queues = []jobs.QueueConfig{{Name: jobs.DefaultQueue, Workers: 8}}
		e, err := jobs.New(s, cfg)
		require.NoError(t, err)
		require.NoError(t, e.Register("slow.noop", func(ctx context.Context, _ *models.Job) error {
			if hold && started.Add(1) > total/2 {
				select {
				case <-held:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			time.Sleep(time.Millisecond)
			return nil
		}))
		return e
	}
	store, err := models.Open(ctx, db, nil)
	require.NoError(t, err)
	e := newEngine(store, true)
	batch := make([]jobs.EnqueueParams, total)
	for i := range batch {
		batch[i] = jobs.EnqueueParams{Kind: "slow.noop", Args: map[string]int{"n": i}}
	}
	_, err = e.EnqueueMany(ctx, batch)
	require.NoError(t, err)
	require.NoError(t, e.Start(ctx))
	require.Eventually(t, func() bool {
		c, err := store.JobQueries.CountJobsByState(ctx)
		return err == nil && c[models.JobSucceeded] >= total/10
	}, 30*time.Second, 5*time.Millisecond)

	var out, errOut bytes.Buffer
	code := Run(ctx, []string{"backup", "--db", db, "--to", backup}, nil, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	require.Contains(t, out.String(), "integrity ok")
	require.Regexp(t, `It holds 3000 jobs; \d+ of them waiting`, out.String())
	st, err := os.Stat(backup)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "the copy holds secrets: its owner's only")

	out.Reset()
	errOut.Reset()
	require.Equal(t, 2, Run(ctx, []string{"backup", "--db", db, "--to", backup}, nil, &out, &errOut))
	require.Contains(t, errOut.String(), "already exists")
	close(held)
	require.NoError(t, e.Stop(ctx))
	require.NoError(t, store.Close())

	copyStore, err := models.Open(ctx, backup, nil)
	require.NoError(t, err)
	defer copyStore.Close()
	before, err := copyStore.JobQueries.CountJobsByState(ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, before[models.JobEnqueued]+before[models.JobProcessing], int64(total/2)-8, "taken mid-burn-down: %v", before)
	require.Less(t, before[models.JobSucceeded], int64(total/2)+1)
	restored := newEngine(copyStore, false)
	require.NoError(t, restored.Start(ctx))
	defer func() { require.NoError(t, restored.Stop(ctx)) }()
	require.Eventually(t, func() bool {
		c, err := copyStore.JobQueries.CountJobsByState(ctx)
		return err == nil && c[models.JobSucceeded] == total
	}, 60*time.Second, 20*time.Millisecond, "every job of the copy finishes, those running at the copy rescued")
	c, err := copyStore.JobQueries.CountJobsByState(ctx)
	require.NoError(t, err)
	require.Equal(t, map[models.JobState]int64{models.JobSucceeded: total}, c)
}

func TestBackupCommandRefusals(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	run := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := Run(ctx, append([]string{"backup"}, args...), nil, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	code, msg := run("--db", "postgres://kiln:s3cret@db.internal:5432/kiln?sslmode=disable", "--to", filepath.Join(dir, "x"))
	require.Equal(t, 1, code)
	require.Contains(t, msg, "pg_dump --format=custom")
	require.NotContains(t, msg, "s3cret", "the password is never printed")
	code, msg = run("--db", "postgres://kiln@db.internal/kiln?password=s3cret&sslmode=require", "--to", filepath.Join(dir, "x"))
	require.Equal(t, 1, code)
	require.NotContains(t, msg, "s3cret", "nor one in the query")
	code, msg = run("--db", filepath.Join(dir, "none.db"), "--to", filepath.Join(dir, "x"))
	require.Equal(t, 1, code)
	require.Contains(t, msg, "there is no database at")
	require.NoFileExists(t, filepath.Join(dir, "none.db"), "nothing is made where there was no database")
	code, msg = run("--db", filepath.Join(dir, "none.db"))
	require.Equal(t, 2, code)
	require.Contains(t, msg, "--to FILE is required")
	code, msg = run("--bogus")
	require.Equal(t, 2, code)
	require.True(t, strings.Contains(msg, "flag provided but not defined"), msg)
	code, _ = run("--help")
	require.Equal(t, 0, code)
}
