// Package cli is the kiln command: serving (the default), and every subcommand, in one command
// tree of ffcli commands (ff is Kiln's flag library). Each command is built the same way, by
// leaf or group; each prints its help the same way (usage); Run maps every error to one exit
// status: 0 done or help, 1 the work failed, 2 a mistake on the command line.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"
)

// Version is the binary's version; main sets it from its build flags.
var Version = "dev"

// envPrefix prefixes the environment variable of every flag that reads one: --log-level is
// KILN_LOG_LEVEL.
const envPrefix = "KILN"

// errUsage marks a mistake on the command line (exit status 2).
var errUsage = errors.New("usage")

// errReported ends a command that has already said why it failed (exit status 1, nothing more
// printed): a bench soak or a chaos run that found violations, a server that failed to start.
var errReported = errors.New("failure reported")

// interruptible are the commands that end cleanly on Ctrl-C or SIGTERM, their context
// cancelled. The others end at once: user and token may wait at a password prompt; serving
// and a chaos node handle signals themselves (the second one kills).
var interruptible = []string{"jobs", "recurring", "queues", "secrets", "stats", "audit", "backup", "bench", "chaos"}

// cliEnv is what every command reads and writes, and the flags shared by the API commands.
type cliEnv struct {
	server, token string
	asJSON        bool
	stdin         io.Reader
	out, errOut   io.Writer
}

// Run runs kiln with args (without the program's name) and returns the exit status. The first
// argument names a command of the tree; anything else (flags, or nothing) serves.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &cliEnv{stdin: stdin, out: stdout, errOut: stderr}
	commands := commands(e)
	cmd, rest := e.serveCommand(commands), args
	if len(args) > 0 {
		if i := slices.IndexFunc(commands, func(c *ffcli.Command) bool { return c.Name == args[0] }); i >= 0 {
			cmd, rest = commands[i], args[1:]
		}
	}
	name := "kiln"
	if cmd.Name != name {
		name += " " + strings.Join(commandWords(cmd, rest), " ")
	}
	err := cmd.Parse(rest)
	if err == nil {
		if slices.Contains(interruptible, cmd.Name) {
			var stop context.CancelFunc
			ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
			defer stop()
		}
		err = cmd.Run(ctx)
	} else if !errors.Is(err, flag.ErrHelp) {
		err = fmt.Errorf("%w: %w", errUsage, err) // flag already printed the command's usage
	}
	var noExec ffcli.NoExecError
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errReported):
		return 1
	case errors.Is(err, errUsage) || errors.As(err, &noExec):
		fmt.Fprintf(stderr, "%s: %s\n", name, shown(usageMessage(err)))
		return 2
	default: // the server's message (a *client.Error), or why the work failed
		fmt.Fprintf(stderr, "%s: %s\n", name, shown(err.Error()))
		return 1
	}
}

// commands are kiln's commands, as its help lists them.
func commands(e *cliEnv) []*ffcli.Command {
	return []*ffcli.Command{
		e.jobsCommand(), e.workflowsCommand(), e.recurringCommand(), e.queuesCommand(), e.secretsCommand(), e.alertsCommand(), e.statsCommand(),
		e.userCommand(), e.tokenCommand(), e.auditCommand(), e.migrateCommand(), e.backupCommand(),
		e.benchCommand(), e.chaosCommand(), e.chaosNodeCommand(),
	}
}

// commandWords are the names of cmd and the subcommands args select under it.
func commandWords(cmd *ffcli.Command, args []string) []string {
	words := []string{cmd.Name}
	for _, a := range args {
		i := slices.IndexFunc(cmd.Subcommands, func(c *ffcli.Command) bool { return c.Name == a })
		if i < 0 {
			break
		}
		cmd = cmd.Subcommands[i]
		words = append(words, cmd.Name)
	}
	return words
}

// usageMessage is err without the marker and ff's wording around the flag package's message.
func usageMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), errUsage.Error()+": ")
	return strings.TrimPrefix(msg, "error parsing commandline arguments: ")
}

// leaf makes a command that runs: flags (may be nil) declares its flags, which may come before,
// after or between its positional arguments ("user add ada --role admin"); run gets the
// positional ones. A command whose flags read KILN_* variables passes readsEnv.
func (e *cliEnv) leaf(name, shortUsage, help string, readsEnv bool, flags func(fs *flag.FlagSet), run func(ctx context.Context, pos []string) error) *ffcli.Command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.errOut)
	if flags != nil {
		flags(fs)
	}
	short, long, _ := strings.Cut(help, "\n\n")
	c := &ffcli.Command{Name: name, ShortUsage: shortUsage, ShortHelp: short, LongHelp: long, FlagSet: fs, UsageFunc: usage(nil),
		Exec: func(ctx context.Context, args []string) error {
			pos, err := interspersed(fs, args)
			if err != nil {
				return fmt.Errorf("%w: %w", errUsage, err)
			}
			return run(ctx, pos)
		}}
	if readsEnv {
		c.Options = []ff.Option{ff.WithEnvVarPrefix(envPrefix)}
	}
	return c
}

// group makes a command that only holds others: "kiln user" alone, or with a word that is
// not one of them, is a usage error naming them; "kiln user help" is its --help.
func (e *cliEnv) group(name, shortUsage, help string, subs ...*ffcli.Command) *ffcli.Command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.errOut)
	short, long, _ := strings.Cut(help, "\n\n")
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.Name
	}
	return &ffcli.Command{Name: name, ShortUsage: shortUsage, ShortHelp: short, LongHelp: long, FlagSet: fs, UsageFunc: usage(nil), Subcommands: subs,
		Exec: func(_ context.Context, args []string) error {
			if len(args) == 1 && args[0] == "help" {
				return flag.ErrHelp // ffcli prints the usage, as for --help
			}
			if len(args) == 0 {
				return fmt.Errorf("%w: give a command: %s (kiln %s --help)", errUsage, strings.Join(names, ", "), name)
			}
			return fmt.Errorf("%w: unknown command %q: use %s (kiln %s --help)", errUsage, args[0], strings.Join(names, ", "), name)
		}}
}

// interspersed parses the flags that follow positional arguments too ("enqueue KIND --queue q"),
// and returns the positional ones.
func interspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) > 0 {
			pos, args = append(pos, args[0]), args[1:]
		}
	}
	return pos, nil
}

// usage is every command's help: its usage line, what it does, its commands (subs, or its own
// subcommands when subs is nil) and its flags, each with its environment variable when the
// command reads them, and its default.
func usage(subs []*ffcli.Command) func(c *ffcli.Command) string {
	return func(c *ffcli.Command) string {
		var b strings.Builder
		fmt.Fprintf(&b, "Usage:\n  %s\n", strings.ReplaceAll(c.ShortUsage, "\n", "\n  "))
		if c.ShortHelp != "" {
			fmt.Fprintf(&b, "\n%s\n", c.ShortHelp)
		}
		if c.LongHelp != "" {
			fmt.Fprintf(&b, "\n%s\n", c.LongHelp)
		}
		listed := subs
		if listed == nil {
			listed = c.Subcommands
		}
		if len(listed) > 0 {
			fmt.Fprintf(&b, "\nCommands:\n")
			tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
			for _, s := range listed {
				fmt.Fprintf(tw, "  %s\t%s\n", s.Name, s.ShortHelp)
			}
			_ = tw.Flush()
		}
		readsEnv := len(c.Options) > 0
		first := true
		c.FlagSet.VisitAll(func(f *flag.Flag) {
			if first {
				first = false
				if readsEnv {
					fmt.Fprintf(&b, "\nFlags (each may also be set by the environment variable shown):\n")
				} else {
					fmt.Fprintf(&b, "\nFlags:\n")
				}
			}
			arg, text := flag.UnquoteUsage(f)
			fmt.Fprintf(&b, "  --%s %s\n      %s\n", f.Name, arg, text)
			var notes []string
			if readsEnv {
				notes = append(notes, "env "+envPrefix+"_"+strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_")))
			}
			if f.DefValue != "" && f.DefValue != "false" {
				notes = append(notes, "default "+f.DefValue)
			}
			if len(notes) > 0 {
				fmt.Fprintf(&b, "      %s\n", strings.Join(notes, ", "))
			}
		})
		return strings.TrimRight(b.String(), "\n")
	}
}
