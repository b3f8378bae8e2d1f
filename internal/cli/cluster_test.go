package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// clusterNodeEnv carries a node's settings (JSON) to a process of TestClusterOfThreeNodes:
// TestMain runs the node instead of the tests when it is set.
const clusterNodeEnv = "KILN_CLUSTER_NODE"

// clusterNode is one Kiln process of the cluster test.
type clusterNode struct {
	DSN, Addr, Name, Secret string
	Enqueue                 int // probe jobs this node enqueues once it serves
}

func TestMain(m *testing.M) {
	if v := os.Getenv(clusterNodeEnv); v != "" {
		os.Exit(runClusterNode(v))
	}
	if v := os.Getenv(chaosNodeEnv); v != "" {
		os.Exit(runChaosNode(v))
	}
	if os.Getenv(runAsKilnEnv) != "" {
		os.Exit(Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// runClusterNode runs a real Kiln node (Main.Run: the store, the engine with its built-ins, the
// web server) with two more kinds: cluster.probe records each run in cluster_runs, keyed by
// (job, run) (a rescued job runs its attempt again, as a new run), and works 2-10 ms; cluster.tick is an every-second recurring job that does
// the same. The node enqueues its share of probes, prints "enqueued", and runs until SIGTERM or
// SIGKILL.
func runClusterNode(raw string) int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "cluster node:", err); return 1 }
	var n clusterNode
	if err := json.Unmarshal([]byte(raw), &n); err != nil {
		return fail(err)
	}
	cfg, err := parseConfig([]string{"--db", n.DSN, "--addr", n.Addr, "--secret", n.Secret, "--lease", "5s",
		"--poll-interval", "1s", "--queues", "default=10", "--local-no-auth=false", "--log-level", "warn"}, os.Stderr)
	if err != nil {
		return fail(err)
	}
	cfg.Jobs.ServerID, cfg.Jobs.ServerHeartbeat = n.Name, 300*time.Millisecond
	m := NewMain(cfg, os.Stderr)
	probe := func(ctx context.Context, j *models.Job) error {
		db := modeltest.DB(m.Store).WithContext(ctx)
		if err := db.Exec("INSERT INTO cluster_runs (job_id, run, attempt, server, started_at) VALUES (?, ?, ?, ?, clock_timestamp())",
			j.ID, j.Runs, j.Attempt, n.Name).Error; err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(2+rand.IntN(9)) * time.Millisecond):
		}
		return db.Exec("UPDATE cluster_runs SET finished_at = clock_timestamp() WHERE job_id = ? AND run = ?", j.ID, j.Runs).Error
	}
	m.Setup = func(e *jobs.Engine) error {
		if err := e.Register("cluster.probe", probe); err != nil {
			return err
		}
		if err := e.Register("cluster.tick", probe); err != nil {
			return err
		}
		return e.Recurring("cluster.tick", "@every 1s", "cluster.tick", nil)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := m.Run(ctx); err != nil {
		_ = m.Close()
		return fail(err)
	}
	batch := make([]jobs.EnqueueParams, 0, 500)
	for i := range n.Enqueue {
		batch = append(batch, jobs.EnqueueParams{Kind: "cluster.probe", Args: map[string]any{"node": n.Name, "n": i}})
		if len(batch) == cap(batch) || i == n.Enqueue-1 {
			if _, err := m.Engine.EnqueueMany(ctx, batch); err != nil {
				_ = m.Close()
				return fail(err)
			}
			batch = batch[:0]
		}
	}
	fmt.Println("enqueued")
	<-ctx.Done()
	if err := m.Close(); err != nil {
		return fail(err)
	}
	return 0
}

// TestClusterOfThreeNodes runs three Kiln processes on one PostgreSQL. 20,000 jobs are enqueued
// through all three, and one node is killed (SIGKILL) while they run. Afterwards every job has
// succeeded, no job ran on two nodes at once, the every-second recurring job fired once per
// second (not once per node), the killed node's jobs were rescued by the others, and the
// dashboard showed it down, then forgot it. A login on one node works on the others, CSRF
// tokens included.
func TestClusterOfThreeNodes(t *testing.T) {
	dsn := modeltest.PostgresDSN(t)
	store := modeltest.Open(t, dsn)
	require.NoError(t, modeltest.DB(store).Exec(`CREATE TABLE cluster_runs (job_id bigint NOT NULL, run int NOT NULL, attempt int NOT NULL,
		server text NOT NULL, started_at timestamptz NOT NULL, finished_at timestamptz, PRIMARY KEY (job_id, run))`).Error)

	const total = 20_000
	names := []string{"node-a", "node-b", "node-c"}
	addrs := make([]string, len(names))
	procs := make([]*exec.Cmd, len(names))
	enqueued := make(chan string, len(names))
	started := time.Now()
	for i, name := range names {
		addrs[i] = freeAddr(t)
		share := total / len(names)
		if i == 0 {
			share += total % len(names)
		}
		procs[i] = startClusterNode(t, clusterNode{DSN: dsn, Addr: addrs[i], Name: name, Secret: "a secret the three nodes share, 32+ bytes", Enqueue: share}, enqueued)
	}
	for range names {
		select {
		case name := <-enqueued:
			t.Logf("%s enqueued its share", name)
		case <-time.After(60 * time.Second):
			t.Fatal("the nodes did not all start and enqueue within a minute")
		}
	}

	// Kill node-c while the jobs run.
	waitFor(t, 60*time.Second, "a third of the jobs to succeed", func() bool {
		return countRuns(t, store, "finished_at IS NOT NULL") >= total/3
	})
	require.NoError(t, procs[2].Process.Signal(syscall.SIGKILL))
	_ = procs[2].Wait()
	killedAt := time.Now()
	t.Logf("killed node-c after %s", killedAt.Sub(started).Round(time.Millisecond))

	// The dashboard of a live node shows node-c down before its heartbeat is forgotten.
	client := loggedInClient(t, store, addrs[0], addrs[1])
	waitFor(t, 30*time.Second, "the dashboard to show node-c as possibly down", func() bool {
		body := get(t, client, addrs[1], "/dashboard/servers")
		return strings.Contains(body, "node-c") && strings.Contains(strings.ToLower(body), "possibly down")
	})

	// Every job succeeds; node-c's unfinished jobs are rescued when their leases run out.
	waitFor(t, 120*time.Second, "every job to succeed", func() bool {
		var n int64
		require.NoError(t, modeltest.DB(store).Model(&models.Job{}).Where("kind = 'cluster.probe' AND state = 'succeeded'").Count(&n).Error)
		return n == total
	})
	finished := time.Now()
	var notDone int64
	require.NoError(t, modeltest.DB(store).Model(&models.Job{}).Where("kind = 'cluster.probe' AND state <> 'succeeded'").Count(&notDone).Error)
	require.Zero(t, notDone)

	// No job ran on two nodes at once: a job's runs never overlap, and a later run starts only
	// after the earlier one finished or its node died.
	var overlaps int64
	require.NoError(t, modeltest.DB(store).Raw(`SELECT COUNT(*) FROM cluster_runs a JOIN cluster_runs b
		ON a.job_id = b.job_id AND a.run < b.run
		WHERE b.started_at < COALESCE(a.finished_at, $1)`, killedAt).Scan(&overlaps).Error)
	require.Zero(t, overlaps, "runs of one job overlapped")
	var reruns, byC int64
	require.NoError(t, modeltest.DB(store).Raw("SELECT COUNT(*) FROM cluster_runs WHERE run > 1").Scan(&reruns).Error)
	require.NoError(t, modeltest.DB(store).Raw("SELECT COUNT(*) FROM cluster_runs WHERE server = 'node-c'").Scan(&byC).Error)
	t.Logf("node-c ran %d jobs; %d jobs ran again after it died", byC, reruns)
	require.Positive(t, byC, "node-c took part before it died")
	// Only jobs whose run node-c held ran again (those it was running, and those it had finished
	// but not yet recorded as finished when it died), each as often as node-c's claims of it were
	// rescued; and no probe used an attempt for it.
	var strays int64
	require.NoError(t, modeltest.DB(store).Raw(`SELECT COUNT(*) FROM (SELECT job_id, COUNT(*) AS runs FROM cluster_runs GROUP BY job_id) r
		WHERE r.runs > 1 + (SELECT COUNT(*) FROM job_events e WHERE e.job_id = r.job_id AND e.from_state = 'processing'
			AND e.to_state = 'enqueued' AND e.server_id = 'node-c' AND e.reason LIKE 'rescued%')`).Scan(&strays).Error)
	if strays > 0 {
		var rows []map[string]any
		modeltest.DB(store).Raw(`SELECT job_id, run, attempt, server, started_at, finished_at FROM cluster_runs WHERE job_id IN
			(SELECT job_id FROM cluster_runs WHERE run > 1) ORDER BY job_id, run`).Scan(&rows)
		t.Logf("runs of the jobs that ran again: %v", rows)
	}
	require.Zero(t, strays, "a job ran again although its node was alive")
	require.Zero(t, countRuns(t, store, "attempt > 1"), "a crash used no probe's attempt")

	// The every-second recurring job fired once per second, not once per node: as many ticks as
	// seconds between the first and the last (nodes started at different times).
	var ticks []time.Time
	require.NoError(t, modeltest.DB(store).Model(&models.Job{}).Where("kind = 'cluster.tick'").Order("run_at").Pluck("run_at", &ticks).Error)
	require.NotEmpty(t, ticks)
	seconds := ticks[len(ticks)-1].Unix() - ticks[0].Unix() + 1 // the seconds from the first tick's to the last's
	t.Logf("%d ticks in %d s, until %.1f s before the last job succeeded", len(ticks), seconds, finished.Sub(ticks[len(ticks)-1]).Seconds())
	for i := 1; i < len(ticks); i++ {
		require.NotEqual(t, ticks[i-1].Unix(), ticks[i].Unix(), "two ticks in one second")
	}
	require.GreaterOrEqual(t, int64(len(ticks)), seconds-1, "ticks were missed")

	// node-c is forgotten once its heartbeat is long stale (12 heartbeats).
	waitFor(t, 30*time.Second, "node-c to leave the servers page", func() bool {
		return !strings.Contains(get(t, client, addrs[0], "/dashboard/servers"), "node-c")
	})

	for _, p := range procs[:2] {
		require.NoError(t, p.Process.Signal(syscall.SIGTERM))
		require.NoError(t, p.Wait(), "a clean stop")
	}
}

// startClusterNode starts this test binary as a Kiln node; it reports the node's name on
// enqueued once the node served and enqueued its share. The node is killed when the test ends.
func startClusterNode(t *testing.T, n clusterNode, enqueued chan<- string) *exec.Cmd {
	t.Helper()
	raw, err := json.Marshal(n)
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), clusterNodeEnv+"="+string(raw), "KILN_ADMIN_PASSWORD=correct horse battery")
	cmd.Stderr = &prefixWriter{t: t, prefix: n.Name + ": "}
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "enqueued" {
				enqueued <- n.Name
			}
		}
	}()
	return cmd
}

// prefixWriter passes a node's log lines to the test log.
type prefixWriter struct {
	t      *testing.T
	prefix string
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w.t.Log(w.prefix + line)
	}
	return len(p), nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

func countRuns(t *testing.T, store *models.Store, where string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, modeltest.DB(store).Raw("SELECT COUNT(*) FROM cluster_runs WHERE "+where).Scan(&n).Error)
	return n
}

func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var csrfInput = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// loggedInClient logs in on the node at loginAddr, and checks that the session and a CSRF
// token from that node's page are accepted by the node at otherAddr, as behind a load balancer.
func loggedInClient(t *testing.T, store *models.Store, loginAddr, otherAddr string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// Cookies are per host; both nodes are 127.0.0.1, as one site behind a balancer would be.
	page := get(t, client, loginAddr, "/login")
	token := csrfInput.FindStringSubmatch(page)
	require.NotNil(t, token, "a CSRF token on the login page")
	resp, err := client.PostForm("http://"+loginAddr+"/login", url.Values{
		"_csrf": {token[1]}, "username": {"admin"}, "password": {"correct horse battery"}, "next": {"/dashboard"},
	})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "logged in")

	// The other node knows the session, and takes a form token the first node's page carried.
	page = get(t, client, loginAddr, "/dashboard/queues")
	token = csrfInput.FindStringSubmatch(page)
	require.NotNil(t, token, "a CSRF token on the queues page")
	for _, action := range []string{"pause", "resume"} {
		resp, err = client.PostForm("http://"+otherAddr+"/dashboard/queues/default/"+action, url.Values{"_csrf": {token[1]}})
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, "%s on the other node", action)
		require.NotContains(t, resp.Header.Get("Location"), "/login", "%s: the other node knew the session", action)
		paused, err := store.Queues.PausedQueues(context.Background())
		require.NoError(t, err)
		require.Equal(t, action == "pause", paused["default"], "the %s took effect", action)
	}
	return client
}

func get(t *testing.T, client *http.Client, addr, path string) string {
	t.Helper()
	resp, err := client.Get("http://" + addr + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s on %s", path, addr)
	return string(body)
}
