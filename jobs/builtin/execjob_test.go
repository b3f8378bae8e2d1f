//go:build unix

package builtin_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// shell is the program these tests run; the allow list names it.
func shell(t *testing.T) string {
	t.Helper()
	sh, err := exec.LookPath("sh")
	require.NoError(t, err)
	return sh
}

func execEngine(t *testing.T, s *models.Store, allow ...string) *jobs.Engine {
	t.Helper()
	e := newEngine(t, s, fast())
	require.NoError(t, builtin.Register(e, s.Jobs, builtin.Config{ExecAllow: allow, ExecGrace: 300 * time.Millisecond,
		Secrets: mapSecrets{"api": apiKey}}))
	return e
}

// An allowed program runs: stdout and stderr reach the log line by line, secrets are filled in
// and masked, the environment holds none of Kiln's own settings, and the exit code decides.
func TestExecJob(t *testing.T) {
	t.Setenv("KILN_SECRET", "do-not-leak-me")
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	sh := shell(t)
	e := newEngine(t, s, fast())
	require.NoError(t, builtin.Register(e, s.Jobs, builtin.Config{ExecAllow: []string{sh}, ExecAllowEnv: []string{"TOKEN"},
		ExecGrace: 300 * time.Millisecond, Secrets: mapSecrets{"api": apiKey}}))
	start(t, e)

	job, err := e.Enqueue(ctx, builtin.KindExec, builtin.ExecArgs{
		Command: []string{sh, "-c", `echo "hello $1"; echo "token=$TOKEN"; env | grep -c KILN_ || true; cat; echo oops >&2`, "sh", "world"},
		Env:     map[string]string{"TOKEN": "${secret:api}"},
		Stdin:   "from stdin\n",
	})
	require.NoError(t, err)
	done := waitState(t, s, job.ID, models.JobSucceeded)
	lines := logLines(t, s, job.ID)
	require.Equal(t, "$ "+sh+` -c 'echo "hello $1"; echo "token=$TOKEN"; env | grep -c KILN_ || true; cat; echo oops >&2' sh world`, lines[0])
	out := strings.Join(lines, "\n")
	require.Contains(t, out, "\nhello world\n")
	require.Contains(t, out, "\ntoken=${secret:api}\n", "the secret reached the program, and is masked in the log")
	require.Contains(t, out, "\n0\n", "no KILN_ variable reaches the program")
	require.Contains(t, out, "\nfrom stdin\n")
	require.Contains(t, out, "\nstderr: oops\n")
	require.Contains(t, lines[len(lines)-1], "exited with code 0 after ")
	var res builtin.ExecResult
	require.NoError(t, json.Unmarshal([]byte(done.Result), &res))
	require.Equal(t, 0, res.ExitCode)
	require.Equal(t, 5, res.Lines)
	require.NotContains(t, done.Result+out, apiKey)

	failing, err := e.Enqueue(ctx, builtin.KindExec, builtin.ExecArgs{Command: []string{sh, "-c", "echo bad input >&2; exit 3"}})
	require.NoError(t, err)
	failed := waitState(t, s, failing.ID, models.JobFailed)
	require.Equal(t, "exited with code 3: stderr: bad input", failed.LastError)
	require.Equal(t, 1, failed.MaxAttempts, "exec runs once unless told otherwise")
}

// Output past the cap is counted, not logged, and the log says so.
func TestExecOutputIsCapped(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	sh := shell(t)
	e := execEngine(t, s, sh)
	start(t, e)
	n := builtin.ExecMaxLogLines + 500
	job, err := e.Enqueue(ctx, builtin.KindExec, builtin.ExecArgs{Command: []string{sh, "-c", fmt.Sprintf("i=0; while [ $i -lt %d ]; do echo line $i; i=$((i+1)); done", n)}})
	require.NoError(t, err)
	done := waitState(t, s, job.ID, models.JobSucceeded)
	lines := logLines(t, s, job.ID)
	require.Len(t, lines, 1+builtin.ExecMaxLogLines+2)
	require.Equal(t, fmt.Sprintf("line %d", builtin.ExecMaxLogLines-1), lines[builtin.ExecMaxLogLines])
	require.Equal(t, fmt.Sprintf("… 500 more lines of output not logged (at most %d are kept)", builtin.ExecMaxLogLines), lines[len(lines)-2])
	var res builtin.ExecResult
	require.NoError(t, json.Unmarshal([]byte(done.Result), &res))
	require.Equal(t, n, res.Lines)
	require.Equal(t, 500, res.DroppedLines)
	require.Equal(t, fmt.Sprintf("line %d", n-1), res.Tail[len(res.Tail)-1])
}

// A program not on the allow list is refused when the job is made, and again when it runs on
// a server whose list doesn't have it.
func TestExecAllowList(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	sh := shell(t)
	dir, _ := execDir(t)
	backup := filepath.Join(dir, "backup-db")
	require.NoError(t, os.WriteFile(backup, []byte("#!/bin/sh\n"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "backup-notes"), []byte("not a program\n"), 0o644))
	strict := execEngine(t, s, filepath.Join(dir, "backup-*"))
	for _, tc := range []struct {
		args  builtin.ExecArgs
		field string
		msg   string
	}{
		{builtin.ExecArgs{Command: []string{sh, "-c", "true"}}, "args.command", "is not allowed on this server; --exec-allow lists " + dir + "/backup-*"},
		{builtin.ExecArgs{Command: []string{"backup-db"}}, "args.command", "must be an absolute path"},
		{builtin.ExecArgs{Command: []string{dir + "/../" + filepath.Base(dir) + "/backup-db"}}, "args.command", "without . or .. parts"},
		{builtin.ExecArgs{}, "args.command", "a program to run is required"},
		{builtin.ExecArgs{Command: []string{backup}, Dir: "tmp"}, "args.dir", "absolute path"},
		{builtin.ExecArgs{Command: []string{backup}, Env: map[string]string{"A=B": "x"}}, "args.env", "not a valid variable name"},
		{builtin.ExecArgs{Command: []string{backup}, Timeout: "-1s"}, "args.timeout", "positive duration"},
		{builtin.ExecArgs{Command: []string{backup, "--token=${secret:api}"}}, "args.command", "a secret can't be an argument"},
		{builtin.ExecArgs{Command: []string{backup}, Env: map[string]string{"TZ": "${secret:gone}"}}, "args.env", "no secret of that name"},
		{builtin.ExecArgs{Command: []string{backup}, Env: map[string]string{"BASH_ENV": "/dev/stdin"}}, "args.env", "BASH_ENV can't be set"},
		{builtin.ExecArgs{Command: []string{backup}, Env: map[string]string{"LD_PRELOAD": "/tmp/x.so"}}, "args.env", "changes what code a program loads"},
		{builtin.ExecArgs{Command: []string{backup}, Env: map[string]string{"PATH": "/tmp"}}, "args.env", "PATH can't be set"},
		{builtin.ExecArgs{Command: []string{backup}, Stdin: "a\x00b"}, "args.stdin", "NUL byte"},
		{builtin.ExecArgs{Command: []string{dir + "/backup-gone"}}, "args.command", "backup-gone: no such program on this server"},
		{builtin.ExecArgs{Command: []string{dir + "/backup-notes"}}, "args.command", "backup-notes is not an executable file"},
		{builtin.ExecArgs{Command: []string{dir + "/other"}}, "args.command", "other is not allowed on this server"},
	} {
		_, err := strict.Enqueue(ctx, builtin.KindExec, tc.args)
		var me *models.Error
		require.ErrorAs(t, err, &me, "%+v", tc.args)
		require.Contains(t, me.Fields[tc.field], tc.msg, "%+v", tc.args)
	}
	off := execEngine(t, s)
	_, err := off.Enqueue(ctx, builtin.KindExec, builtin.ExecArgs{Command: []string{sh}})
	require.ErrorContains(t, err, "exec jobs are off on this server; start it with --exec-allow")

	// Made where sh is allowed, run where it isn't.
	lax := execEngine(t, s, "/*/*", "/*/*/*")
	job, err := lax.Enqueue(ctx, builtin.KindExec, builtin.ExecArgs{Command: []string{sh, "-c", "touch /tmp/should-not-exist"}})
	require.NoError(t, err)
	start(t, strict)
	failed := waitState(t, s, job.ID, models.JobFailed)
	require.Contains(t, failed.LastError, "is not allowed on this server")
	require.Len(t, logLines(t, s, job.ID), 0, "it never started")
}

// Cancelling a job, or its timeout, ends the program and everything it started: SIGTERM to the
// process group, SIGKILL after the grace period for what ignores it. No process of the group is
// left behind.
func TestExecCancelLeavesNoProcess(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	sh := shell(t)
	e := execEngine(t, s, sh)
	start(t, e)
	for _, tc := range []struct {
		name, script, timeout string
		cancel                bool
		want                  models.JobState
	}{
		{"cancel", `echo pid=$$; sleep 600 & sleep 600`, "", true, models.JobCancelled},
		{"cancel, ignoring SIGTERM", `trap '' TERM; echo pid=$$; sleep 600 & sleep 600`, "", true, models.JobCancelled},
		{"timeout", `echo pid=$$; sleep 600 & sleep 600`, "1s", false, models.JobFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job, err := e.Enqueue(ctx, builtin.KindExec, builtin.ExecArgs{Command: []string{sh, "-c", tc.script}, Timeout: tc.timeout})
			require.NoError(t, err)
			var pgid int
			require.Eventually(t, func() bool {
				for _, l := range logLines(t, s, job.ID) {
					if p, ok := strings.CutPrefix(l, "pid="); ok {
						pgid, _ = strconv.Atoi(p)
						return true
					}
				}
				return false
			}, 10*time.Second, 10*time.Millisecond)
			require.NoError(t, syscall.Kill(-pgid, 0), "the group is alive")
			if tc.cancel {
				require.NoError(t, e.Cancel(ctx, job.ID))
			}
			j := waitState(t, s, job.ID, tc.want)
			if tc.want == models.JobFailed {
				require.Contains(t, j.LastError, "no end within 1s")
			}
			require.Eventually(t, func() bool {
				return errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH)
			}, 5*time.Second, 10*time.Millisecond, "process group %d outlived its job", pgid)
		})
	}
}

// Found in review: a secret crossing the cut of a very long line, or printed a line at a time,
// stays masked; a program that exits 0 leaving a child on its output succeeds, and the child
// is ended.
func TestExecOutputEdges(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	sh := shell(t)
	const pem = "-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END KEY-----"
	e := newEngine(t, s, fast())
	require.NoError(t, builtin.Register(e, s.Jobs, builtin.Config{ExecAllow: []string{sh}, ExecAllowEnv: []string{"K", "P"},
		ExecGrace: 300 * time.Millisecond, Secrets: mapSecrets{"api": apiKey, "pem": pem}}))
	start(t, e)

	// 4090 x's then the key: the cut at 4096 falls inside it.
	job, err := e.Enqueue(ctx, builtin.KindExec, builtin.ExecArgs{Command: []string{sh, "-c", `printf '%4090s' '' | tr ' ' x; printf '%s\n' "$K"; printf '%s\n' "$P"; echo done`},
		Env: map[string]string{"K": "${secret:api}", "P": "${secret:pem}"}})
	require.NoError(t, err)
	done := waitState(t, s, job.ID, models.JobSucceeded)
	out := strings.Join(logLines(t, s, job.ID), "\n") + done.Result
	require.NotContains(t, out, apiKey[:6])
	require.NotContains(t, out, "MIIBOgIBAAJBAKj34Gkx")
	require.Contains(t, out, "\ndone")

	// Exits 0; a background child keeps stdout open.
	job, err = e.Enqueue(ctx, builtin.KindExec, builtin.ExecArgs{Command: []string{sh, "-c", `echo pid=$$; sleep 600 & echo started`}})
	require.NoError(t, err)
	done = waitState(t, s, job.ID, models.JobSucceeded)
	lines := logLines(t, s, job.ID)
	require.Contains(t, lines[len(lines)-1], "exited with code 0; processes it left holding its output were ended")
	var pgid int
	for _, l := range lines {
		if p, ok := strings.CutPrefix(l, "pid="); ok {
			pgid, _ = strconv.Atoi(p)
		}
	}
	require.NotZero(t, pgid)
	require.Eventually(t, func() bool { return errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) }, 5*time.Second, 10*time.Millisecond)
}
