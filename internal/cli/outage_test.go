package cli

import (
	"context"
	"encoding/json"

	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// tcpProxy stands between Kiln and PostgreSQL: it can cut every connection (and refuse new
// ones) until restored, and delay everything that passes.
type tcpProxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
	delay  atomic.Int64 // nanoseconds added to each chunk, each way
	wg     sync.WaitGroup
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(func() { p.cut(); p.wg.Wait() })
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			if p.ln != ln { // cut while this one was being accepted
				p.mu.Unlock()
				_, _ = c.Close(), up.Close()
				continue
			}
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			p.wg.Add(2)
			go p.pipe(c, up)
			go p.pipe(up, c)
		}
	}()
}

func (p *tcpProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if d := time.Duration(p.delay.Load()); d > 0 {
				time.Sleep(d)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			_ = dst.Close()
			_ = src.Close()
			return
		}
	}
}

// cut closes the listener and every connection: Kiln's pool finds its connections broken and
// new ones refused.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

// restore listens again on the same address.
func (p *tcpProxy) restore(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	require.NoError(t, err)
	p.serve(ln)
}

// A database outage: PostgreSQL behind a proxy that cuts every connection for 10 s, then slows
// them by 200 ms. Meanwhile the node answers /healthz, /readyz says 503 and then 200 again, the
// dashboard and the API say the database is unavailable (503, never a 500), the engine stops
// claiming and resumes on its own, and the outcomes of jobs that ran through the outage are
// written once it ends: every job succeeds, each ran once.
func TestDatabaseOutage(t *testing.T) {
	dsn := modeltest.PostgresDSN(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.addr
	cfg, err := parseConfig([]string{"--db", u.String(), "--addr", "127.0.0.1:0", "--poll-interval", "200ms",
		"--queues", "default=10", "--log-level", "warn"}, io.Discard)
	require.NoError(t, err)
	cfg.Jobs.ServerHeartbeat = 300 * time.Millisecond
	var logs syncBuffer
	m := NewMain(cfg, &logs)
	runs := newRunCounter()
	m.Setup = func(e *jobs.Engine) error { return e.Register("outage.probe", runs.work) }
	require.NoError(t, m.Run(context.Background()))
	t.Cleanup(func() { _ = m.Close() })
	base := "http://" + m.Web.Addr()
	const total = 2000
	batch := make([]jobs.EnqueueParams, total)
	for i := range batch {
		batch[i] = jobs.EnqueueParams{Kind: "outage.probe", Args: map[string]int{"n": i}}
	}
	_, err = m.Engine.EnqueueMany(context.Background(), batch)
	require.NoError(t, err)
	done := runs.jobs
	waitFor(t, 30*time.Second, "some jobs to run", func() bool { return done() >= 200 })

	// The outage: 10 s without the database.
	proxy.cut()
	cutAt := time.Now()
	status := func(path string, accept string) (int, string, http.Header) {
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		require.NoError(t, err)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), resp.Header
	}
	waitFor(t, 5*time.Second, "/readyz to say 503", func() bool { code, _, _ := status("/readyz", ""); return code == http.StatusServiceUnavailable })
	notReady := time.Since(cutAt)
	code, _, _ := status("/healthz", "")
	require.Equal(t, http.StatusOK, code, "the process is alive")
	code, body, header := status("/dashboard/jobs", "text/html")
	require.Equal(t, http.StatusServiceUnavailable, code, "the dashboard says the database is down: %s", body)
	require.Contains(t, body, "Database unavailable")
	require.Contains(t, body, "database is not answering")
	require.Equal(t, "5", header.Get("Retry-After"))
	code, body, header = status("/api/v1/stats", "")
	require.Equal(t, http.StatusServiceUnavailable, code, "%s", body)
	require.Equal(t, "5", header.Get("Retry-After"), "the API asks to retry as the dashboard does")
	require.Equal(t, "application/problem+json", header.Get("Content-Type"))
	var problem map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &problem))
	require.Contains(t, problem["detail"], "database is not answering")
	ranBefore := done()
	time.Sleep(time.Until(cutAt.Add(10 * time.Second)))
	require.LessOrEqual(t, done()-ranBefore, 10, "no job is claimed without the database (only those claimed before the cut may start)")

	proxy.restore(t)
	restoredAt := time.Now()
	waitFor(t, 15*time.Second, "/readyz to say 200 again", func() bool { code, _, _ := status("/readyz", ""); return code == http.StatusOK })
	ready := time.Since(restoredAt)
	resumedFrom := done()
	waitFor(t, 30*time.Second, "claims to resume on their own", func() bool { return done() > resumedFrom })
	resumed := time.Since(restoredAt)

	// Then slow: 200 ms more on every chunk, both ways. The node goes on, slowly.
	proxy.delay.Store(int64(200 * time.Millisecond))
	slowFrom := done()
	waitFor(t, 30*time.Second, "jobs to run through a slow database", func() bool { return done() >= slowFrom+20 })
	waitFor(t, 10*time.Second, "/readyz to say 200 through a slow database (slow is not down)", func() bool {
		code, _, _ := status("/readyz", "")
		return code == http.StatusOK
	})
	proxy.delay.Store(0)

	for deadline := time.Now().Add(120 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		n, err := m.Store.JobQueries.CountJobs(context.Background(), models.JobFilter{Kind: "outage.probe", State: models.JobSucceeded})
		if err == nil && n == total {
			break
		}
		if time.Now().After(deadline) {
			byState, _ := m.Store.JobQueries.CountJobsByState(context.Background())
			t.Fatalf("not every job succeeded: %v\n%s", byState, tail(logs.String()))
		}
	}
	runs.requireOnce(t, total)
	require.NotContains(t, logs.String(), "panic")
	t.Logf("outage of 10 s: /readyz 503 after %s; after the restore, /readyz 200 in %s, claims resumed in %s",
		notReady.Round(time.Millisecond), ready.Round(time.Millisecond), resumed.Round(time.Millisecond))
}

// runCounter counts the runs of each job of a kind that works 100 ms (or until cancelled).
type runCounter struct {
	mu   sync.Mutex
	runs map[int64]int
}

func newRunCounter() *runCounter { return &runCounter{runs: map[int64]int{}} }

func (r *runCounter) work(ctx context.Context, j *models.Job) error {
	r.mu.Lock()
	r.runs[j.ID]++
	r.mu.Unlock()
	select {
	case <-time.After(100 * time.Millisecond):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// jobs is how many jobs ran.
func (r *runCounter) jobs() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.runs)
}

// requireOnce fails unless total jobs ran, each once.
func (r *runCounter) requireOnce(t *testing.T, total int) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.Len(t, r.runs, total)
	for id, n := range r.runs {
		require.Equal(t, 1, n, "job %d ran %d times: its outcome was dropped", id, n)
	}
}

// syncBuffer is a log sink the node and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
