package cli

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"golang.org/x/term"
)

// secretsCommand keeps the secrets http.request and exec jobs refer to as ${secret:NAME}. A
// value is read from standard input (or a file), never from a flag: flags end up in shell
// history and in the process list.
func (e *cliEnv) secretsCommand() *ffcli.Command {
	var fromFile string
	ls := e.apiLeaf("ls", "kiln secrets ls", "list the secrets (names only)", nil, func(ctx context.Context, pos []string) error {
		list, err := e.client().Secrets(ctx)
		if err != nil {
			return err
		}
		return e.print(list, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "NAME\tUSE AS\tCHANGED\tBY")
			for _, s := range list {
				fmt.Fprintf(w, "%s\t${secret:%s}\t%s\t%s\n", shown(s.Name), shown(s.Name), s.UpdatedAt.Local().Format(time.DateTime), shown(s.UpdatedBy))
			}
		})
	})
	set := e.apiLeaf("set", "kiln secrets set NAME [--from-file PATH] < value", "save a secret, reading its value from standard input",
		func(fs *flag.FlagSet) {
			fs.StringVar(&fromFile, "from-file", "", "read the value from this `file` instead of standard input")
		}, func(ctx context.Context, pos []string) error {
			name, err := oneName(pos, "secret")
			if err != nil {
				return err
			}
			value, err := readSecretValue(fromFile, e.stdin)
			if err != nil {
				return err
			}
			s, err := e.client().PutSecret(ctx, name, value)
			if err != nil {
				return err
			}
			return e.print(s, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "Saved %s: jobs refer to it as ${secret:%s}.\n", shown(s.Name), shown(s.Name))
			})
		})
	rm := e.apiLeaf("delete", "kiln secrets delete NAME", "delete a secret (jobs that refer to it fail until it is saved again)", nil, func(ctx context.Context, pos []string) error {
		name, err := oneName(pos, "secret")
		if err != nil {
			return err
		}
		if err := e.client().DeleteSecret(ctx, name); err != nil {
			return err
		}
		return e.print(map[string]string{"deleted": name}, func(w *tabwriter.Writer) { fmt.Fprintf(w, "%s deleted.\n", shown(name)) })
	})
	return e.apiGroup("secrets", "kiln secrets ls|set|delete ...", "keep the secrets HTTP and command jobs use",
		ls, set, rm)
}

// readSecretValue reads a secret's value: the file's contents, or standard input's, without
// the final newline a shell or an editor adds.
func readSecretValue(path string, stdin io.Reader) (string, error) {
	var r io.Reader = stdin
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("%w: --from-file: %v", errUsage, err)
		}
		defer func() { _ = f.Close() }()
		r = f
	} else if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(os.Stderr, "Value (not shown): ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return "", fmt.Errorf("reading the value: %w", err)
		}
		r = strings.NewReader(string(b))
	}
	b, err := io.ReadAll(bufio.NewReader(io.LimitReader(r, 1<<20)))
	if err != nil {
		return "", fmt.Errorf("reading the value: %w", err)
	}
	value := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if value == "" {
		return "", fmt.Errorf("%w: the value is empty; pipe it in, e.g. printf %%s \"$TOKEN\" | kiln secrets set NAME", errUsage)
	}
	return value, nil
}
