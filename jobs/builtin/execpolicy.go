package builtin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/kilnhq/kiln/jobs"
)

// ExecPolicy says what exec jobs may run, and with which environment.
type ExecPolicy struct {
	// Allow lists the programs: absolute paths or filepath.Match globs. The path a job gives
	// must match one as written or with its directories' links followed (namePattern), and the
	// file that path leads to must match one with all its links followed (realPattern); see
	// checkProgram. Empty: exec jobs are off.
	Allow []string
	// Env lists the variables a job's env may set besides the locale and time zone ones
	// (execSafeEnv). None of execBaseEnv may be in it (Config.Validate).
	Env []string
}

// execPlan is what check found about how a job runs.
type execPlan struct {
	timeout time.Duration
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// execBaseEnv are the variables every program gets from Kiln's own environment and no job may
// set: where a program finds other programs, its configuration and its scratch files. Letting a
// job point HOME at a directory it filled made git run its .gitconfig's core.fsmonitor.
var execBaseEnv = []string{"PATH", "HOME", "TMPDIR", "USER"}

// execSafeEnv are the variables any job may set, each with its check of the value: the locale
// and the time zone, which can't name code. They can name a file, so values that do are
// refused: glibc reads a locale whose name starts with / from that path (a crafted locale was
// the way past OpenSSH's ForceCommand in CVE-2014-0475), and a time zone given as a path or
// with .. from that file. LOCPATH, NLSPATH and TZDIR, which move where those files are read
// from, are not here. Kiln passes its own LANG, LC_ALL and TZ unless the job sets them.
var execSafeEnv = map[string]func(string) string{
	"LANG": localeValue, "LANGUAGE": localeValue, "LC_ALL": localeValue, "LC_ADDRESS": localeValue,
	"LC_COLLATE": localeValue, "LC_CTYPE": localeValue, "LC_IDENTIFICATION": localeValue,
	"LC_MEASUREMENT": localeValue, "LC_MESSAGES": localeValue, "LC_MONETARY": localeValue,
	"LC_NAME": localeValue, "LC_NUMERIC": localeValue, "LC_PAPER": localeValue,
	"LC_TELEPHONE": localeValue, "LC_TIME": localeValue, "TZ": tzValue,
}

// execSafeEnvShown is execSafeEnv as people read it: sorted, the LC_ categories as LC_*.
var execSafeEnvShown = func() []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(execSafeEnv)) {
		if strings.HasPrefix(name, "LC_") {
			name = "LC_*"
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}()

// ExecBaseEnv returns the variables every exec program gets from Kiln's own environment and
// no job may set, for the help and pages that name them.
func ExecBaseEnv() []string { return slices.Clone(execBaseEnv) }

// ExecSafeEnv returns, for people, the variables any exec job may set whatever the server
// allows: the locale and the time zone, the LC_ categories as LC_*.
func ExecSafeEnv() []string { return slices.Clone(execSafeEnvShown) }

// AllowedEnv returns, for people, the environment variables an exec job may set under p: the
// locale and time zone ones (the LC_ categories as LC_*), then p.Env (--exec-allow-env).
func (p ExecPolicy) AllowedEnv() []string { return append(ExecSafeEnv(), p.Env...) }

func localeValue(v string) string {
	if strings.ContainsRune(v, '/') {
		return "a locale is a name such as en_US.UTF-8, not a path: the C library reads a locale given as a path from that path"
	}
	return ""
}

func tzValue(v string) string {
	if name := strings.TrimPrefix(v, ":"); strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return "a time zone is a name such as Europe/Berlin, not a path: the C library reads a zone given as a path (or with ..) from that file"
	}
	return ""
}

// check vets the arguments: what is wrong and with which field. It follows the program's links,
// so it reads the file system: a job is checked when it is made and again when it runs.
func (p ExecPolicy) check(a *ExecArgs) (execPlan, error) {
	if len(a.Command) == 0 || strings.TrimSpace(a.Command[0]) == "" {
		return execPlan{}, fieldErr("command", "a program to run is required")
	}
	prog := a.Command[0]
	if len(p.Allow) == 0 {
		return execPlan{}, fieldErr("command", "exec jobs are off on this server; start it with --exec-allow (or KILN_EXEC_ALLOW) listing the programs that may run")
	}
	for _, arg := range a.Command {
		if secretRef.MatchString(arg) {
			return execPlan{}, fieldErr("command", "a secret can't be an argument: every user of the machine can read a program's arguments (ps); pass it in env or stdin")
		}
	}
	if !filepath.IsAbs(prog) {
		hint := ""
		if found, err := exec.LookPath(prog); err == nil {
			hint = fmt.Sprintf(" (here: %s)", found)
		}
		return execPlan{}, fieldErr("command", "the program must be an absolute path%s", hint)
	}
	if filepath.Clean(prog) != prog {
		return execPlan{}, fieldErr("command", "write the program's path without . or .. parts: %s", filepath.Clean(prog))
	}
	for field, vals := range map[string][]string{"dir": {a.Dir}, "stdin": {a.Stdin}, "command": a.Command} {
		for _, v := range vals {
			if strings.ContainsRune(v, 0) {
				return execPlan{}, fieldErr(field, "a NUL byte can't be passed to a program")
			}
		}
	}
	if err := p.checkProgram(prog); err != nil {
		return execPlan{}, err
	}
	if a.Dir != "" && !filepath.IsAbs(a.Dir) {
		return execPlan{}, fieldErr("dir", "the working directory must be an absolute path")
	}
	for _, name := range slices.Sorted(maps.Keys(a.Env)) { // with several wrong, the same one is named
		if err := p.checkEnv(name, a.Env[name]); err != nil {
			return execPlan{}, err
		}
	}
	timeout, err := argsTimeout(a.Timeout, DefaultExecTimeout, "90s or 2h")
	if err != nil {
		return execPlan{}, err
	}
	return execPlan{timeout: timeout}, nil
}

// checkProgram checks that the allow-list allows both the path a job gives, by its name, and
// the file it leads to, links followed: a link to a shell in an allowed directory is refused,
// and so is a link outside the list to an allowed program (/usr/sbin/shutdown, a link to
// /usr/bin/systemctl, is not allowed by /usr/bin/*); an allowed link to an allowed program runs
// it.
//
// The name counts because the program sees it: a multi-call program or wrapper does what the
// name it is called by says (Debian's /usr/bin/pg_dump is a link to pg_wrapper, which called as
// pg_wrapper runs its first argument). So the path must match an entry by its own name
// (namePattern), not only the file an entry leads to (realPattern): /usr/bin/pg_dump doesn't
// allow /usr/share/postgresql-common/pg_wrapper.
func (p ExecPolicy) checkProgram(prog string) error {
	if !p.allowsName(prog) {
		if entry := p.leadingTo(prog); entry != "" {
			return fieldErr("command", "%s is not allowed on this server by that name: %s leads to it; give that path, as --exec-allow does (a program may act on the name it is called by)", prog, entry)
		}
		return p.notAllowed(prog, "")
	}
	real, err := filepath.EvalSymlinks(prog)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fieldErr("command", "%s: no such program on this server", prog)
		}
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fieldErr("command", "%s: %v", prog, err)
	}
	if p.leadingTo(real) == "" {
		return p.notAllowed(prog, real)
	}
	if fi, err := os.Stat(real); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fieldErr("command", "%s is not an executable file", prog)
	}
	return nil
}

func (p ExecPolicy) notAllowed(prog, real string) error {
	if real != "" && real != prog {
		return fieldErr("command", "%s is a link to %s, which is not allowed on this server; --exec-allow lists %s (links followed)", prog, real, strings.Join(p.Allow, ", "))
	}
	return fieldErr("command", "%s is not allowed on this server; --exec-allow lists %s", prog, strings.Join(p.Allow, ", "))
}

// allowsName reports whether path (absolute, clean), by its name, matches an entry of the
// allow-list, as written or with the links of its directories followed.
func (p ExecPolicy) allowsName(path string) bool {
	for _, pat := range p.Allow {
		if ok, _ := filepath.Match(pat, path); ok {
			return true
		}
		if ok, _ := filepath.Match(namePattern(pat), path); ok {
			return true
		}
	}
	return false
}

// leadingTo returns the entry of the allow-list that path (absolute, clean) matches as written
// or with the entry's links followed, "" when none does.
func (p ExecPolicy) leadingTo(path string) string {
	for _, pat := range p.Allow {
		if ok, _ := filepath.Match(pat, path); ok {
			return pat
		}
		if ok, _ := filepath.Match(realPattern(pat), path); ok {
			return pat
		}
	}
	return ""
}

// namePattern is an allow-list entry with the links of its directories followed, up to its
// first wildcard, and its last element as written: /bin/* is /usr/bin/* where /bin links to
// usr/bin, and /bin/ls is /usr/bin/ls. What the name leads to is realPattern's. An entry whose
// directories can't be followed stays as written.
func namePattern(pat string) string {
	fixed := pat
	if i := strings.IndexAny(pat, `*?[\`); i >= 0 {
		fixed = pat[:i]
	}
	cut := strings.LastIndexByte(fixed, '/')
	if cut <= 0 {
		return pat // a wildcard in the first element: nothing fixed to follow
	}
	real, err := filepath.EvalSymlinks(pat[:cut])
	if err != nil {
		return pat
	}
	return filepath.Join(real, pat[cut+1:])
}

// realPattern is an allow-list entry with its links followed, as the file a job's path leads to
// is: a literal path becomes the file it leads to (/usr/bin/python3 is /usr/bin/python3.11),
// and a glob is its namePattern: what a wildcard matches must be the file itself, not a link
// out of the directory. An entry that can't be followed (a program not installed yet) stays as
// written. Both are worked out at every check, so a program installed or an alternative
// switched later counts without a restart.
func realPattern(pat string) string {
	if strings.ContainsAny(pat, `*?[\`) {
		return namePattern(pat)
	}
	if real, err := filepath.EvalSymlinks(pat); err == nil {
		return real
	}
	return pat
}

// checkEnv vets one variable of a job's env against the allow-list.
func (p ExecPolicy) checkEnv(name, value string) error {
	if !envNameRE.MatchString(name) {
		return fieldErr("env", "%q is not a valid variable name", name)
	}
	if slices.Contains(execBaseEnv, name) {
		return fieldErr("env", "%s can't be set: Kiln sets %s for every program, so that a job can't point it at other programs or configuration", name, strings.Join(execBaseEnv, ", "))
	}
	if _, safe := execSafeEnv[name]; safe || slices.Contains(p.Env, name) {
		return checkEnvValue(name, value)
	}
	may := strings.Join(execSafeEnvShown, ", ")
	if len(p.Env) > 0 {
		may += " and " + strings.Join(p.Env, ", ") + " (--exec-allow-env)"
	}
	hint := "an operator who knows it can't make a program run other code can allow it with --exec-allow-env (KILN_EXEC_ALLOW_ENV)"
	if why := riskyEnv(name); why != "" {
		hint = "don't allow it: " + why
	}
	return fieldErr("env", "%s can't be set on this server: a job may set %s; %s", name, may, hint)
}

// checkEnvValue checks the value of an allowed variable: as written when the job is made, and
// again once its secrets are filled in, for a secret could hold what is refused written out.
func checkEnvValue(name, value string) error {
	if strings.ContainsRune(value, 0) {
		return fieldErr("env", "the value of %s holds a NUL byte", name)
	}
	if valueCheck, ok := execSafeEnv[name]; ok {
		if why := valueCheck(value); why != "" {
			return fieldErr("env", "%s can't be set to that: %s", name, why)
		}
	}
	return nil
}

// checkExecArgs is exec's check when a job is made.
func checkExecArgs(ctx context.Context, p ExecPolicy, src Secrets, a *ExecArgs) error {
	if _, err := p.check(a); err != nil {
		return err
	}
	for i, arg := range a.Command {
		if err := checkSecretRefs(ctx, src, fmt.Sprintf("argument %d", i), arg); err != nil {
			return &jobs.FieldError{Field: "command", Message: err.Error()}
		}
	}
	for name, v := range a.Env {
		if err := checkSecretRefs(ctx, src, "env "+name, v); err != nil {
			return &jobs.FieldError{Field: "env", Message: err.Error()}
		}
	}
	if err := checkSecretRefs(ctx, src, "stdin", a.Stdin); err != nil {
		return &jobs.FieldError{Field: "stdin", Message: err.Error()}
	}
	return nil
}

// execEnv is a program's environment: Kiln's own PATH, HOME, TMPDIR and USER, its LANG, LC_ALL
// and TZ unless the job sets them, then the job's env (checked, secrets filled in). Never
// Kiln's own settings (KILN_SECRET, KILN_DB...).
func execEnv(job map[string]string) []string {
	var env []string
	for _, name := range append(slices.Clone(execBaseEnv), "LANG", "LC_ALL", "TZ") {
		if _, set := job[name]; set {
			continue
		}
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(job)) {
		env = append(env, name+"="+job[name])
	}
	return env
}
