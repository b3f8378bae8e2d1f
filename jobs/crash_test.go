package jobs_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// crashChildEnv carries the database URL to the child process of TestCrashRecovery, and
// crashLeaseEnv the child's lease (default 3s).
const (
	crashChildEnv = "KILN_CRASH_CHILD_DB"
	crashLeaseEnv = "KILN_CRASH_CHILD_LEASE"
)

// crashRun is one run of a job in a child process, as the job itself recorded it.
type crashRun struct {
	ID      int64 `gorm:"primaryKey"`
	JobID   int64 `gorm:"not null;index"`
	Attempt int   `gorm:"not null"`
	Rescues int   `gorm:"not null"`
	PID     int   `gorm:"not null"`
}

// crashHeartbeat is the children's heartbeat: short, so that a child started after a kill finds
// its predecessor silent for three heartbeats and takes its jobs back at once.
const crashHeartbeat = 100 * time.Millisecond

// runCrashChild is the worker process of TestCrashRecovery: TestMain runs it instead of the
// tests when crashChildEnv is set. Each crash.work job records its run in crash_runs, works
// 10-40 ms, and succeeds; a crash.poison job records its run and kills its own process, as a
// job that segfaults or runs out of memory would. It runs until SIGTERM (a clean stop) or
// SIGKILL.
func runCrashChild(dsn string) int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "crash child:", err); return 1 }
	store, err := models.Open(context.Background(), dsn, nil)
	if err != nil {
		return fail(err)
	}
	defer store.Close()
	lease := 3 * time.Second
	if v := os.Getenv(crashLeaseEnv); v != "" {
		if lease, err = time.ParseDuration(v); err != nil {
			return fail(err)
		}
	}
	e, err := jobs.New(store, jobs.Config{
		Queues: []jobs.QueueConfig{{Name: "default", Workers: 8}}, PollInterval: 50 * time.Millisecond,
		Lease: lease, SoftStop: time.Second, ServerHeartbeat: crashHeartbeat,
	})
	if err != nil {
		return fail(err)
	}
	record := func(ctx context.Context, j *models.Job) error {
		return modeltest.DB(store).WithContext(ctx).Create(&crashRun{JobID: j.ID, Attempt: j.Attempt, Rescues: j.Rescues, PID: os.Getpid()}).Error
	}
	err = e.Register("crash.work", func(ctx context.Context, j *models.Job) error {
		if err := record(ctx, j); err != nil {
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
	err = e.Register("crash.poison", func(ctx context.Context, j *models.Job) error {
		if err := record(ctx, j); err != nil {
			return err
		}
		return syscall.Kill(os.Getpid(), syscall.SIGKILL)
	})
	if err != nil {
		return fail(err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	fmt.Println("child ready") // before Start: a poison pill may end the child at once
	if err := e.Start(context.Background()); err != nil {
		return fail(err)
	}
	<-sig
	if err := e.Stop(context.Background()); err != nil {
		return fail(err)
	}
	return 0
}

// TestCrashRecovery kills a process running real workers with SIGKILL, mid-batch, three times,
// on each dialect. Half the jobs have a single attempt. After a restart every job has
// succeeded: none is lost, a crash used no job's attempt (not even a single one), only jobs
// that were running at a kill ran again, and each was rescued once per kill it was running at.
// Then a job that kills its process each time it runs is put back three times (the default
// rescue limit), each time by the next process as it starts, and fails after the fourth crash;
// every other job stays succeeded.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills worker processes")
	}
	for _, d := range modeltest.Dialects {
		t.Run(d.Name, func(t *testing.T) { testCrashRecovery(t, d.DSN(t)) })
	}
}

func testCrashRecovery(t *testing.T, dsn string) {
	s := modeltest.Open(t, dsn)
	require.NoError(t, modeltest.DB(s).AutoMigrate(&crashRun{}))
	e := newEngine(t, s, jobs.Config{NoWorkers: true})
	const total = 600
	batch := make([]jobs.EnqueueParams, total)
	for i := range batch {
		batch[i] = jobs.EnqueueParams{Kind: "crash.work", Args: map[string]int{"i": i}}
		if i%2 == 1 {
			batch[i].Opts = []jobs.Option{jobs.MaxAttempts(1)}
		}
	}
	_, err := e.EnqueueMany(ctx, batch)
	require.NoError(t, err)

	succeeded := func() int64 {
		counts, err := s.JobQueries.CountJobsByState(ctx)
		require.NoError(t, err)
		return counts[models.JobSucceeded]
	}
	type claim struct {
		job     int64
		rescues int
	}
	killed := map[claim]bool{} // the claims that were running at a kill
	killsRunning := map[int64]int{}
	oneAttemptHit := 0
	for kill := 1; kill <= 3; kill++ {
		child := startChild(t, dsn)
		before := succeeded()
		require.Eventually(t, func() bool { return succeeded() >= before+80 }, 60*time.Second, 5*time.Millisecond,
			"kill %d: the child made no progress", kill)
		require.NoError(t, child.Process.Kill()) // SIGKILL: no cleanup at all
		_ = child.Wait()
		waitBackendsGone(t, s, child)
		var processing []models.Job
		require.NoError(t, modeltest.DB(s).Where("state = ?", models.JobProcessing).Find(&processing).Error)
		require.NotEmpty(t, processing, "kill %d came between batches; the test wants it mid-batch", kill)
		for _, j := range processing {
			if c := (claim{j.ID, j.Rescues}); !killed[c] { // (a claim not yet rescued may see two kills)
				killed[c] = true
				killsRunning[j.ID]++
			}
			if j.MaxAttempts == 1 {
				oneAttemptHit++
			}
		}
		t.Logf("kill %d: %d succeeded, %d were processing", kill, succeeded(), len(processing))
		if kill == 2 {
			time.Sleep(4 * crashHeartbeat) // the next child finds this one silent and rescues at once
		}
	}
	require.Positive(t, oneAttemptHit, "a job with a single attempt was running at a kill")

	child := startChild(t, dsn) // rescues the killed jobs and finishes
	require.Eventually(t, func() bool { return succeeded() == total }, 120*time.Second, 20*time.Millisecond, "not every job succeeded")
	require.NoError(t, child.Process.Signal(syscall.SIGTERM))
	require.NoError(t, child.Wait())

	var runs []struct {
		JobID int64
		N     int
	}
	require.NoError(t, modeltest.DB(s).Raw("SELECT job_id, COUNT(*) AS n FROM crash_runs GROUP BY job_id").Scan(&runs).Error)
	require.Len(t, runs, total, "every job ran")
	twice := 0
	for _, r := range runs {
		if r.N > 1 {
			twice++
			require.Positive(t, killsRunning[r.JobID], "job %d ran %d times but was not running at any kill", r.JobID, r.N)
		}
	}
	var all []models.Job
	require.NoError(t, modeltest.DB(s).Find(&all).Error)
	for _, j := range all {
		require.Equal(t, killsRunning[j.ID], j.Rescues, "job %d: one rescue per claim a kill ended", j.ID)
		require.Equal(t, 1, j.Attempt, "job %d: the crashes used none of its attempts", j.ID)
	}
	t.Logf("%d jobs ran more than once, all of them running at a kill (%d running at kills had one attempt)", twice, oneAttemptHit)
	counts, err := s.JobQueries.CountJobsByState(ctx)
	require.NoError(t, err)
	require.Equal(t, map[models.JobState]int64{models.JobSucceeded: total}, counts)

	// A poison pill: each process that runs it dies. The next process rescues it as it starts,
	// without waiting for the lease (an hour here), until it has crashed its server
	// 1 + MaxRescues times.
	poison, err := e.Enqueue(ctx, "crash.poison", nil)
	require.NoError(t, err)
	deaths := 0
	for done := false; !done; {
		require.Less(t, deaths, 10, "the poison pill never failed")
		child := startChild(t, dsn, crashLeaseEnv+"=1h")
		exited := make(chan error, 1)
		go func() { exited <- child.Wait() }()
		deadline := time.After(30 * time.Second)
	watch:
		for {
			select {
			case err := <-exited:
				var exit *exec.ExitError
				require.ErrorAs(t, err, &exit, "only the poison pill ends a child")
				deaths++
				time.Sleep(4 * crashHeartbeat) // the dead child is silent for over three heartbeats
				break watch
			case <-deadline:
				t.Fatal("the child neither died nor failed the poison pill")
			case <-time.After(20 * time.Millisecond):
				if j, err := s.JobQueries.GetJob(ctx, poison.ID); err == nil && j.State == models.JobFailed {
					require.NoError(t, child.Process.Signal(syscall.SIGTERM))
					require.NoError(t, <-exited, "the child that failed the poison pill lives on, and stops cleanly")
					done = true
					break watch
				}
			}
		}
	}
	require.Equal(t, models.DefaultMaxRescues+1, deaths, "it took down one process per run")
	got, err := s.JobQueries.GetJob(ctx, poison.ID)
	require.NoError(t, err)
	require.Equal(t, models.JobFailed, got.State)
	require.Contains(t, got.LastError, fmt.Sprintf("crashed its server %d times", models.DefaultMaxRescues+1))
	require.Equal(t, models.DefaultMaxRescues, got.Rescues)
	var poisonRuns int64
	require.NoError(t, modeltest.DB(s).Model(&crashRun{}).Where("job_id = ?", poison.ID).Count(&poisonRuns).Error)
	require.EqualValues(t, models.DefaultMaxRescues+1, poisonRuns)
	events, err := s.JobQueries.JobEvents(ctx, poison.ID)
	require.NoError(t, err)
	var path []string
	for _, ev := range events {
		path = append(path, string(ev.From)+">"+string(ev.To))
		if ev.From == models.JobProcessing {
			require.Contains(t, ev.Error, "stopped sending heartbeats", "rescued at start, not at lease end: %s", ev.Reason)
		}
	}
	require.Equal(t, []string{">enqueued",
		"enqueued>processing", "processing>enqueued", "enqueued>processing", "processing>enqueued",
		"enqueued>processing", "processing>enqueued", "enqueued>processing", "processing>failed"}, path)
	counts, err = s.JobQueries.CountJobsByState(ctx)
	require.NoError(t, err)
	require.Equal(t, map[models.JobState]int64{models.JobSucceeded: total, models.JobFailed: 1}, counts, "every other job stays succeeded")
}

// childApps names each child's PostgreSQL connections (application_name), by process.
var childApps = map[*exec.Cmd]string{}

// startChild starts this test binary as a worker process on the database and waits until it runs.
func startChild(t *testing.T, dsn string, env ...string) *exec.Cmd {
	t.Helper()
	var app string
	if strings.HasPrefix(dsn, "postgres") {
		app = fmt.Sprintf("kiln-crash-child-%d-%d", os.Getpid(), len(childApps)+1)
		u, err := url.Parse(dsn)
		require.NoError(t, err)
		q := u.Query()
		q.Set("application_name", app)
		u.RawQuery = q.Encode()
		dsn = u.String()
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$") // TestMain sees crashChildEnv and runs the child
	childApps[cmd] = app
	cmd.Env = append(append(os.Environ(), crashChildEnv+"="+dsn), env...)
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

// waitBackendsGone waits until no PostgreSQL backend of the killed child is left. A backend
// outlives its client: a COMMIT the child sent just before SIGKILL still completes, so what was
// running at the kill is only known once its backends have ended.
func waitBackendsGone(t *testing.T, s *models.Store, child *exec.Cmd) {
	t.Helper()
	app := childApps[child]
	if app == "" {
		return // SQLite: the process was the database's only writer, and it is dead
	}
	require.Eventually(t, func() bool {
		var n int64
		require.NoError(t, modeltest.DB(s).Raw("SELECT count(*) FROM pg_stat_activity WHERE application_name = ?", app).Scan(&n).Error)
		return n == 0
	}, 30*time.Second, 10*time.Millisecond, "the killed child's connections never closed")
}
