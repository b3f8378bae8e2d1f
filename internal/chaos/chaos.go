// Package chaos is kiln chaos: Kiln nodes (real processes) work probe jobs while the
// orchestrator kills one at a random moment with SIGKILL and starts it again, round after
// round; then it checks what Kiln promises. Every job reached a final state; no job ran on two
// servers at once; only jobs whose run a killed node held ran again; each job's events form a
// valid path; the counters equal a count of the jobs; each recurring occurrence made one job;
// no log says "database is locked" or panic; every workflow succeeded, each step starting once,
// after its dependencies ended.
//
// The probes record each run (job, run, attempt, server, start, end) in a table of their own,
// chaos_runs, in the same database, as the cluster test does.
package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/postgres"
)

// The probe kinds a chaos node registers.
const (
	KindProbe  = "chaos.probe"  // records its run and works 2-10 ms
	KindFlaky  = "chaos.flaky"  // fails its first two attempts, then succeeds (retries)
	KindParent = "chaos.parent" // has a continuation, KindChild
	KindChild  = "chaos.child"  // runs after its parent succeeded
	KindTick   = "chaos.tick"   // the every-second recurring job
)

// WorkflowSteps is how many probe jobs each chaos workflow has: a diamond whose first step's
// result is a list of WorkflowFanOut items, and one of whose middle steps fans out over it.
const (
	WorkflowFanOut = 3
	WorkflowSteps  = 3 + WorkflowFanOut
)

// workflowsOf is how many workflows a run of cfg starts through the API: one per 200 jobs.
func workflowsOf(cfg Config) int { return cfg.Jobs / 200 }

// RunsTable is where probes record their runs; KillsTable where the orchestrator records its
// kills (for the checks).
const (
	RunsTable  = "chaos_runs"
	KillsTable = "chaos_kills"
)

// Config shapes a chaos run.
type Config struct {
	// DSN is the database: a SQLite path or a postgres:// URL. It should be empty.
	DSN string
	// Nodes is how many Kiln processes work the jobs (1 on SQLite; default 1, or 3 on PostgreSQL).
	Nodes int
	// Jobs is how many probe jobs are enqueued (default 20,000): a quarter by the first node in
	// batches from Go (among them parents with continuations, and flaky jobs), the rest through
	// the JSON API of the live nodes (batches, single POSTs, and duplicates of unique keys).
	Jobs int
	// Kills is how many rounds kill a node (default DefaultKills).
	Kills int
	// Seed makes the moments and victims repeatable (0: random).
	Seed uint64
	// Dir keeps the nodes' logs.
	Dir string
	// Node returns the command that runs one node; the orchestrator sets its output.
	Node func(NodeSpec) *exec.Cmd
	// Progress, when set, hears what happens.
	Progress func(string)
	// MaxTime bounds the whole run (default DefaultMaxTime).
	MaxTime time.Duration
}

// NodeSpec is what a node process is told.
type NodeSpec struct {
	DSN, Addr string
	// Name is the incarnation's server id: node-b.3 is node-b's third start.
	Name string
	// Enqueue probe jobs (of which Pairs parents with a continuation each, and Flaky flaky
	// jobs) are enqueued by the node from Go once it serves; it prints "enqueued" then.
	Enqueue, Pairs, Flaky int
}

// Report is what a chaos run did and found.
type Report struct {
	Dialect     string        `json:"dialect"`
	Nodes       int           `json:"nodes"`
	Kills       int           `json:"kills"`
	Jobs        int64         `json:"jobs"`
	Runs        int64         `json:"runs"`
	Reruns      int64         `json:"reruns"`  // runs again of an attempt a killed node held
	Retries     int64         `json:"retries"` // runs of later attempts (flaky jobs failing)
	Ticks       int64         `json:"ticks"`
	Took        time.Duration `json:"took_ns"`
	Violations  []string      `json:"violations"`
	LockedLines int           `json:"locked_lines"`
	PanicLines  int           `json:"panic_lines"`
}

func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kiln chaos (%s, %d node(s)): %d kills, %d jobs, %d runs, %d re-runs after kills, %d retries, %d recurring ticks, in %s\n",
		r.Dialect, r.Nodes, r.Kills, r.Jobs, r.Runs, r.Reruns, r.Retries, r.Ticks, r.Took.Round(time.Second))
	if len(r.Violations) == 0 {
		b.WriteString("violations: 0\n")
	} else {
		fmt.Fprintf(&b, "violations: %d\n", len(r.Violations))
		for _, v := range r.Violations {
			fmt.Fprintf(&b, "  - %s\n", v)
		}
	}
	return b.String()
}

// Defaults of Config, also kiln chaos's flag defaults.
const (
	DefaultJobs    = 20_000
	DefaultKills   = 10
	DefaultMaxTime = 30 * time.Minute
)

func (c *Config) withDefaults() {
	if c.Jobs == 0 {
		c.Jobs = DefaultJobs
	}
	if c.Kills == 0 {
		c.Kills = DefaultKills
	}
	if c.Nodes == 0 {
		c.Nodes = 1
		if postgres.Handles(c.DSN) {
			c.Nodes = 3
		}
	}
	if c.MaxTime == 0 {
		c.MaxTime = DefaultMaxTime
	}
	if c.Seed == 0 {
		c.Seed = rand.Uint64()
	}
	if c.Progress == nil {
		c.Progress = func(string) {}
	}
}

// Validate checks what a caller set (0 means the default).
func (c *Config) Validate() error {
	if c.Nodes < 0 || c.Kills < 0 || (c.Jobs != 0 && c.Jobs < 100) {
		return errors.New("chaos: jobs must be at least 100, kills and nodes at least 0")
	}
	return nil
}

// node is one node slot: its address and its current process.
type node struct {
	slot    string // node-a
	addr    string
	starts  int
	cmd     *exec.Cmd
	name    string // the running incarnation
	done    chan struct{}
	ready   chan struct{}
	logPath string
}

// Run runs the chaos rounds and checks the outcome. An error means the run could not be made;
// what Kiln got wrong is in Report.Violations.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	cfg.withDefaults()
	r := Report{Nodes: cfg.Nodes}
	if cfg.Node == nil || cfg.Dir == "" {
		return r, errors.New("chaos: Config.Node and Config.Dir are required")
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.MaxTime)
	defer cancel()
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	start := time.Now()

	store, err := models.Open(ctx, cfg.DSN, nil)
	if err != nil {
		return r, err
	}
	defer store.Close()
	r.Dialect = string(store.Dialect())
	if !store.Shared() && cfg.Nodes > 1 {
		return r, errors.New("chaos: SQLite is one node's database: --nodes 1")
	}
	db := store.ToolDB().WithContext(ctx)
	var existing int64
	if err := db.Raw("SELECT COUNT(*) FROM jobs").Scan(&existing).Error; err != nil {
		return r, fmt.Errorf("chaos: %w", err)
	}
	if existing > 0 {
		return r, fmt.Errorf("chaos: the database holds %d jobs: chaos needs an empty one (its nodes would fail jobs of kinds they don't know)", existing)
	}
	for _, q := range []string{
		"DROP TABLE IF EXISTS " + RunsTable, "DROP TABLE IF EXISTS " + KillsTable,
		// No key on (job_id, run): one claim run twice must show as two rows, not fail the second.
		"CREATE TABLE " + RunsTable + ` (job_id bigint NOT NULL, run integer NOT NULL, attempt integer NOT NULL,
			server varchar(64) NOT NULL, started_us bigint NOT NULL, finished_us bigint)`,
		"CREATE INDEX " + RunsTable + "_job ON " + RunsTable + " (job_id, run)",
		"CREATE TABLE " + KillsTable + ` (server varchar(64) PRIMARY KEY, killed_us bigint NOT NULL)`,
	} {
		if err := db.Exec(q).Error; err != nil {
			return r, fmt.Errorf("chaos: %w", err)
		}
	}

	// The nodes: the first enqueues a quarter of the jobs from Go.
	nodes := make([]*node, cfg.Nodes)
	for i := range nodes {
		addr, err := freeAddr()
		if err != nil {
			return r, err
		}
		nodes[i] = &node{slot: fmt.Sprintf("node-%c", 'a'+i), addr: addr}
	}
	goJobs := cfg.Jobs / 4
	pairs, flaky := goJobs/10, goJobs/10
	var mu sync.Mutex // guards nodes' processes
	startNode := func(n *node, spec NodeSpec) error {
		n.starts++
		n.name = fmt.Sprintf("%s.%d", n.slot, n.starts)
		spec.DSN, spec.Addr, spec.Name = cfg.DSN, n.addr, n.name
		n.logPath = filepath.Join(cfg.Dir, n.name+".log")
		logf, err := os.Create(n.logPath)
		if err != nil {
			return err
		}
		cmd := cfg.Node(spec)
		dieWithParent(cmd)
		cmd.Stderr = logf
		out, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("chaos: start %s: %w", n.name, err)
		}
		n.cmd, n.done, n.ready = cmd, make(chan struct{}), make(chan struct{})
		go watchNode(n, out, logf, spec.Enqueue > 0)
		return nil
	}
	defer func() { // whatever happened, no node outlives the run
		mu.Lock()
		defer mu.Unlock()
		for _, n := range nodes {
			if n.cmd == nil {
				continue
			}
			select {
			case <-n.done:
			default:
				_ = n.cmd.Process.Kill()
				<-n.done
			}
		}
	}()
	for i, n := range nodes {
		spec := NodeSpec{}
		if i == 0 {
			spec = NodeSpec{Enqueue: goJobs, Pairs: pairs, Flaky: flaky}
		}
		if err := startNode(n, spec); err != nil {
			return r, err
		}
	}
	for _, n := range nodes {
		if err := waitReady(ctx, n); err != nil {
			return r, err
		}
	}
	cfg.Progress(fmt.Sprintf("%d node(s) up; node-a enqueued %d jobs from Go", cfg.Nodes, goJobs))

	// The rest through the API, while the kill rounds go on.
	live := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, n := range nodes {
			select {
			case <-n.ready:
				select {
				case <-n.done:
				default:
					out = append(out, n.addr)
				}
			default:
			}
		}
		return out
	}
	apiDone := make(chan error, 1)
	uniqueKeys := cfg.Jobs / 40
	apiJobs := cfg.Jobs - goJobs - uniqueKeys
	apiSeed := rng.Uint64()
	go func() { apiDone <- enqueueThroughAPI(ctx, live, apiJobs, uniqueKeys, workflowsOf(cfg), apiSeed) }()

	for round := 1; round <= cfg.Kills; round++ {
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(time.Duration(300+rng.IntN(1700)) * time.Millisecond):
		}
		victim := nodes[rng.IntN(len(nodes))] // the slice never changes; its nodes do, under mu
		at := time.Now()
		if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			return r, fmt.Errorf("chaos: kill %s: %w", victim.name, err)
		}
		<-victim.done
		if err := db.Exec("INSERT INTO "+KillsTable+" (server, killed_us) VALUES (?, ?)", victim.name, at.UnixMicro()).Error; err != nil {
			return r, fmt.Errorf("chaos: %w", err)
		}
		cfg.Progress(fmt.Sprintf("round %d: killed %s", round, victim.name))
		mu.Lock()
		err := startNode(victim, NodeSpec{})
		mu.Unlock()
		if err != nil {
			return r, err
		}
		if err := waitReady(ctx, victim); err != nil {
			return r, err
		}
		r.Kills++
	}
	if err := <-apiDone; err != nil {
		return r, err
	}
	cfg.Progress("every job enqueued; waiting for every job to reach a final state")

	// Every job reaches a final state.
	for {
		var open int64
		if err := db.Raw("SELECT COUNT(*) FROM jobs WHERE state NOT IN ('succeeded', 'failed', 'cancelled', 'deleted') AND kind <> ?", KindTick).Scan(&open).Error; err != nil {
			return r, fmt.Errorf("chaos: %w", err)
		}
		if open == 0 {
			break
		}
		select {
		case <-ctx.Done():
			r.Violations = append(r.Violations, fmt.Sprintf("%d jobs had not reached a final state after %s", open, cfg.MaxTime))
			return r, nil
		case <-time.After(200 * time.Millisecond):
		}
	}
	mu.Lock()
	for _, n := range nodes {
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, n := range nodes {
		select {
		case <-n.done:
		case <-time.After(30 * time.Second):
			r.Violations = append(r.Violations, n.name+" did not stop within 30 s of SIGTERM")
			_ = n.cmd.Process.Kill()
			<-n.done
		}
		if n.cmd.ProcessState != nil && !n.cmd.ProcessState.Success() {
			r.Violations = append(r.Violations, fmt.Sprintf("%s stopped with %s after SIGTERM", n.name, n.cmd.ProcessState))
		}
	}
	mu.Unlock()
	r.Took = time.Since(start)
	if err := check(ctx, store, cfg, &r); err != nil {
		return r, err
	}
	return r, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
