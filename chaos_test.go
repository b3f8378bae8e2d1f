package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/chaos"
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
			r, err := chaos.Run(context.Background(), chaos.Config{
				DSN: dsn, Nodes: nodes, Jobs: 20_000, Kills: 10, Dir: t.TempDir(), MaxTime: 4 * time.Minute,
				Node: func(spec chaos.NodeSpec) *exec.Cmd {
					raw, err := json.Marshal(spec)
					require.NoError(t, err)
					cmd := exec.Command(os.Args[0], "-test.run=^$")
					cmd.Env = append(os.Environ(), chaosNodeEnv+"="+string(raw), "KILN_ADMIN_PASSWORD=correct horse battery")
					return cmd
				},
				Progress: func(s string) { t.Log(s) },
			})
			require.NoError(t, err)
			t.Log(r.String())
			require.Empty(t, r.Violations)
			require.Equal(t, 10, r.Kills)
			require.EqualValues(t, 20_000, r.Jobs)
			require.Positive(t, r.Reruns, "some kill caught jobs running")
			require.Positive(t, r.Ticks)
		})
	}
}
