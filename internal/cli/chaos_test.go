package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/chaos"
	"github.com/kilnhq/kiln/models/modeltest"
)

// Chaos rounds (kiln chaos): 20,000 probe jobs, through the API and from Go, with retries,
// continuations, unique keys and a recurring job every second; ten times a random node is
// killed with SIGKILL at a random moment and started again. Then nothing Kiln promises may
// be broken (see package chaos). On SQLite with one node, on PostgreSQL with three.
func TestChaosRounds(t *testing.T) {
	for _, d := range modeltest.Dialects {
		t.Run(d.Name, func(t *testing.T) {
			dsn := d.DSN(t)
			nodes := 1
			if d.Name == "postgres" {
				nodes = 3
			}
			dir := t.TempDir()
			r, err := chaos.Run(context.Background(), chaos.Config{
				DSN: dsn, Nodes: nodes, Jobs: 20_000, Kills: 10, Dir: dir, MaxTime: 4 * time.Minute,
				Node:     chaosNodeProcess,
				Progress: func(s string) { t.Log(s) },
			})
			require.NoError(t, err)
			t.Log(r.String())
			if len(r.Violations) > 0 {
				logNodeWarnings(t, dir)
			}
			require.Empty(t, r.Violations)
			require.Positive(t, r.Reruns, "some kill caught jobs running")
			require.Positive(t, r.Ticks)
		})
	}
}

// logNodeWarnings logs the last warnings and errors of each node's log in dir (the nodes log
// at warn), so that a failed round in CI shows what the nodes saw.
func logNodeWarnings(t *testing.T, dir string) {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Logf("%s: %v", path, err)
			continue
		}
		var lines []string
		for line := range strings.Lines(string(data)) {
			if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
				lines = append(lines, strings.TrimSpace(line))
			}
		}
		t.Logf("%s: %d warnings and errors, the last %d:", filepath.Base(path), len(lines), min(len(lines), 20))
		for _, line := range lines[max(0, len(lines)-20):] {
			t.Log("  " + line)
		}
	}
}
