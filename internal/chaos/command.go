package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

const chaosUsage = `Usage: kiln chaos [flags]

Runs Kiln nodes (this binary, as separate processes) on a fresh database, enqueues probe jobs
through the JSON API and from Go (with retries, continuations, unique keys and a recurring job
every second), kills a random node with SIGKILL at a random moment round after round, starting
it again each time, then checks that every job reached a final state, that no job ran on two
servers at once, that only jobs a killed node held ran again, that each job's events form a
valid path, that the counters equal a count of the jobs, that each recurring occurrence made
one job, and that no log says "database is locked" or panic. It prints what it did and every
violation found, and exits 1 if there is one.

Flags:
`

// Command runs "kiln chaos" with args and returns the exit code. node makes the command that
// runs one node with a spec (the kiln binary's hidden "chaos-node" command).
func Command(ctx context.Context, args []string, stdout, stderr io.Writer, node func(NodeSpec) *exec.Cmd) int {
	fs := flag.NewFlagSet("kiln chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	fs.StringVar(&cfg.DSN, "db", "", "database: a SQLite path or a postgres:// URL; it should be empty (default: a new temporary SQLite file)")
	fs.IntVar(&cfg.Nodes, "nodes", 0, "Kiln processes (default 1 on SQLite, 3 on PostgreSQL)")
	fs.IntVar(&cfg.Jobs, "jobs", DefaultJobs, "probe jobs to enqueue")
	fs.IntVar(&cfg.Kills, "kills", DefaultKills, "rounds that kill a node")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "seed of the moments and victims (0: random)")
	fs.DurationVar(&cfg.MaxTime, "max-time", DefaultMaxTime, "give up after this long")
	logs := fs.String("logs", "", "keep the nodes' logs in this directory (default: a temporary one, removed when nothing went wrong)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	fs.Usage = func() { fmt.Fprint(stderr, chaosUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kiln chaos: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := cfg.validate(); err != nil {
		fmt.Fprintln(stderr, "kiln", err)
		return 2
	}
	tmp, err := os.MkdirTemp("", "kiln-chaos-")
	if err != nil {
		fmt.Fprintln(stderr, "kiln chaos:", err)
		return 1
	}
	keep := *logs != ""
	cfg.Dir = *logs
	if !keep {
		cfg.Dir = tmp
	} else if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		fmt.Fprintln(stderr, "kiln chaos:", err)
		return 1
	}
	if cfg.DSN == "" {
		cfg.DSN = filepath.Join(tmp, "chaos.db")
	}
	cfg.Node = node
	cfg.Progress = func(s string) { fmt.Fprintln(stderr, s) }
	r, err := Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "kiln chaos:", err)
		fmt.Fprintln(stderr, "the nodes' logs are in", cfg.Dir)
		return 1
	}
	if *asJSON {
		b, _ := json.MarshalIndent(r, "", "  ")
		fmt.Fprintln(stdout, string(b))
	} else {
		fmt.Fprint(stdout, r.String())
	}
	if len(r.Violations) > 0 {
		fmt.Fprintln(stderr, "the nodes' logs are in", cfg.Dir)
		return 1
	}
	_ = os.RemoveAll(tmp) // the logs, unless --logs, and the database it made
	return 0
}
