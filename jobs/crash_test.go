package jobs_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
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
	"github.com/kilnhq/kiln/models/modeltest"
)

// crashChildEnv carries the database path to the child process of TestCrashRecovery.
const crashChildEnv = "KILN_CRASH_CHILD_DB"

// runCrashChild is the worker process of TestCrashRecovery: TestMain runs it instead of the
// tests when crashChildEnv is set. Each job records its run (job, attempt, pid) in crash_runs,
// works 10-40 ms, and succeeds. It runs until SIGTERM (a clean stop) or SIGKILL.
func runCrashChild(dsn string) int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "crash child:", err); return 1 }
	store, err := models.Open(context.Background(), dsn, nil)
	if err != nil {
		return fail(err)
	}
	defer store.Close()
	e, err := jobs.New(store, jobs.Config{
		Queues: []jobs.QueueConfig{{Name: "default", Workers: 8}}, PollInterval: 50 * time.Millisecond,
		Lease: 3 * time.Second, SoftStop: time.Second,
	})
	if err != nil {
		return fail(err)
	}
	err = e.Register("crash.work", func(ctx context.Context, j *models.Job) error {
		if err := store.DB().WithContext(ctx).Exec("INSERT INTO crash_runs (job_id, attempt, pid) VALUES (?, ?, ?)", j.ID, j.Attempt, os.Getpid()).Error; err != nil {
			return err
		}
		select {
		case <-time.After(time.Duration(10+rand.IntN(30)) * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	if err != nil {
		return fail(err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	if err := e.Start(context.Background()); err != nil {
		return fail(err)
	}
	fmt.Println("child ready")
	<-sig
	if err := e.Stop(context.Background()); err != nil {
		return fail(err)
	}
	return 0
}

// TestCrashRecovery kills a process running real workers with SIGKILL, mid-batch, three times.
// After a restart every job ends Succeeded, none is lost, and only jobs that were running at a
// kill ran twice.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills worker processes")
	}
	dsn := filepath.Join(t.TempDir(), "crash.db")
	s := modeltest.Open(t, dsn)
	require.NoError(t, s.DB().Exec("CREATE TABLE crash_runs (id INTEGER PRIMARY KEY AUTOINCREMENT, job_id INTEGER NOT NULL, attempt INTEGER NOT NULL, pid INTEGER NOT NULL)").Error)
	e := newEngine(t, s, jobs.Config{NoWorkers: true})
	const total = 600
	batch := make([]jobs.EnqueueParams, total)
	for i := range batch {
		batch[i] = jobs.EnqueueParams{Kind: "crash.work", Args: map[string]int{"i": i}}
	}
	_, err := e.EnqueueMany(ctx, batch)
	require.NoError(t, err)

	succeeded := func() int64 {
		counts, err := s.CountJobsByState(ctx)
		require.NoError(t, err)
		return counts[models.JobSucceeded]
	}
	runningAtKill := map[int64]bool{}
	for kill := 1; kill <= 3; kill++ {
		child := startChild(t, dsn)
		before := succeeded()
		require.Eventually(t, func() bool { return succeeded() >= before+80 }, 60*time.Second, 5*time.Millisecond,
			"kill %d: the child made no progress", kill)
		require.NoError(t, child.Process.Kill()) // SIGKILL: no cleanup at all
		_ = child.Wait()
		var processing []int64
		require.NoError(t, s.DB().Model(&models.Job{}).Where("state = ?", models.JobProcessing).Pluck("id", &processing).Error)
		require.NotEmpty(t, processing, "kill %d came between batches; the test wants it mid-batch", kill)
		for _, id := range processing {
			runningAtKill[id] = true
		}
		t.Logf("kill %d: %d succeeded, %d were processing", kill, succeeded(), len(processing))
	}

	child := startChild(t, dsn) // rescues the killed jobs once their leases run out, and finishes
	require.Eventually(t, func() bool { return succeeded() == total }, 120*time.Second, 20*time.Millisecond, "not every job succeeded")
	require.NoError(t, child.Process.Signal(syscall.SIGTERM))
	require.NoError(t, child.Wait())

	var runs []struct {
		JobID int64
		N     int
	}
	require.NoError(t, s.DB().Raw("SELECT job_id, COUNT(*) AS n FROM crash_runs GROUP BY job_id").Scan(&runs).Error)
	require.Len(t, runs, total, "every job ran")
	twice := 0
	for _, r := range runs {
		if r.N > 1 {
			twice++
			require.True(t, runningAtKill[r.JobID], "job %d ran %d times but was not running at any kill", r.JobID, r.N)
		}
	}
	t.Logf("%d jobs ran more than once, all of them running at a kill", twice)
	counts, err := s.CountJobsByState(ctx)
	require.NoError(t, err)
	require.Equal(t, map[models.JobState]int64{models.JobSucceeded: total}, counts)
}

// startChild starts this test binary as a worker process on the database and waits until it runs.
func startChild(t *testing.T, dsn string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$") // TestMain sees crashChildEnv and runs the child
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dsn)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if strings.Contains(lines.Text(), "child ready") {
			go func() { // keep draining so the child never blocks on a full pipe
				for lines.Scan() {
				}
			}()
			return cmd
		}
	}
	t.Fatal("the child exited before it was ready")
	return nil
}
