package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mvdan.cc/sh/v3/syntax"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// readREADME is the repository's README.
func readREADME(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	return string(readme)
}

// Every curl in the README that sends a body says it is JSON: the API answers 415 to a body
// without Content-Type: application/json, as two examples once did. The blocks that are not
// run (TestReadmeCommands) are held to it too, but for those that aren't shell at all
// ("docker run kiln:<version>").
func TestReadmeCurlsSendJSON(t *testing.T) {
	sendsBody := regexp.MustCompile(`\s(-d|--data\S*)\s`)
	sent := 0
	for _, b := range readmeShellBlocks(readREADME(t)) {
		cmds, err := shellCommands(b.text, b.line)
		if err != nil && b.skipped != "" {
			continue
		}
		require.NoError(t, err)
		for _, c := range cmds {
			if !slices.Contains(c.runs, "curl") || !sendsBody.MatchString(c.text) {
				continue
			}
			sent++
			require.Contains(t, c.text, "Content-Type: application/json", "README.md line %d sends a body that is not marked JSON:\n%s", c.line, c.text)
		}
	}
	require.GreaterOrEqual(t, sent, 3, "the README's curls with a body were found")
}

// The README's shell examples run, so that none can rot: each fenced sh block, unless the line
// before it says it is not run (notRunMarker, with why: it starts a server, needs Docker...),
// runs in sh against a Kiln of its own, as a reader would run it from the repository. A
// command that exits non-zero, or a curl that gets a 4xx or 5xx, fails the test with the
// README's line and the output.

// notRunMarker is the line that marks the block after it as not run, with the reason.
var notRunMarker = regexp.MustCompile(`^<!-- not run by TestReadmeCommands: (.+) -->$`)

// runAsKilnEnv, when set, makes TestMain run the kiln command with the process's arguments
// instead of the tests: the README's "kiln ..." is this test binary, which holds all of it.
const runAsKilnEnv = "KILN_TEST_RUN_AS_KILN"

// readmeServers are the addresses the README's examples reach Kiln at: the CLI's default and
// the curls' host, and the example public name of a server elsewhere. Both become the test's.
var readmeServers = []string{"http://127.0.0.1:8080", "https://kiln.example.com"}

// readmeFiles are the files the examples read, in the directory they run in.
var readmeFiles = map[string]string{"args.json": `{"month":"2026-11"}`}

// readmeJobID is the job the examples show, requeue and so on: the test's Kiln holds jobs up to
// that id, the last one finished (cancelled), so that it can be requeued.
const readmeJobID = 42

// readmeJobKind is the kind of the jobs up to readmeJobID, which the test's Kiln registers.
const readmeJobKind = "readme.example"

// readmeOwnKind is the README's example of a kind of your own, registered by your workers.
const readmeOwnKind = "report.build"

// readmeBlock is a fenced shell block: the README line its text starts on, the text, and why
// it isn't run ("" when it is).
type readmeBlock struct {
	line    int
	text    string
	skipped string
}

// readmeShellBlocks are the README's sh, bash and console blocks, indented ones (in a list)
// too. A console block is a transcript, prompts and output: never run.
func readmeShellBlocks(readme string) []readmeBlock {
	var blocks []readmeBlock
	lines := strings.Split(readme, "\n")
	for i := 0; i < len(lines); i++ {
		indent := lines[i][:len(lines[i])-len(strings.TrimLeft(lines[i], " "))]
		lang, ok := strings.CutPrefix(lines[i][len(indent):], "```")
		if !ok || lang == "" {
			continue
		}
		end := i + 1
		for end < len(lines) && strings.TrimSpace(lines[end]) != "```" {
			end++
		}
		if lang == "sh" || lang == "bash" || lang == "console" {
			b := readmeBlock{line: i + 2}
			for _, l := range lines[i+1 : end] {
				b.text += strings.TrimPrefix(l, indent) + "\n"
			}
			b.text = strings.TrimSuffix(b.text, "\n")
			if lang == "console" {
				b.skipped = "a transcript"
			}
			if i > 0 {
				if m := notRunMarker.FindStringSubmatch(strings.TrimSpace(lines[i-1])); m != nil {
					b.skipped = m[1]
				}
			}
			blocks = append(blocks, b)
		}
		i = end
	}
	return blocks
}

// shellCommand is one command of a block (a pipeline, an assignment...): the README line it
// starts on, its text, and what it runs: the programs of its pipes and $(...) too, a program
// that isn't a plain word as "", and a redirection to a file as "> FILE".
type shellCommand struct {
	line int
	text string
	runs []string
}

// shellCommands parses a block as POSIX sh, which the test runs it with.
func shellCommands(block string, first int) ([]shellCommand, error) {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(block), "")
	if err != nil {
		return nil, fmt.Errorf("README.md block at line %d is not POSIX sh: %w", first, err)
	}
	out := make([]shellCommand, 0, len(f.Stmts))
	for _, st := range f.Stmts {
		c := shellCommand{line: first + int(st.Pos().Line()) - 1, text: block[st.Pos().Offset():st.End().Offset()]}
		syntax.Walk(st, func(n syntax.Node) bool {
			switch n := n.(type) {
			case *syntax.CallExpr:
				if len(n.Args) > 0 {
					c.runs = append(c.runs, n.Args[0].Lit())
				}
			case *syntax.Redirect:
				if n.Op != syntax.DplOut && n.Op != syntax.DplIn { // >&2 is no file
					c.runs = append(c.runs, "> FILE")
				}
			}
			return true
		})
		out = append(out, c)
	}
	return out, nil
}

// readmePrograms are what an example the test runs may run: Kiln, against the test's own, and
// what talks to it. A block that runs anything else (useradd, sudo, a script's text) is not
// run but refused, until it is marked: a README example must not change the machine that runs
// the tests, as root in CI.
var readmePrograms = []string{"kiln", "./bin/kiln", "curl", "printf", "echo", "export"}

// The parser and the block finder on what the README holds: continued lines, quotes open
// across lines, comments, pipes, command substitutions, indented blocks, and the marker.
func TestReadmeShellParsing(t *testing.T) {
	cmds, err := shellCommands("# set up\nTOKEN=$(kiln token create)   # once\n\ncurl -d '{\"a\":\n  1}' \\\n  http://x  # it's fine\nprintf %s \"$P\" | kiln x\nuseradd k >/etc/x 2>&1\n", 10)
	require.NoError(t, err)
	require.Equal(t, []shellCommand{
		{11, "TOKEN=$(kiln token create)", []string{"kiln"}},
		{13, "curl -d '{\"a\":\n  1}' \\\n  http://x", []string{"curl"}},
		{16, "printf %s \"$P\" | kiln x", []string{"printf", "kiln"}},
		{17, "useradd k >/etc/x 2>&1", []string{"useradd", "> FILE"}},
	}, cmds)
	_, err = shellCommands("function f { echo; }\n", 1)
	require.ErrorContains(t, err, "not POSIX sh")
	blocks := readmeShellBlocks("text\n<!-- not run by TestReadmeCommands: starts a server -->\n```sh\nkiln\n```\n```go\nx\n```\n" +
		"```sh\nkiln stats\n```\n- a list:\n  <!-- not run by TestReadmeCommands: sudo -->\n  ```sh\n  sudo x\n    y\n  ```\n```console\n$ kiln\n```\n")
	require.Equal(t, []readmeBlock{{4, "kiln", "starts a server"}, {10, "kiln stats", ""}, {15, "sudo x\n  y", "sudo"}, {19, "$ kiln", "a transcript"}}, blocks)
}

func TestReadmeCommands(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("curl is needed to run the README's examples, and CI must run them: install curl")
		}
		t.Skip("curl is not installed, so the README's examples can't run here; CI runs them")
	}
	self, err := os.Executable()
	require.NoError(t, err)
	ran := 0
	for _, b := range readmeShellBlocks(readREADME(t)) {
		if b.skipped != "" {
			continue
		}
		t.Run(fmt.Sprintf("line %d", b.line), func(t *testing.T) {
			cmds, err := shellCommands(b.text, b.line)
			require.NoError(t, err)
			for _, c := range cmds {
				for _, p := range c.runs {
					if !slices.Contains(readmePrograms, p) {
						t.Fatalf("README.md line %d runs %q, which the test does not run (it runs %v): "+
							"if the block is not an example to run against Kiln, put this line before it:\n"+
							"<!-- not run by TestReadmeCommands: why -->\n%s", c.line, p, readmePrograms, c.text)
					}
				}
			}
			runReadmeBlock(t, b, cmds, self)
		})
		ran++
	}
	require.GreaterOrEqual(t, ran, 4, "the README's runnable blocks were found")
}

// runReadmeBlock runs one block's commands in one sh, against a Kiln of its own.
func runReadmeBlock(t *testing.T, b readmeBlock, cmds []shellCommand, self string) {
	dir := t.TempDir()
	m := startReadmeKiln(t, dir)
	token, _, err := m.Store.Tokens.CreateAPIToken(context.Background(), "readme", models.RoleAdmin, 0, "test", "")
	require.NoError(t, err)
	bin := filepath.Join(dir, "bin")
	require.NoError(t, os.Mkdir(bin, 0o755))
	require.NoError(t, os.Symlink(self, filepath.Join(bin, "kiln"))) // both "kiln" and "./bin/kiln"
	for name, content := range readmeFiles {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}

	// set -e stops at the first command that fails; curl fails on a 4xx or 5xx, printing the
	// problem. Each command is announced, so a failure names its line.
	script := "set -e\ncurl() { command curl --fail-with-body \"$@\"; }\n"
	for _, c := range cmds {
		text := c.text
		for _, s := range readmeServers {
			text = strings.ReplaceAll(text, s, "http://"+m.Web.Addr())
		}
		script += fmt.Sprintf("printf '\\n@@ %d\\n'\n%s\n", c.line, text)
	}
	// Long enough for a block of thirty commands, each a -race binary starting on a loaded
	// machine; short enough that a command that hangs fails the test.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", script)
	cmd.Dir = dir
	// The tokens a block doesn't make itself: those of the section it is in ("Send an API token").
	cmd.Env = append(readmeEnv(), runAsKilnEnv+"=1", "KILN_URL=http://"+m.Web.Addr(), "KILN_TOKEN="+token, "TOKEN="+token,
		"PARTNER_TOKEN=example-partner-token", "PATH="+bin+":"+os.Getenv("PATH"))
	cmd.Stdin = strings.NewReader("")
	// A command that doesn't end (a server) is killed with everything it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err == nil {
		return
	}
	failed, text := b.line, b.text
	if m := commandMarker.FindAllSubmatch(out, -1); len(m) > 0 {
		failed, _ = strconv.Atoi(string(m[len(m)-1][1]))
	}
	for _, c := range cmds {
		if c.line == failed {
			text = c.text
		}
	}
	t.Fatalf("README.md line %d: %v\n%s\n--- the block's output, each command's after its line:\n%s",
		failed, err, text, commandMarker.ReplaceAll(out, []byte("[README.md line $1]")))
}

// commandMarker is the line the script prints before each command: its line in the README.
var commandMarker = regexp.MustCompile(`(?m)^@@ (\d+)$`)

// readmeEnv is the test's environment without Kiln's settings, which would point the
// examples elsewhere (a developer's KILN_DB, KILN_TOKEN...).
func readmeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KILN_") && !strings.HasPrefix(kv, "TOKEN=") {
			env = append(env, kv)
		}
	}
	return env
}

// startReadmeKiln serves Kiln on SQLite at dir/data/kiln.db, where a kiln command run in dir
// finds it. Requests from this machine need a token too, so that a token an example makes and
// then fails to pass on is caught (the shell's "export T=$(...)" hides a failure). It holds
// jobs up to readmeJobID (due in a day, so no worker takes them), the last one cancelled.
func startReadmeKiln(t *testing.T, dir string) *Main {
	t.Helper()
	cfg, err := parseConfig([]string{"--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "data", "kiln.db"), "--local-no-auth=false", "--log-level", "warn"}, io.Discard)
	require.NoError(t, err)
	var logs bytes.Buffer
	m := NewMain(cfg, &logs)
	m.Setup = func(e *jobs.Engine) error {
		// job 42's kind: a requeued job 42 is done at once
		if err := e.Register(readmeJobKind, func(context.Context, *models.Job) error { return nil }); err != nil {
			return err
		}
		// The README's own kind, whose workers it says are up (email.send's are not: it is
		// enqueued with --allow-unknown-kind).
		return e.Register(readmeOwnKind, func(context.Context, *models.Job) error { return nil })
	}
	require.NoError(t, m.Run(context.Background()))
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("closing Kiln: %v\n%s", err, logs.String())
		}
	})
	ctx := context.Background()
	var last *models.Job
	for last == nil || last.ID < readmeJobID { // Kiln enqueues jobs of its own at start
		last, err = m.Engine.Enqueue(ctx, readmeJobKind, nil, jobs.RunAt(time.Now().Add(24*time.Hour)))
		require.NoError(t, err)
	}
	require.EqualValues(t, readmeJobID, last.ID)
	require.NoError(t, m.Engine.Cancel(ctx, last.ID))
	return m
}

// Every heading of the README is outside its code blocks: a fence left open (a merge once
// dropped the one after Tracing's Go example) turns the sections after it into code, and hides
// their shell blocks from TestReadmeCommands.
func TestReadmeFencesClosed(t *testing.T) {
	inFence := false
	for i, l := range strings.Split(readREADME(t), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "```"):
			inFence = !inFence
		case inFence && strings.HasPrefix(l, "## "):
			t.Fatalf("README.md line %d: heading %q is inside a code block: a fence before it is not closed", i+1, l)
		}
	}
	require.False(t, inFence, "the README's last code block is not closed")
}
