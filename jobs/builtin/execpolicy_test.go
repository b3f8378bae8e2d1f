//go:build unix

package builtin_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// escapingEnv are variables an outside probe set on a job to make an allowed script run code of
// its choosing (issue 24), with the value it used or one of the same kind.
var escapingEnv = map[string]string{
	"TAR_OPTIONS": "--checkpoint=1 --checkpoint-action=exec=id", "HOME": "/tmp/attacker",
	"OPENSSL_CONF": "/tmp/attacker/openssl.cnf", "XDG_CONFIG_HOME": "/tmp/attacker", "ZDOTDIR": "/tmp/attacker",
	"JDK_JAVA_OPTIONS": "-javaagent:/tmp/attacker/a.jar", "CLASSPATH": "/tmp/attacker", "LUA_INIT": "os.execute('id')",
	"PHPRC": "/tmp/attacker", "RSYNC_RSH": "sh -c id", "SSH_ASKPASS": "/tmp/attacker/pw", "WGETRC": "/tmp/attacker/rc",
	"CURL_HOME": "/tmp/attacker", "PSQLRC": "/tmp/attacker/psqlrc", "KUBECONFIG": "/tmp/attacker/kube",
	"LESSOPEN": "|id %s", "PAGER": "sh -c id", "EDITOR": "sh -c id", "GEM_PATH": "/tmp/attacker", "TMPDIR": "/tmp/attacker",
	"PATH": "/tmp/attacker",
}

// execDir is a directory of programs for a test, with links resolved (so that paths compare
// equal), holding backup.sh: a script that says it ran and touches the file its first argument
// names.
func execDir(t *testing.T) (dir, script string) {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	script = filepath.Join(dir, "backup.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho ran\n[ -z \"$1\" ] || touch \"$1\"\n"), 0o755))
	return dir, script
}

// insertExec stores an exec job as another server with other rules could have: without the
// checks of Enqueue.
func insertExec(t *testing.T, s *models.Store, args builtin.ExecArgs) int64 {
	t.Helper()
	raw, err := json.Marshal(args)
	require.NoError(t, err)
	j := &models.Job{Kind: builtin.KindExec, Queue: jobs.DefaultQueue, Args: string(raw), MaxAttempts: 1}
	_, err = s.Jobs.InsertJobs(ctx, []*models.Job{j}, time.Now())
	require.NoError(t, err)
	return j.ID
}

// requireRefusedAtRun waits for job id to fail, refused before its program started, with an
// error that says want.
func requireRefusedAtRun(t *testing.T, s *models.Store, id int64, want string) {
	t.Helper()
	failed := waitState(t, s, id, models.JobFailed)
	require.Contains(t, failed.LastError, want)
	require.Equal(t, 1, failed.Attempt, "refused for good, not retried")
	require.Empty(t, logLines(t, s, id), "it never started")
}

// A job's env is an allow-list: every variable the probe used to escape --exec-allow is
// refused when the job is made, and again when it runs (the row may come from a server whose
// rules were looser, or from before they changed).
func TestExecEnvEscapesAreRefused(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	_, script := execDir(t)
	e := execEngine(t, s, script)
	var ids []int64
	for name, value := range escapingEnv {
		args := builtin.ExecArgs{Command: []string{script}, Env: map[string]string{name: value}}
		_, err := e.Enqueue(ctx, builtin.KindExec, args)
		var me *models.Error
		require.ErrorAs(t, err, &me, "%s was accepted", name)
		require.Contains(t, me.Fields["args.env"], name+" can't be set", name)
		ids = append(ids, insertExec(t, s, args))
	}
	start(t, e)
	for _, id := range ids {
		requireRefusedAtRun(t, s, id, "can't be set")
	}
}

// The probe's escape, for real: an allowed script that calls tar, with TAR_OPTIONS telling tar
// to run a command at each checkpoint. The command never runs.
func TestExecTarOptionsDoNotRunACommand(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	dir, _ := execDir(t)
	script := filepath.Join(dir, "archive.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\ntar -cf /dev/null -C \"$1\" .\necho archived\n"), 0o755))
	marker := filepath.Join(dir, "escaped")
	payload := filepath.Join(dir, "payload") // not allowed: only tar can run it
	require.NoError(t, os.WriteFile(payload, []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755))
	args := builtin.ExecArgs{Command: []string{script, dir},
		Env: map[string]string{"TAR_OPTIONS": "--checkpoint=1 --checkpoint-action=exec=" + payload}}
	e := execEngine(t, s, script)
	_, err := e.Enqueue(ctx, builtin.KindExec, args)
	require.ErrorContains(t, err, "TAR_OPTIONS can't be set")

	id := insertExec(t, s, args)
	start(t, e)
	requireRefusedAtRun(t, s, id, "TAR_OPTIONS can't be set")
	require.NoFileExists(t, marker, "tar ran the job's command")
}

// A link in an allowed directory to a program that isn't allowed (a shell) is refused when the
// job is made and when it runs: what runs is the link's target, and the target is checked. A
// link to an allowed program runs it.
func TestExecLinksAreResolved(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	dir, script := execDir(t)
	require.NoError(t, os.Symlink(shell(t), filepath.Join(dir, "sh")))
	require.NoError(t, os.Symlink(script, filepath.Join(dir, "backup-latest")))
	e := execEngine(t, s, filepath.Join(dir, "*"))
	marker := filepath.Join(dir, "escaped")

	sneaky := builtin.ExecArgs{Command: []string{filepath.Join(dir, "sh"), "-c", "touch " + marker}}
	_, err := e.Enqueue(ctx, builtin.KindExec, sneaky)
	var me *models.Error
	require.ErrorAs(t, err, &me)
	require.Contains(t, me.Fields["args.command"], "is a link to")
	require.Contains(t, me.Fields["args.command"], "which is not allowed")

	// Made when the name was an allowed script, swapped for a link to a shell before it ran.
	swapped := filepath.Join(dir, "nightly")
	require.NoError(t, os.WriteFile(swapped, []byte("#!/bin/sh\necho nightly\n"), 0o755))
	later, err := e.Enqueue(ctx, builtin.KindExec, builtin.ExecArgs{Command: []string{swapped, "-c", "touch " + marker}})
	require.NoError(t, err)
	require.NoError(t, os.Remove(swapped))
	require.NoError(t, os.Symlink(shell(t), swapped))
	id := insertExec(t, s, sneaky)

	ok, err := e.Enqueue(ctx, builtin.KindExec, builtin.ExecArgs{Command: []string{filepath.Join(dir, "backup-latest")}})
	require.NoError(t, err)
	start(t, e)
	requireRefusedAtRun(t, s, id, "which is not allowed")
	requireRefusedAtRun(t, s, later.ID, "which is not allowed")
	require.NoFileExists(t, marker, "the shell ran")
	waitState(t, s, ok.ID, models.JobSucceeded)
	require.Contains(t, logLines(t, s, ok.ID), "ran")
}

// What a job may set: the locale and time zone, and the names the operator lists
// (--exec-allow-env); they reach the program with Kiln's PATH, HOME, TMPDIR and USER. A locale
// or zone given as a path is refused, written out or in a secret.
func TestExecEnvAllowed(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	dir, _ := execDir(t)
	script := filepath.Join(dir, "show-env.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\nenv | sort\n"), 0o755))
	e := newEngine(t, s, fast())
	cfg := builtin.Config{ExecAllow: []string{script}, ExecAllowEnv: []string{"BACKUP_TARGET"},
		Secrets: mapSecrets{"zone": "/tmp/attacker/zone", "target": "s3://bucket"}}
	require.NoError(t, builtin.Register(e, s.Jobs, cfg))
	require.Equal(t, []string{"LANG", "LANGUAGE", "LC_*", "TZ", "BACKUP_TARGET"}, cfg.ExecPolicy().AllowedEnv())
	t.Setenv("HOME", "/home/kiln-test")

	for env, says := range map[string]string{
		"LANG=/tmp/attacker/locale": "LANG can't be set to that: a locale is a name such as en_US.UTF-8, not a path",
		"LC_MESSAGES=../x/y":        "LC_MESSAGES can't be set to that",
		"TZ=/tmp/attacker/zone":     "TZ can't be set to that: a time zone is a name such as Europe/Berlin, not a path",
		"TZ=:/etc/localtime":        "TZ can't be set to that",
		"TZ=Europe/../../tmp/zone":  "TZ can't be set to that",
		"BACKUP_TARGET2=x":          "BACKUP_TARGET2 can't be set on this server: a job may set LANG, LANGUAGE, LC_*, TZ and BACKUP_TARGET (--exec-allow-env); an operator",
		"LD_PRELOAD=/tmp/x.so":      "don't allow it: it changes what code a program loads",
	} {
		name, value, _ := strings.Cut(env, "=")
		_, err := e.Enqueue(ctx, builtin.KindExec, builtin.ExecArgs{Command: []string{script}, Env: map[string]string{name: value}})
		require.ErrorContains(t, err, says, env)
	}

	job, err := e.Enqueue(ctx, builtin.KindExec, builtin.ExecArgs{Command: []string{script}, Env: map[string]string{
		"BACKUP_TARGET": "${secret:target}", "LANG": "C.UTF-8", "LC_TIME": "en_GB.UTF-8", "TZ": "Europe/Berlin"}})
	require.NoError(t, err)
	// A zone that names a file only once its secret is filled in.
	hidden, err := e.Enqueue(ctx, builtin.KindExec, builtin.ExecArgs{Command: []string{script}, Env: map[string]string{"TZ": "${secret:zone}"}})
	require.NoError(t, err)
	start(t, e)
	waitState(t, s, job.ID, models.JobSucceeded)
	lines := logLines(t, s, job.ID)
	for _, want := range []string{"BACKUP_TARGET=${secret:target}", "LANG=C.UTF-8", "LC_TIME=en_GB.UTF-8", "TZ=Europe/Berlin", "HOME=/home/kiln-test"} {
		require.Contains(t, lines, want)
	}
	requireRefusedAtRun(t, s, hidden.ID, "TZ can't be set to that: a time zone is a name")
	require.NotContains(t, waitState(t, s, hidden.ID, models.JobFailed).LastError, "/tmp/attacker")
}

// The variables Kiln sets for every program can't be handed to jobs, and a name that isn't one
// is refused, before anything starts.
func TestExecAllowEnvIsChecked(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	for _, tc := range []struct{ name, says string }{
		{"HOME", "--exec-allow-env: HOME can't be given to jobs: Kiln sets PATH, HOME, TMPDIR, USER"},
		{"PATH", "PATH can't be given to jobs"}, {"TMPDIR", "TMPDIR can't be given"}, {"USER", "USER can't be given"},
		{"A-B", `"A-B" is not a variable name`}, {"", `"" is not a variable name`},
	} {
		cfg := builtin.Config{ExecAllow: []string{"/usr/local/bin/backup"}, ExecAllowEnv: []string{"OK", tc.name}}
		require.ErrorContains(t, cfg.Validate(), tc.says)
		err := builtin.Register(newEngine(t, s, fast()), s.Jobs, cfg)
		require.ErrorIs(t, err, jobs.ErrInvalidConfig)
		require.ErrorContains(t, err, tc.says)
	}
}

// An operator's own links are followed too: a literal entry that is a link allows the file it
// leads to (python3 -> python3.11), called by the entry's name, and a glob's directory is
// followed (/bin/* where /bin links to usr/bin) while what its wildcard matches must be the
// file itself.
func TestExecAllowListLinksAreFollowed(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	dir, script := execDir(t)
	versioned := filepath.Join(dir, "tool3.11")
	require.NoError(t, os.WriteFile(versioned, []byte("#!/bin/sh\necho tool\n"), 0o755))
	require.NoError(t, os.Symlink("tool3.11", filepath.Join(dir, "tool3")))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "usr-bin"), 0o755))
	require.NoError(t, os.Rename(script, filepath.Join(dir, "usr-bin", "backup.sh")))
	require.NoError(t, os.Symlink("usr-bin", filepath.Join(dir, "bin")))
	e := execEngine(t, s, filepath.Join(dir, "tool3"), filepath.Join(dir, "bin", "*"))

	for _, prog := range []string{"tool3", "bin/backup.sh", "usr-bin/backup.sh"} {
		_, err := e.Enqueue(ctx, builtin.KindExec, builtin.ExecArgs{Command: []string{filepath.Join(dir, prog)}})
		require.NoError(t, err, prog)
	}
	_, err := e.Enqueue(ctx, builtin.KindExec, builtin.ExecArgs{Command: []string{versioned}})
	require.ErrorContains(t, err, "tool3.11 is not allowed on this server by that name: "+filepath.Join(dir, "tool3")+" leads to it")
	require.NoError(t, os.Symlink(shell(t), filepath.Join(dir, "usr-bin", "sh")))
	_, err = e.Enqueue(ctx, builtin.KindExec, builtin.ExecArgs{Command: []string{filepath.Join(dir, "bin", "sh")}})
	require.ErrorContains(t, err, "which is not allowed on this server")

	// The path a job gives must be allowed too, not only where it leads: a link elsewhere to an
	// allowed program is refused (as /usr/sbin/shutdown, a link to /usr/bin/systemctl, is by
	// /usr/bin/*).
	require.NoError(t, os.Symlink("tool3.11", filepath.Join(dir, "alias")))
	_, err = e.Enqueue(ctx, builtin.KindExec, builtin.ExecArgs{Command: []string{filepath.Join(dir, "alias")}})
	require.ErrorContains(t, err, "alias is not allowed on this server")
}

// A struct tag can't be built from the lists, so the API's description of env is held to them
// here: a variable added to either list fails this test until the description names it.
func TestExecEnvDocNamesTheLists(t *testing.T) {
	f, ok := reflect.TypeFor[builtin.ExecArgs]().FieldByName("Env")
	require.True(t, ok)
	doc := f.Tag.Get("doc")
	require.Contains(t, doc, ": "+strings.Join(builtin.ExecSafeEnv(), ", ")+" and the names the server allows")
	require.Contains(t, doc, "the server's "+strings.Join(builtin.ExecBaseEnv(), ", ")+", which a job can't set")
}
