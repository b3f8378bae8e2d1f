//go:build unix

package builtin_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models/modeltest"
)

// startWarnings registers the built-in kinds with cfg and returns the warnings logged, by the
// entry or name each is about; no entry may be warned about twice.
func startWarnings(t *testing.T, cfg builtin.Config) map[string]string {
	t.Helper()
	var logs bytes.Buffer
	ecfg := fast()
	ecfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	store := modeltest.Open(t, modeltest.SQLiteDSN(t))
	require.NoError(t, builtin.Register(newEngine(t, store, ecfg), store.Jobs, cfg))
	warned := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if !strings.Contains(line, "level=WARN") {
			continue
		}
		entry := regexp.MustCompile(`(?:entry|name)=(\S+)`).FindStringSubmatch(line)
		require.NotNil(t, entry, line)
		require.NotContains(t, warned, entry[1], "warned twice")
		warned[entry[1]] = line
	}
	return warned
}

// At start, every entry of the allow-lists that lets a job run anything is logged as a
// warning, once, saying why; a plain script is not.
func TestExecRiskyAllowListWarns(t *testing.T) {
	dir, script := execDir(t)
	require.NoError(t, os.Symlink(shell(t), filepath.Join(dir, "run")))
	warned := startWarnings(t, builtin.Config{
		ExecAllow:    []string{script, "/bin/sh", "/usr/bin/env", "/usr/bin/python3.11", "/usr/bin/perl", "/usr/bin/sudo", "/usr/bin/tar", filepath.Join(dir, "run"), "/opt/scripts/*", "/usr/bin/backup-[ab]"},
		ExecAllowEnv: []string{"BACKUP_TARGET", "PAGER", "PYTHONPATH"},
	})
	for entry, why := range map[string]string{
		"/bin/sh": "a shell runs any command", "/usr/bin/env": "runs the program its arguments name",
		"/usr/bin/python3.11": "an interpreter runs any code", "/usr/bin/perl": "an interpreter",
		"/usr/bin/sudo": "as another user", "/usr/bin/tar": "tar --to-command", filepath.Join(dir, "run"): "a shell runs any command",
		"/opt/scripts/*": "a glob allows every program that matches it", "/usr/bin/backup-[ab]": "a glob",
		"PAGER": "programs run the command it names", "PYTHONPATH": "what code an interpreter loads",
	} {
		require.Contains(t, warned[entry], why, entry)
	}
	require.Len(t, warned, 11, "the script and BACKUP_TARGET raise nothing: %v", warned)
}

// Found in review: common programs that run code through their arguments raised no warning
// (sqlite3's .shell, split --filter, sort --compress-program, openssl's -engine, psql's and
// mysql's \!, curl -o and wget -O writing $HOME/.gitconfig, tcpdump -z, ssh-keygen -D), nor did
// an entry that is a link to a multi-call program or wrapper (Debian's pg_dump, a link to
// pg_wrapper). A link to a version or variant of its own name (backup -> backup.sh) raises
// nothing.
func TestExecProgramsThatRunTheirArgumentsWarn(t *testing.T) {
	dir, script := execDir(t)
	for link, target := range map[string]string{"pg_dump": "pg_wrapper", "ls": "multi-tool", "backup": "backup.sh"} {
		if target != "backup.sh" {
			require.NoError(t, os.WriteFile(filepath.Join(dir, target), []byte("#!/bin/sh\n"), 0o755))
		}
		require.NoError(t, os.Symlink(target, filepath.Join(dir, link)))
	}
	anything := map[string]string{
		"/usr/bin/sqlite3": "sqlite3's .shell", "/usr/bin/split": "split --filter",
		"/usr/bin/sort": "sort --compress-program", "/usr/bin/openssl": "openssl's -engine",
		"/usr/lib/postgresql/16/bin/psql": "psql's and mysql's", "/usr/bin/mysql": "run shell commands",
		"/usr/bin/curl": "curl -o", "/usr/bin/wget": "$HOME/.gitconfig", "/usr/bin/tee": "tee or cp from stdin",
		"/usr/sbin/tcpdump": "tcpdump -z", "/usr/bin/ssh-keygen": "ssh-keygen -D",
		"/usr/share/postgresql-common/pg_wrapper": "called by its own name, it runs what its arguments name",
		"/usr/bin/busybox":                        "a shell among them", "/usr/bin/linux32": "runs the program its arguments name",
		"/usr/bin/crontab": "schedules the commands", "/usr/bin/npm": "npm's scripts",
	}
	otherName := map[string]string{
		filepath.Join(dir, "pg_dump"): "it leads to " + filepath.Join(dir, "pg_wrapper") + ", a program of another name",
		filepath.Join(dir, "ls"):      "jobs call it ls",
	}
	var allow []string
	for entry := range anything {
		allow = append(allow, entry)
	}
	for entry := range otherName {
		allow = append(allow, entry)
	}
	warned := startWarnings(t, builtin.Config{ExecAllow: append(allow, script, filepath.Join(dir, "backup"))})
	for entry, why := range anything {
		require.Contains(t, warned[entry], "lets exec jobs run any command", entry)
		require.Contains(t, warned[entry], why, entry)
	}
	for entry, why := range otherName {
		require.Contains(t, warned[entry], "an --exec-allow entry leads to a program of another name", entry)
		require.Contains(t, warned[entry], why, entry)
	}
	require.Len(t, warned, len(anything)+len(otherName), "the script and its link raise nothing: %v", warned)
}
