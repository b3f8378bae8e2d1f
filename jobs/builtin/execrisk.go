package builtin

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
)

// execRiskyPrograms are programs that run whatever their arguments or input say, by what each
// does: allowing one lets an exec job run anything. Matched by base name, with or without a
// version (python3.11, vim.basic). The list can't be complete (see the README): it words the
// warnings at start.
var execRiskyPrograms = []struct {
	names []string
	why   string
}{
	{[]string{"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "rbash", "yash", "csh", "tcsh", "fish", "pwsh", "nu", "elvish", "xonsh"},
		"a shell runs any command its arguments or input give it"},
	{execMultiCall,
		"called by its own name, it runs what its arguments name: busybox and toybox any of their programs, a shell among them; pg_wrapper any program"},
	{[]string{"env", "xargs", "nice", "nohup", "timeout", "setsid", "stdbuf", "chroot", "flock", "time", "watch", "ionice", "taskset", "chrt", "unshare", "nsenter", "script", "strace", "ltrace", "gdb", "systemd-run", "run-parts", "parallel",
		"setarch", "linux32", "linux64", "i386", "x86_64", "ssh-agent", "dbus-launch", "xvfb-run", "valgrind", "perf", "fakeroot", "firejail", "bwrap", "tmux", "screen", "socat"},
		"it runs the program its arguments name"},
	{[]string{"python", "pypy", "ipython", "perl", "ruby", "irb", "node", "nodejs", "deno", "bun", "php", "lua", "luajit", "java", "jshell", "tclsh", "wish", "expect", "awk", "gawk", "mawk", "nawk", "Rscript", "julia", "guile", "groovy", "dotnet"},
		"an interpreter runs any code its arguments or input give it"},
	{[]string{"sudo", "sudoedit", "su", "doas", "pkexec", "runuser", "setpriv", "machinectl", "sg"},
		"it runs commands as another user or group"},
	{[]string{"find", "tar", "git", "rsync", "ssh", "scp", "sftp", "make", "sed", "vi", "vim", "nvim", "ex", "ed", "emacs", "less", "more", "man", "zip", "docker", "podman", "kubectl"},
		"its options or input run other commands (find -exec, tar --to-command, git -c, rsync -e, ssh -o ProxyCommand, a Makefile, GNU sed's e, an editor's or pager's !)"},
	{[]string{"sqlite", "psql", "mysql", "mariadb", "dc", "ftp", "gnuplot"},
		`its commands, from its arguments or input, run shell commands (sqlite3's .shell, psql's and mysql's \!, dc's !)`},
	{[]string{"split", "sort", "tcpdump", "openssl", "ssh-keygen", "nc", "ncat", "netcat", "nmap", "gcc", "cc", "clang"},
		"an option runs a command or loads code it names (split --filter, sort --compress-program, tcpdump -z, openssl's -engine, ssh-keygen -D, nc -e, nmap --script, gcc -wrapper)"},
	{[]string{"npm", "npx", "yarn", "pnpm", "pip", "cargo", "go", "mvn", "gradle", "cmake", "meson", "ninja"},
		"it builds, installs or runs code its arguments or the project in its working directory name (npm's scripts, a setup.py, go run, a build.rs)"},
	{[]string{"crontab", "at", "batch"},
		"it schedules the commands its input gives it"},
	{[]string{"curl", "wget", "cp", "dd", "tee", "install", "cpio", "patch", "sponge"},
		"it writes the files its arguments name, with what a job gives it (curl -o, wget -O, tee or cp from stdin): a file other programs trust, such as $HOME/.gitconfig for the next git job, runs commands"},
}

// execMultiCall are the programs that do what the name they are called by says, and by their
// own name run what their arguments name: a link to one allows what the link's name means
// (jobs call a program by the name the list gives), so it is warned about as a program of
// another name, not as one that runs anything.
var execMultiCall = []string{"busybox", "toybox", "pg_wrapper"}

// riskyProgram says why allowing the program named name lets a job run anything ("" when
// nothing is known against it).
func riskyProgram(name string) string {
	for _, group := range execRiskyPrograms {
		for _, n := range group.names {
			if versionOf(name, n) {
				return group.why
			}
		}
	}
	return ""
}

// versionOf reports whether the program named name is base, or a version or variant of it
// (python3.11 of python, vim.basic of vim, backup.sh of backup).
func versionOf(name, base string) bool {
	rest, ok := strings.CutPrefix(name, base)
	return ok && (rest == "" || rest[0] == '.' || rest[0] >= '0' && rest[0] <= '9')
}

// execRiskyEnv are variables known to make programs run code of the value's choosing, by what
// they steer; a name ending in * is a prefix. The list can't be complete: it words the warning
// for an operator who allows one (--exec-allow-env) and the refusal of a job that sets one;
// what a job may set is the allow-list (ExecPolicy.checkEnv).
var execRiskyEnv = []struct {
	names []string
	why   string
}{
	{[]string{"LD_*", "DYLD_*", "MALLOC_*", "GLIBC_TUNABLES", "GCONV_PATH", "LOCPATH", "NLSPATH", "TZDIR", "HOSTALIASES"},
		"it changes what code a program loads"},
	{[]string{"BASH_ENV", "ENV", "BASH_FUNC_*", "SHELLOPTS", "BASHOPTS", "PS4", "PROMPT_COMMAND", "IFS", "CDPATH", "ZDOTDIR", "FPATH", "INPUTRC"},
		"it makes a shell run code it names"},
	{[]string{"PYTHON*", "PERL5*", "PERLLIB", "PERL_*", "RUBY*", "NODE_*", "LUA_*", "GEM_*", "BUNDLE_*", "NPM_CONFIG_*", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH", "PHPRC", "PHP_INI_SCAN_DIR"},
		"it changes what code an interpreter loads"},
	{[]string{"TAR_OPTIONS", "RSYNC_RSH", "CVS_RSH", "GIT_*", "SSH_ASKPASS", "SUDO_ASKPASS", "LESSOPEN", "LESSCLOSE", "PAGER", "MANPAGER", "EDITOR", "VISUAL", "BROWSER", "SHELL"},
		"programs run the command it names"},
	{[]string{"XDG_*", "OPENSSL_CONF", "OPENSSL_MODULES", "OPENSSL_ENGINES", "WGETRC", "CURL_HOME", "PSQLRC", "KUBECONFIG", "GNUPGHOME", "TERMINFO", "TERMINFO_DIRS", "DOCKER_CONFIG", "MAILRC"},
		"programs read configuration, which can run commands, from where it points"},
}

// riskyEnv says why a job that sets the variable name can make a program run other code (""
// when nothing is known against it).
func riskyEnv(name string) string {
	upper := strings.ToUpper(name)
	for _, group := range execRiskyEnv {
		for _, n := range group.names {
			if prefix, ok := strings.CutSuffix(n, "*"); upper == n || ok && strings.HasPrefix(upper, prefix) {
				return group.why
			}
		}
	}
	return ""
}

// warnExecRisks logs, once per entry, what in the exec policy lets a job run anything: a
// program that runs what it is told (checked by the name listed and by the file it leads to),
// a glob, a variable known to make programs load code. An entry that leads to a program of
// another name is logged too: what that program does may depend on the name (execMultiCall).
func warnExecRisks(log *slog.Logger, p ExecPolicy) {
	for _, pat := range p.Allow {
		if why, anything := entryRisk(pat); anything {
			log.Warn("jobs: --exec-allow lets exec jobs run any command", "entry", pat, "why", why)
		} else if why != "" {
			log.Warn("jobs: an --exec-allow entry leads to a program of another name", "entry", pat, "why", why)
		}
	}
	for _, name := range p.Env {
		if why := riskyEnv(name); why != "" {
			log.Warn("jobs: --exec-allow-env lets exec jobs run any command", "name", name, "why", why)
		}
	}
}

// entryRisk says what is known against an entry of the allow-list: anything when it lets a job
// run any command, otherwise why the program it leads to deserves a look ("" when nothing).
func entryRisk(pat string) (why string, anything bool) {
	if strings.ContainsAny(pat, `*?[`) {
		return "a glob allows every program that matches it, now and later: whatever is put there can run, and one shell or interpreter among them runs anything", true
	}
	name := filepath.Base(pat)
	if why := riskyProgram(name); why != "" {
		return why, true
	}
	real := realPattern(pat)
	realName := filepath.Base(real)
	why = riskyProgram(realName)
	switch {
	case why != "" && !slices.ContainsFunc(execMultiCall, func(n string) bool { return versionOf(realName, n) }):
		return fmt.Sprintf("it leads to %s: %s", real, why), true
	case !versionOf(realName, name):
		return fmt.Sprintf("it leads to %s, a program of another name: a multi-call program or a wrapper (busybox, pg_wrapper) does what the name it is called by says, and jobs call it %s; check what it does by that name", real, name), false
	}
	return "", false
}
