package jobs

import (
	"log/slog"
	"path/filepath"
	"strings"
)

// execRiskyPrograms are programs that run whatever their arguments or input say, by what each
// does: allowing one lets an exec job run anything. Matched by base name, with or without a
// version (python3.11, vim.basic).
var execRiskyPrograms = []struct {
	names []string
	why   string
}{
	{[]string{"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "rbash", "yash", "csh", "tcsh", "fish", "busybox", "toybox", "pwsh", "nu", "elvish", "xonsh"},
		"a shell runs any command its arguments or input give it"},
	{[]string{"env", "xargs", "nice", "nohup", "timeout", "setsid", "stdbuf", "chroot", "flock", "time", "watch", "ionice", "taskset", "chrt", "unshare", "nsenter", "script", "strace", "ltrace", "gdb", "systemd-run", "run-parts", "parallel"},
		"it runs the program its arguments name"},
	{[]string{"python", "pypy", "ipython", "perl", "ruby", "irb", "node", "nodejs", "deno", "bun", "php", "lua", "luajit", "java", "jshell", "tclsh", "wish", "expect", "awk", "gawk", "mawk", "nawk", "Rscript", "julia", "guile", "groovy", "dotnet"},
		"an interpreter runs any code its arguments or input give it"},
	{[]string{"sudo", "sudoedit", "su", "doas", "pkexec", "runuser", "setpriv", "machinectl"},
		"it runs commands as another user"},
	{[]string{"find", "tar", "git", "rsync", "ssh", "scp", "sftp", "make", "sed", "vi", "vim", "nvim", "ex", "ed", "emacs", "less", "more", "man", "zip", "docker", "podman", "kubectl"},
		"its options or input run other commands (find -exec, tar --to-command, git -c, rsync -e, ssh -o ProxyCommand, a Makefile, GNU sed's e, an editor's or pager's !)"},
}

// riskyProgram says why allowing the program named name lets a job run anything ("" when
// nothing is known against it).
func riskyProgram(name string) string {
	for _, group := range execRiskyPrograms {
		for _, n := range group.names {
			rest, ok := strings.CutPrefix(name, n)
			if ok && (rest == "" || rest[0] == '.' || rest[0] >= '0' && rest[0] <= '9') {
				return group.why
			}
		}
	}
	return ""
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
// a glob, a variable known to make programs load code.
func warnExecRisks(log *slog.Logger, p ExecPolicy) {
	for _, pat := range p.Allow {
		why := ""
		if strings.ContainsAny(pat, `*?[`) {
			why = "a glob allows every program that matches it, now and later: whatever is put there can run, and one shell or interpreter among them runs anything"
		} else if why = riskyProgram(filepath.Base(pat)); why == "" {
			why = riskyProgram(filepath.Base(realPattern(pat)))
		}
		if why != "" {
			log.Warn("jobs: --exec-allow lets exec jobs run any command", "entry", pat, "why", why)
		}
	}
	for _, name := range p.Env {
		if why := riskyEnv(name); why != "" {
			log.Warn("jobs: --exec-allow-env lets exec jobs run any command", "name", name, "why", why)
		}
	}
}
