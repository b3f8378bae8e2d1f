package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/kilnhq/kiln/internal/chaos"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// chaosNodeEnv carries a chaos node's spec (JSON) to the process that runs it: "kiln
// chaos-node" in the binary, the test binary in tests (TestMain).
const chaosNodeEnv = "KILN_CHAOS_NODE"

// chaosNodeProcess is how kiln chaos starts a node: this binary again, as "kiln chaos-node".
func chaosNodeProcess(spec chaos.NodeSpec) *exec.Cmd {
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	raw, _ := json.Marshal(spec)
	cmd := exec.Command(self, "chaos-node")
	// A first user of its own, so that no node makes one with a password it would log.
	cmd.Env = append(os.Environ(), chaosNodeEnv+"="+string(raw), "KILN_ADMIN_PASSWORD=chaos-"+strconv.FormatUint(rand.Uint64(), 36))
	return cmd
}

// runChaosNode runs one node of kiln chaos: a real Kiln (Main.Run: the store, the engine with
// its built-ins, the web server and API) with the probe kinds, which record each run in
// chaos.RunsTable and work 2-10 ms. It prints "ready" once it serves, enqueues its share of
// jobs from Go and prints "enqueued", and runs until SIGTERM or SIGKILL.
func runChaosNode(raw string) int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "chaos node:", err); return 1 }
	var spec chaos.NodeSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		return fail(err)
	}
	cfg, err := parseConfig([]string{"--db", spec.DSN, "--addr", spec.Addr, "--lease", "5s", "--poll-interval", "1s",
		"--queues", "default=10", "--log-level", "warn"}, os.Stderr)
	if err != nil {
		return fail(err)
	}
	cfg.Jobs.ServerID, cfg.Jobs.ServerHeartbeat = spec.Name, 300*time.Millisecond
	m := NewMain(cfg, os.Stderr)
	probe := func(ctx context.Context, j *models.Job) error {
		db := m.Store.ToolDB().WithContext(ctx)
		if err := db.Exec("INSERT INTO "+chaos.RunsTable+" (job_id, run, attempt, server, started_us) VALUES (?, ?, ?, ?, ?)",
			j.ID, j.Runs, j.Attempt, spec.Name, time.Now().UnixMicro()).Error; err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(2+rand.IntN(9)) * time.Millisecond):
		}
		var fan struct{ Fan int } // a workflow's first step: the list its fan-out expands into
		if j.DecodeArgs(&fan) == nil && fan.Fan > 0 {
			items := make([]int, fan.Fan)
			for i := range items {
				items[i] = i
			}
			if err := jobs.SetResult(ctx, map[string]any{"items": items}); err != nil {
				return err
			}
		}
		return db.Exec("UPDATE "+chaos.RunsTable+" SET finished_us = ? WHERE job_id = ? AND run = ?", time.Now().UnixMicro(), j.ID, j.Runs).Error
	}
	flaky := func(ctx context.Context, j *models.Job) error {
		if err := probe(ctx, j); err != nil {
			return err
		}
		if j.Attempt < 3 {
			return fmt.Errorf("flaky: attempt %d fails, as it should", j.Attempt)
		}
		return nil
	}
	m.Setup = func(e *jobs.Engine) error {
		for _, kind := range []string{chaos.KindProbe, chaos.KindParent, chaos.KindChild, chaos.KindTick} {
			if err := e.Register(kind, probe); err != nil {
				return err
			}
		}
		if err := e.Register(chaos.KindFlaky, flaky, jobs.MaxAttempts(5), jobs.WithBackoff(jobs.ConstantBackoff(100*time.Millisecond))); err != nil {
			return err
		}
		return e.Recurring(chaos.KindTick, "@every 1s", chaos.KindTick, nil)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := m.Run(ctx); err != nil {
		_ = m.Close()
		return fail(err)
	}
	fmt.Println("ready")
	if spec.Enqueue > 0 {
		if err := enqueueChaosShare(ctx, m.Engine, spec); err != nil {
			_ = m.Close()
			return fail(err)
		}
		fmt.Println("enqueued")
	}
	<-ctx.Done()
	if err := m.Close(); err != nil {
		return fail(err)
	}
	return 0
}

// enqueueChaosShare enqueues a node's share from Go: parents with a continuation each, flaky
// jobs, and plain probes, in batches.
func enqueueChaosShare(ctx context.Context, e *jobs.Engine, spec chaos.NodeSpec) error {
	if spec.Pairs*2+spec.Flaky > spec.Enqueue {
		return errors.New("more parents and flaky jobs than jobs")
	}
	var batch []jobs.EnqueueParams
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := e.EnqueueMany(ctx, batch)
		batch = batch[:0]
		return err
	}
	add := func(kind string, n int) error {
		batch = append(batch, jobs.EnqueueParams{Kind: kind, Args: map[string]any{"via": "go", "n": n}})
		if len(batch) == 500 {
			return flush()
		}
		return nil
	}
	for i := range spec.Pairs {
		parent, err := e.Enqueue(ctx, chaos.KindParent, map[string]any{"via": "go", "n": i})
		if err != nil {
			return err
		}
		if _, err := e.ContinueWith(ctx, parent.ID, chaos.KindChild, map[string]any{"parent": parent.ID}); err != nil {
			return err
		}
	}
	for i := range spec.Flaky {
		if err := add(chaos.KindFlaky, i); err != nil {
			return err
		}
	}
	for i := range spec.Enqueue - spec.Pairs*2 - spec.Flaky {
		if err := add(chaos.KindProbe, i); err != nil {
			return err
		}
	}
	return flush()
}
