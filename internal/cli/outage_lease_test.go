package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// Two nodes share PostgreSQL through a proxy that cuts it off for two and a half leases while
// they work one-attempt jobs: Go jobs and exec jobs (a script that appends its argument to a
// file, so each run of the program is counted outside Kiln). Every lease runs out and every
// heartbeat stops, yet every job runs exactly once and succeeds: the nodes keep their finished
// runs' outcomes (kiln_outcomes_waiting in /metrics) until the database answers, renew their
// leases and write them before anyone rescues anything, and neither takes the other, nor
// itself, for dead.
func TestOutageLongerThanTheLease(t *testing.T) {
	dsn := modeltest.PostgresDSN(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.addr

	dir := t.TempDir()
	script, ranFile := filepath.Join(dir, "once.sh"), filepath.Join(dir, "ran")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho \"$1\" >> "+ranFile+"\nsleep 0.05\n"), 0o700))

	const lease = 2 * time.Second
	runs := newRunCounter()
	var nodes []*Main
	var logs []*syncBuffer
	for i := range 2 {
		cfg, err := parseConfig([]string{"--db", u.String(), "--addr", "127.0.0.1:0", "--poll-interval", "100ms",
			"--queues", "default=10", "--log-level", "info", "--lease", lease.String(), "--exec-allow", script}, io.Discard)
		require.NoError(t, err)
		cfg.Jobs.ServerHeartbeat = 200 * time.Millisecond
		cfg.Jobs.ServerID = fmt.Sprintf("node-%d", i+1)
		buf := &syncBuffer{}
		m := NewMain(cfg, buf)
		m.Setup = func(e *jobs.Engine) error { return e.Register("outage.once", runs.work, jobs.MaxAttempts(1)) }
		require.NoError(t, m.Run(context.Background()))
		t.Cleanup(func() { _ = m.Close() })
		nodes, logs = append(nodes, m), append(logs, buf)
	}

	const goJobs, execJobs = 1600, 200
	batch := make([]jobs.EnqueueParams, 0, goJobs+execJobs)
	for i := range goJobs {
		batch = append(batch, jobs.EnqueueParams{Kind: "outage.once", Args: map[string]int{"n": i}})
		if i%(goJobs/execJobs) == 0 {
			batch = append(batch, jobs.EnqueueParams{Kind: builtin.KindExec, Args: builtin.ExecArgs{Command: []string{script, strconv.Itoa(i)}}})
		}
	}
	_, err = nodes[0].Engine.EnqueueMany(context.Background(), batch)
	require.NoError(t, err)
	waitFor(t, 30*time.Second, "some jobs to run", func() bool { return runs.jobs() >= 200 })

	proxy.cut()
	waiting := 0.0 // the most outcomes a node held, from its /metrics
	for end := time.Now().Add(lease * 5 / 2); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		for _, m := range nodes {
			waiting = max(waiting, metric(t, m, "kiln_outcomes_waiting"))
		}
	}
	proxy.restore(t)

	total := int64(len(batch))
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		once, err1 := nodes[0].Store.JobQueries.CountJobs(context.Background(), models.JobFilter{Kind: "outage.once", State: models.JobSucceeded})
		execs, err2 := nodes[0].Store.JobQueries.CountJobs(context.Background(), models.JobFilter{Kind: builtin.KindExec, State: models.JobSucceeded})
		if err1 == nil && err2 == nil && once+execs == total {
			break
		}
		if time.Now().After(deadline) {
			byState, _ := nodes[0].Store.JobQueries.CountJobsByState(context.Background())
			t.Fatalf("not every job succeeded: %v\nnode 1:\n%s\nnode 2:\n%s", byState, tail(logs[0].String()), tail(logs[1].String()))
		}
	}
	runs.requireOnce(t, goJobs)
	lines, err := os.ReadFile(ranFile)
	require.NoError(t, err)
	seen := map[string]int{}
	for _, l := range strings.Fields(string(lines)) {
		seen[l]++
	}
	require.Len(t, seen, execJobs, "every program ran")
	for arg, n := range seen {
		require.Equal(t, 1, n, "the program for %s ran %d times", arg, n)
	}
	require.Positive(t, waiting, "a node held finished outcomes through the outage, and said so in /metrics")
	failedWrites := 0.0
	for i, m := range nodes {
		require.Zero(t, metric(t, m, "kiln_outcomes_waiting"), "node %d wrote every outcome", i+1)
		failedWrites += metric(t, m, "kiln_outcome_writes_failed_total")
		require.NotContains(t, logs[i].String(), "presumed dead")
		require.NotContains(t, logs[i].String(), "put back the jobs of a server")
		require.Contains(t, logs[i].String(), "the database answers again")
	}
	require.Positive(t, failedWrites, "outcomes were retried")
	ids, err := nodes[0].Store.JobQueries.JobIDs(context.Background(), models.JobFilter{}, 0, 10*int(total))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(ids), int(total))
	for _, id := range ids {
		j, err := nodes[0].Store.JobQueries.GetJob(context.Background(), id)
		require.NoError(t, err)
		require.Zero(t, j.Rescues, "job %d was rescued from a live node", id)
	}
}

// metric reads one unlabelled sample from a node's /metrics (local access: no token).
func metric(t *testing.T, m *Main, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + m.Web.Addr() + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	match := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(body)
	require.NotNil(t, match, "%s not in /metrics", name)
	v, err := strconv.ParseFloat(string(match[1]), 64)
	require.NoError(t, err)
	return v
}

// tail is the end of a node's log, for a failure's message.
func tail(log string) string {
	if len(log) > 4000 {
		return "…" + log[len(log)-4000:]
	}
	return log
}
