package cli

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/stretchr/testify/require"
)

// kiln --help lists every command of the tree, and every command and subcommand answers
// --help the same way, on standard error, exit 0.
func TestHelpListsEveryCommand(t *testing.T) {
	var help bytes.Buffer
	require.Equal(t, 0, Run(context.Background(), []string{"--help"}, nil, io.Discard, &help))
	e := &cliEnv{out: io.Discard, errOut: io.Discard}
	var walk func(path []string, c *ffcli.Command)
	walk = func(path []string, c *ffcli.Command) {
		var out bytes.Buffer
		require.Equal(t, 0, Run(context.Background(), append(append([]string{}, path...), "--help"), nil, io.Discard, &out), path)
		require.True(t, strings.HasPrefix(out.String(), "Usage:\n  kiln "+strings.Join(path, " ")), "%v: %q", path, out.String())
		for _, s := range c.Subcommands {
			require.Regexp(t, regexp.MustCompile(`(?m)^  `+regexp.QuoteMeta(s.Name)+` +\S`), out.String(), "%v lists %s", path, s.Name)
			walk(append(append([]string{}, path...), s.Name), s)
		}
	}
	for _, path := range [][]string{{"help"}, {"user", "help"}, {"jobs", "help"}} {
		var out bytes.Buffer
		require.Equal(t, 0, Run(context.Background(), path, nil, io.Discard, &out), path)
		require.Contains(t, out.String(), "Commands:", path)
	}
	names := 0
	for _, c := range commands(e) {
		require.Regexp(t, regexp.MustCompile(`(?m)^  `+regexp.QuoteMeta(c.Name)+` +\S`), help.String(), "kiln --help lists %s", c.Name)
		walk([]string{c.Name}, c)
		names++
	}
	require.GreaterOrEqual(t, names, 12)
}

// Mistakes on the command line exit 2 with a message naming the command; a failure of the work
// exits 1.
func TestExitStatus(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"user"}, 2, "kiln user: give a command: list, add, passwd"},
		{[]string{"user", "frob"}, 2, `kiln user: unknown command "frob"`},
		{[]string{"token", "create", "--db", ":memory:"}, 2, "kiln token create: give --name and --role"},
		{[]string{"user", "add", "--nope"}, 2, "kiln user add: flag provided but not defined: -nope"},
		{[]string{"jobs", "show", "x"}, 2, `kiln jobs show: "x" is not a job id`},
		{[]string{"migrate", "status", "--db", "/nonexistent/kiln.db"}, 1, "kiln migrate status: there is no database at /nonexistent/kiln.db"},
		{[]string{"--log-format", "xml"}, 2, "kiln: config: --log-format must be text or json"},
		{[]string{"chaos", "--jobs", "5"}, 2, "kiln chaos: jobs must be at least 100"},
		{[]string{"bench", "--jobs", "0"}, 2, "kiln bench: --jobs must be at least 1"},
		{[]string{"serve-me"}, 2, `kiln: unexpected argument "serve-me"`},
		{[]string{"migrate", "up", "extra", "--db", ":memory:"}, 2, `kiln migrate up: unexpected argument "extra"`},
	} {
		var errOut bytes.Buffer
		require.Equal(t, tc.code, Run(context.Background(), tc.args, strings.NewReader(""), io.Discard, &errOut), "%v: %s", tc.args, errOut.String())
		require.Contains(t, errOut.String(), tc.msg, tc.args)
	}
}
