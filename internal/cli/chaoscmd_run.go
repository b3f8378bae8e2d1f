package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kilnhq/kiln/internal/chaos"
	"github.com/peterbourgon/ff/v3/ffcli"
)

// chaosCommand kills nodes at random while they work, then checks every job.
func (e *cliEnv) chaosCommand() *ffcli.Command {
	var (
		cfg    chaos.Config
		logs   string
		asJSON bool
	)
	return e.leaf("chaos", "kiln chaos [flags]", `kill nodes at random while they work, then check every job

Runs Kiln nodes (this binary, as separate processes) on a fresh database, enqueues probe jobs
through the JSON API and from Go (with retries, continuations, unique keys and a recurring job
every second), kills a random node with SIGKILL at a random moment round after round, starting
it again each time, then checks that every job reached a final state, that no job ran on two
servers at once, that only jobs a killed node held ran again, that each job's events form a
valid path, that the counters equal a count of the jobs, that each recurring occurrence made
one job, and that no log says "database is locked" or panic. It prints what it did and every
violation found, and exits 1 if there is one.`, false, func(fs *flag.FlagSet) {
		fs.StringVar(&cfg.DSN, "db", "", "database: a SQLite path or a postgres:// URL; it should be empty (default: a new temporary SQLite file)")
		fs.IntVar(&cfg.Nodes, "nodes", 0, "Kiln processes (default 1 on SQLite, 3 on PostgreSQL)")
		fs.IntVar(&cfg.Jobs, "jobs", chaos.DefaultJobs, "probe jobs to enqueue")
		fs.IntVar(&cfg.Kills, "kills", chaos.DefaultKills, "rounds that kill a node")
		fs.Uint64Var(&cfg.Seed, "seed", 0, "seed of the moments and victims (0: random)")
		fs.DurationVar(&cfg.MaxTime, "max-time", chaos.DefaultMaxTime, "give up after this long")
		fs.StringVar(&logs, "logs", "", "keep the nodes' logs in this directory (default: a temporary one, removed when nothing went wrong)")
		fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	}, func(ctx context.Context, pos []string) error {
		if err := noArgs(pos); err != nil {
			return err
		}
		if err := cfg.Validate(); err != nil {
			return fmt.Errorf("%w: %s", errUsage, strings.TrimPrefix(err.Error(), "chaos: "))
		}
		tmp, err := os.MkdirTemp("", "kiln-chaos-")
		if err != nil {
			return err
		}
		cfg.Dir = logs
		if logs == "" {
			cfg.Dir = tmp
		} else if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
			return err
		}
		if cfg.DSN == "" {
			cfg.DSN = filepath.Join(tmp, "chaos.db")
		}
		cfg.Node = chaosNodeProcess
		cfg.Progress = func(s string) { fmt.Fprintln(e.errOut, s) }
		r, err := chaos.Run(ctx, cfg)
		if err != nil {
			return fmt.Errorf("%w\nthe nodes' logs are in %s", err, cfg.Dir)
		}
		if err := e.report(r, asJSON); err != nil {
			return err
		}
		if len(r.Violations) > 0 {
			fmt.Fprintln(e.errOut, "the nodes' logs are in", cfg.Dir)
			return errReported
		}
		_ = os.RemoveAll(tmp) // the logs, unless --logs, and the database it made
		return nil
	})
}

// chaosNodeCommand runs one node of kiln chaos, which kiln chaos starts (chaosNodeProcess).
func (e *cliEnv) chaosNodeCommand() *ffcli.Command {
	return e.leaf("chaos-node", "kiln chaos-node (started by kiln chaos, with "+chaosNodeEnv+" set)", "one node of kiln chaos; kiln chaos starts it", false, nil,
		func(_ context.Context, pos []string) error {
			if err := noArgs(pos); err != nil {
				return err
			}
			if runChaosNode(os.Getenv(chaosNodeEnv)) != 0 {
				return errReported
			}
			return nil
		})
}
