package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kilnhq/kiln/api"
	"github.com/kilnhq/kiln/client"
	"github.com/kilnhq/kiln/models"
)

// The commands that drive a running server through its API: kiln jobs, recurring, queues,
// secrets, stats. Each talks to --server (KILN_URL) with --token (KILN_TOKEN), prints tables
// for people or JSON with --json, and exits non-zero with the server's message on any error.

// apiFlags adds the flags every API command takes.
func (e *cliEnv) apiFlags(fs *flag.FlagSet) {
	fs.StringVar(&e.server, "server", client.DefaultURL, "the Kiln server's `URL` (also read from KILN_URL)")
	fs.StringVar(&e.token, "token", "", "an API `token`; requests from the server's own machine need none")
	fs.BoolVar(&e.asJSON, "json", false, "print JSON instead of a table")
}

func (e *cliEnv) client() *client.Client { return client.New(e.server, e.token) }

func (e *cliEnv) print(v any, table func(w *tabwriter.Writer)) error {
	if e.asJSON {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(e.out, shownLines(string(b))) // JSON escapes C0 itself, not C1 or bidi controls
		return err
	}
	tw := tabwriter.NewWriter(e.out, 0, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// kiln_url and kiln_token come from KILN_URL and KILN_TOKEN; ff names env vars after flags, so
// --server reads KILN_SERVER: both are accepted.
func (e *cliEnv) fromEnv() {
	if e.server == client.DefaultURL {
		if v := os.Getenv("KILN_URL"); v != "" {
			e.server = v
		}
	}
	if e.token == "" {
		e.token = os.Getenv("KILN_TOKEN")
	}
}

// apiLeaf is a leaf with the API flags (setup may add more).
func (e *cliEnv) apiLeaf(name, usage, help string, setup func(fs *flag.FlagSet), run func(ctx context.Context, pos []string) error) *ffcli.Command {
	return e.leaf(name, usage, help, true, func(fs *flag.FlagSet) {
		e.apiFlags(fs)
		if setup != nil {
			setup(fs)
		}
	}, func(ctx context.Context, pos []string) error {
		e.fromEnv()
		return run(ctx, pos)
	})
}

// apiGroup is a group whose API flags may also come before the subcommand ("jobs --json ls").
func (e *cliEnv) apiGroup(name, usage, help string, subs ...*ffcli.Command) *ffcli.Command {
	g := e.group(name, usage, help, subs...)
	e.apiFlags(g.FlagSet)
	g.Options = []ff.Option{ff.WithEnvVarPrefix(envPrefix)}
	return g
}

// oneID is the one id of a what (a job, an alert) the command was given.
func oneID(pos []string, what string) (int64, error) {
	if len(pos) != 1 {
		return 0, fmt.Errorf("%w: give one %s id", errUsage, what)
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id < 1 {
		return 0, fmt.Errorf("%w: %q is not %s %s id", errUsage, pos[0], article(what), what)
	}
	return id, nil
}

// article is "a" or "an", as what needs.
func article(what string) string {
	if strings.ContainsAny(what[:1], "aeiou") {
		return "an"
	}
	return "a"
}

func oneName(pos []string, what string) (string, error) {
	if len(pos) != 1 {
		return "", fmt.Errorf("%w: give the %s's name", errUsage, what)
	}
	return pos[0], nil
}

// allowUnknownKindHelp is the help of --allow-unknown-kind, wherever a command takes a kind.
var allowUnknownKindHelp = fmt.Sprintf("take a kind no server has registered in the last %d days (refused otherwise, as a typo would be), for workers that are not up yet",
	int(models.KnownKindsWindow/(24*time.Hour)))

func (e *cliEnv) jobsCommand() *ffcli.Command {
	var (
		args, queue, in, at, unique, tags string
		priority, maxAttempts             int
		state, kind, lsQueue, after, tag  string
		limit                             int
		logs, allowUnknownKind            bool
	)
	enqueue := e.apiLeaf("enqueue", "kiln jobs enqueue KIND [--args JSON|@file] [--queue Q] [--priority N] [--max-attempts N] [--in 5m|--at TIME] [--unique KEY] [--tags T,...] [--allow-unknown-kind]",
		"enqueue a job", func(fs *flag.FlagSet) {
			fs.StringVar(&args, "args", "", "the job's arguments: JSON, or @file to read them from a file")
			fs.StringVar(&queue, "queue", "", "the queue (default: the kind's)")
			fs.IntVar(&priority, "priority", 0, "higher runs first")
			fs.IntVar(&maxAttempts, "max-attempts", 0, "attempts before the job fails (default: the kind's)")
			fs.StringVar(&in, "in", "", "run after this Go `duration` (5m, 2h)")
			fs.StringVar(&at, "at", "", "run at this `time` (RFC 3339, e.g. 2026-12-01T09:00:00+01:00)")
			fs.StringVar(&unique, "unique", "", "a unique `key`: enqueueing it again returns the first job")
			fs.StringVar(&tags, "tags", "", "comma-separated `tags` to find the job by")
			fs.BoolVar(&allowUnknownKind, "allow-unknown-kind", false, allowUnknownKindHelp)
		}, func(ctx context.Context, pos []string) error {
			if len(pos) != 1 {
				return fmt.Errorf("%w: give the job's kind", errUsage)
			}
			spec := api.JobSpec{Kind: pos[0], Queue: queue, Delay: in, UniqueKey: unique, AllowUnknownKind: allowUnknownKind}
			if tags != "" {
				spec.Tags = strings.Split(tags, ",")
			}
			raw, err := readArgs(args)
			if err != nil {
				return err
			}
			spec.Args = raw
			if priority != 0 {
				spec.Priority = &priority
			}
			if maxAttempts != 0 {
				spec.MaxAttempts = &maxAttempts
			}
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return fmt.Errorf("%w: --at %q: use RFC 3339, e.g. 2026-12-01T09:00:00Z", errUsage, at)
				}
				spec.RunAt = &t
			}
			j, err := e.client().Enqueue(ctx, spec)
			if err != nil {
				return err
			}
			return e.print(j, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "Enqueued job %d (%s) on %s: %s, runs at %s.\n", j.ID, shown(j.Kind), shown(j.Queue), shown(j.State), j.RunAt.Local().Format(time.DateTime))
			})
		})
	ls := e.apiLeaf("ls", "kiln jobs ls [--state S] [--kind K] [--queue Q] [--limit N] [--after CURSOR]", "list jobs, newest first",
		func(fs *flag.FlagSet) {
			fs.StringVar(&state, "state", "", "only jobs in this state (enqueued, scheduled, processing, succeeded, failed, ...)")
			fs.StringVar(&kind, "kind", "", "only jobs of this kind")
			fs.StringVar(&lsQueue, "queue", "", "only jobs of this queue")
			fs.StringVar(&tag, "tag", "", "only jobs with this tag")
			fs.IntVar(&limit, "limit", 20, "at most this many")
			fs.StringVar(&after, "after", "", "the cursor a previous page printed, for the next page")
		}, func(ctx context.Context, pos []string) error {
			if len(pos) > 0 {
				return fmt.Errorf("%w: unexpected %q", errUsage, pos[0])
			}
			page, err := e.client().ListJobs(ctx, client.JobFilter{State: state, Kind: kind, Queue: lsQueue, Tag: tag, Limit: limit, After: after})
			if err != nil {
				return err
			}
			return e.print(page, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ID\tKIND\tQUEUE\tSTATE\tATTEMPT\tCREATED\tERROR")
				for _, j := range page.Jobs {
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d/%d\t%s\t%s\n", j.ID, shown(j.Kind), shown(j.Queue), shown(j.State), j.Attempt, j.MaxAttempts,
						j.CreatedAt.Local().Format(time.DateTime), firstLine(j.LastError, 60))
				}
				if page.Next != "" {
					fmt.Fprintf(w, "More: kiln jobs ls --after %s\n", shown(page.Next))
				}
			})
		})
	show := e.apiLeaf("show", "kiln jobs show ID [--logs]", "show a job and its history", func(fs *flag.FlagSet) {
		fs.BoolVar(&logs, "logs", false, "also print what the job logged")
	}, func(ctx context.Context, pos []string) error {
		id, err := oneID(pos, "job")
		if err != nil {
			return err
		}
		c := e.client()
		j, err := c.Job(ctx, id)
		if err != nil {
			return err
		}
		var lines []api.LogLine
		if logs {
			if lines, err = c.JobLogs(ctx, id); err != nil {
				return err
			}
		}
		if e.asJSON {
			return e.print(struct {
				*api.JobDetail
				Logs []api.LogLine `json:"logs,omitempty"`
			}{j, lines}, nil)
		}
		return e.print(nil, func(w *tabwriter.Writer) {
			fmt.Fprintf(w, "Job %d\t%s on %s\n", j.ID, shown(j.Kind), shown(j.Queue))
			fmt.Fprintf(w, "State\t%s (attempt %d of %d)\n", shown(j.State), j.Attempt, j.MaxAttempts)
			fmt.Fprintf(w, "Arguments\t%s\n", shown(string(j.Args)))
			if j.LastError != "" {
				fmt.Fprintf(w, "Last error\t%s\n", firstLine(j.LastError, 200))
			}
			if len(j.Result) > 0 {
				fmt.Fprintf(w, "Result\t%s\n", shown(string(j.Result)))
			}
			fmt.Fprintln(w, "\nWHEN\tFROM\tTO\tATTEMPT\tSERVER\tREASON")
			for _, ev := range j.Events {
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\n", ev.At.Local().Format(time.DateTime), shown(ev.From), shown(ev.To), ev.Attempt, shown(ev.ServerID), firstLine(ev.Reason+" "+ev.Error, 80))
			}
			if logs {
				fmt.Fprintln(w, "\nLOGGED\tATTEMPT\tMESSAGE")
				for _, l := range lines {
					fmt.Fprintf(w, "%s\t%d\t%s\n", l.At.Local().Format(time.DateTime), l.Attempt, shown(l.Message))
				}
			}
		})
	})
	action := func(name, verb, past string) *ffcli.Command {
		return e.apiLeaf(name, "kiln jobs "+name+" ID", verb, nil, func(ctx context.Context, pos []string) error {
			id, err := oneID(pos, "job")
			if err != nil {
				return err
			}
			c := e.client()
			if name == "delete" {
				if err := c.DeleteJob(ctx, id); err != nil {
					return err
				}
				return e.print(map[string]any{"id": id, "deleted": true}, func(w *tabwriter.Writer) { fmt.Fprintf(w, "Job %d deleted.\n", id) })
			}
			j, err := c.JobAction(ctx, id, name)
			if err != nil {
				return err
			}
			return e.print(j, func(w *tabwriter.Writer) { fmt.Fprintf(w, "Job %d %s: now %s.\n", j.ID, past, shown(j.State)) })
		})
	}
	return e.apiGroup("jobs", "kiln jobs enqueue|ls|show|cancel|requeue|run|delete ...", "enqueue, list, show and steer jobs",
		enqueue, ls, show, action("cancel", "cancel a job", "cancelled"), action("requeue", "run a finished job again", "requeued"),
		action("run", "run a scheduled or waiting job now", "triggered"), action("delete", "delete a job", "deleted"))
}

func (e *cliEnv) queuesCommand() *ffcli.Command {
	ls := e.apiLeaf("ls", "kiln queues ls", "list the queues", nil, func(ctx context.Context, pos []string) error {
		list, err := e.client().Queues(ctx)
		if err != nil {
			return err
		}
		return e.print(list, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "QUEUE\tWAITING\tSCHEDULED\tRUNNING\tFAILED\tOLDEST WAITING\tPAUSED")
			for _, q := range list {
				oldest := ""
				if q.Oldest != nil {
					oldest = time.Since(*q.Oldest).Round(time.Second).String()
				}
				fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%s\t%v\n", shown(q.Name), q.Enqueued, q.Scheduled, q.Processing, q.Failed, oldest, q.Paused)
			}
		})
	})
	action := func(name, help string) *ffcli.Command {
		return e.apiLeaf(name, "kiln queues "+name+" NAME", help, nil, func(ctx context.Context, pos []string) error {
			n, err := oneName(pos, "queue")
			if err != nil {
				return err
			}
			if err := e.client().QueueAction(ctx, n, name); err != nil {
				return err
			}
			return e.print(map[string]any{"queue": n, "paused": name == "pause"}, func(w *tabwriter.Writer) { fmt.Fprintf(w, "Queue %s %sd.\n", shown(n), name) })
		})
	}
	return e.apiGroup("queues", "kiln queues ls|pause|resume ...", "list, pause and resume queues",
		ls, action("pause", "no server takes the queue's jobs until resumed"), action("resume", "let servers take its jobs again"))
}

func (e *cliEnv) statsCommand() *ffcli.Command {
	return e.apiLeaf("stats", "kiln stats", "the overview's counts", nil, func(ctx context.Context, pos []string) error {
		st, err := e.client().Stats(ctx)
		if err != nil {
			return err
		}
		return e.print(st, func(w *tabwriter.Writer) {
			for _, s := range models.JobStates {
				fmt.Fprintf(w, "%s\t%d\n", s, st.Jobs[string(s)])
			}
			fmt.Fprintf(w, "retries pending\t%d\nrecurring jobs\t%d\nservers\t%d\n", st.RetriesPending, st.Recurring, st.Servers)
		})
	})
}

// firstLine is s's first line, cut to n characters, as shown prints it.
func firstLine(s string, n int) string {
	s = models.FirstLine(strings.TrimSpace(s))
	if r := []rune(s); len(r) > n {
		return shown(string(r[:n-1])) + "…"
	}
	return shown(s)
}

// readArgs reads --args: JSON, or @file naming a file of JSON; "" is none.
func readArgs(args string) (json.RawMessage, error) {
	if args == "" {
		return nil, nil
	}
	raw := []byte(args)
	if strings.HasPrefix(args, "@") {
		b, err := os.ReadFile(args[1:])
		if err != nil {
			return nil, fmt.Errorf("%w: --args: %v", errUsage, err)
		}
		raw = b
	}
	if !json.Valid(raw) {
		return nil, fmt.Errorf("%w: --args is not valid JSON", errUsage)
	}
	return raw, nil
}
