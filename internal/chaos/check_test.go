package chaos

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

func TestValidPath(t *testing.T) {
	for _, tc := range []struct {
		start  string
		events [][2]string
		final  string
		ok     bool
	}{
		{"enqueued", nil, "succeeded", true}, // the happy path: the row tells it all
		{"enqueued", [][2]string{{"processing", "scheduled"}, {"scheduled", "enqueued"}}, "succeeded", true}, // a retry
		{"enqueued", [][2]string{{"processing", "enqueued"}}, "succeeded", true},                             // rescued after a kill
		{"awaiting", [][2]string{{"awaiting", "enqueued"}}, "succeeded", true},                               // a continuation released
		{"enqueued", [][2]string{{"", "scheduled"}, {"scheduled", "enqueued"}}, "succeeded", true},
		{"enqueued", nil, "failed", false},                                                           // failed without saying so
		{"awaiting", nil, "succeeded", false},                                                        // ran before its parent let it
		{"enqueued", [][2]string{{"scheduled", "enqueued"}}, "succeeded", false},                     // left a state it was not in
		{"enqueued", [][2]string{{"processing", "succeeded"}, {"", "enqueued"}}, "succeeded", false}, // made twice
		{"enqueued", [][2]string{{"succeeded", "processing"}}, "processing", false},                  // no such change
	} {
		why := validPath(tc.start, tc.events, tc.final)
		require.Equal(t, tc.ok, why == "", "%v from %s to %s: %s", tc.events, tc.start, tc.final, why)
	}
}

// The checks catch what they look for: runs of one job at once on two live servers, a re-run
// no kill explains, a log line saying the database was locked, counters that drifted.
func TestCheckCatchesViolations(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store := modeltest.Open(t, modeltest.SQLiteDSN(t))
	db := store.ToolDB()
	for _, q := range []string{
		"CREATE TABLE " + RunsTable + ` (job_id bigint NOT NULL, run integer NOT NULL, attempt integer NOT NULL,
			server varchar(64) NOT NULL, started_us bigint NOT NULL, finished_us bigint)`,
		"CREATE TABLE " + KillsTable + ` (server varchar(64) PRIMARY KEY, killed_us bigint NOT NULL)`,
	} {
		require.NoError(t, db.Exec(q).Error)
	}
	jobs := []*models.Job{{Kind: KindProbe, Queue: "default", Args: "{}", MaxAttempts: 1}, {Kind: KindProbe, Queue: "default", Args: "{}", MaxAttempts: 1}, {Kind: KindProbe, Queue: "default", Args: "{}", MaxAttempts: 1}}
	_, err := store.Jobs.InsertJobs(ctx, jobs, time.Now())
	require.NoError(t, err)
	// One recurring occurrence that made two jobs.
	at := time.Now().Truncate(time.Second)
	ticks := []*models.Job{{Kind: KindTick, Queue: "default", Args: "{}", MaxAttempts: 1, RunAt: at}, {Kind: KindTick, Queue: "default", Args: "{}", MaxAttempts: 1, RunAt: at}}
	_, err = store.Jobs.InsertJobs(ctx, ticks, at.Add(time.Second))
	require.NoError(t, err)
	// Job 1: two runs at once on live servers. Job 2: a re-run after a server nobody killed.
	// Job 3: a re-run after a killed server, which is fine.
	for _, q := range []string{
		"INSERT INTO " + KillsTable + " VALUES ('node-b.1', 1500)",
		"INSERT INTO " + RunsTable + " VALUES (1, 1, 1, 'node-a.1', 1000, 2000), (1, 2, 1, 'node-b.1', 1500, 2500)",
		"INSERT INTO " + RunsTable + " VALUES (2, 1, 1, 'node-a.1', 1000, 1100), (2, 2, 1, 'node-c.1', 3000, 3100)",
		"INSERT INTO " + RunsTable + " VALUES (3, 1, 1, 'node-b.1', 1000, NULL), (3, 2, 1, 'node-a.1', 2000, 2100)",
		"INSERT INTO " + RunsTable + " VALUES (3, 2, 1, 'node-c.1', 2050, 2150)", // the same claim, run twice
		"UPDATE jobs SET state = 'succeeded'",                                    // around the store: the counters miss it
	} {
		require.NoError(t, db.Exec(q).Error)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "node-a.1.log"), []byte("level=ERROR msg=x err=\"database is locked\"\n"), 0o600))
	r := Report{}
	require.NoError(t, check(ctx, store, Config{Jobs: 3, Dir: dir}, &r))
	all := strings.Join(r.Violations, "\n")
	require.Contains(t, all, "1 times a job's run started while an earlier run of it went on")
	require.Contains(t, all, "2 jobs ran their attempt again although the node that ran it was not killed", "jobs 1 and 2")
	// Each such job is told: both runs, the kill or its absence, the events.
	require.Contains(t, all, "job 2: run 1 on node-a.1, finished +0.1 ms, its node never killed; run 2 on node-c.1 started +2.0 ms")
	require.Contains(t, all, "job 1: run 1 on node-a.1, finished +1.0 ms, its node never killed; run 2 on node-b.1 started +0.5 ms")
	require.Contains(t, all, "database is locked")
	require.Contains(t, all, "1 claims ran more than once")
	require.Contains(t, all, "2 recurring ticks for 1 occurrences")
	require.Contains(t, all, "the counters say")
	require.EqualValues(t, 4, r.Reruns, "each job ran its first attempt again (job 3 twice over)")
}
