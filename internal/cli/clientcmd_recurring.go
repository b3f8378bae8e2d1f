package cli

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kilnhq/kiln/api"
	"github.com/kilnhq/kiln/models"
)

func (e *cliEnv) recurringCommand() *ffcli.Command {
	var (
		spec, schedule, tz, kind, args, queue, timeout, misfire, overlap string
		priority, maxAttempts                                            int
		allowUnknownKind                                                 bool
	)
	create := e.apiLeaf("create", "kiln recurring create NAME --spec SPEC [--tz ZONE] --kind KIND [--args JSON|@file] [--queue Q] [--priority N] [--max-attempts N] [--timeout D] [--misfire relaxed|strict|ignore] [--overlap allow|skip|replace] [--allow-unknown-kind]",
		"make a recurring job", func(fs *flag.FlagSet) {
			fs.StringVar(&spec, "spec", "", "the schedule: a cron expression (\"0 2 * * *\"), @daily, or @every 30s")
			fs.StringVar(&schedule, "schedule", "", "the old name of --spec, still accepted")
			fs.StringVar(&tz, "tz", models.DefaultTimeZone, "IANA `zone` the schedule is read in, e.g. Europe/Berlin")
			fs.StringVar(&kind, "kind", "", "what each run does: http.request, exec, or a kind the server's code registers")
			fs.StringVar(&args, "args", "", "the arguments of each run: JSON, or @file to read them from a file")
			fs.StringVar(&queue, "queue", "", "the queue (default: the kind's)")
			fs.IntVar(&priority, "priority", 0, "higher runs first")
			fs.IntVar(&maxAttempts, "max-attempts", 0, "attempts before a run fails (default: the kind's)")
			fs.StringVar(&timeout, "timeout", "", "how long one attempt may run (Go `duration`)")
			fs.StringVar(&misfire, "misfire", "", "runs missed while no server ran: relaxed (default: once), strict (each), ignore")
			fs.StringVar(&overlap, "overlap", "", "while the run before is unfinished: allow (default), skip, or replace (cancel it)")
			fs.BoolVar(&allowUnknownKind, "allow-unknown-kind", false, allowUnknownKindHelp)
		}, func(ctx context.Context, pos []string) error {
			name, err := oneName(pos, "recurring job")
			if err != nil {
				return err
			}
			spec, err = oneSpec(spec, schedule)
			if err != nil {
				return err
			}
			if spec == "" || kind == "" {
				return fmt.Errorf("%w: --spec and --kind are required", errUsage)
			}
			raw, err := readArgs(args)
			if err != nil {
				return err
			}
			in := api.RecurringSpec{Name: name, Spec: spec, TimeZone: tz, Kind: kind, Args: raw, Queue: queue, Timeout: timeout, Misfire: misfire, Overlap: overlap,
				AllowUnknownKind: allowUnknownKind}
			if priority != 0 {
				in.Priority = &priority
			}
			if maxAttempts != 0 {
				in.MaxAttempts = &maxAttempts
			}
			r, err := e.client().CreateRecurring(ctx, in)
			if err != nil {
				return err
			}
			return e.print(r, func(w *tabwriter.Writer) {
				next := ""
				if r.NextRunAt != nil {
					next = ", first at " + r.NextRunAt.Local().Format(time.DateTime)
				}
				fmt.Fprintf(w, "Made %s: %s runs %s (%s)%s.\n", shown(r.Name), shown(r.Kind), shown(r.Description), shown(r.TimeZone), next)
			})
		})
	del := e.apiLeaf("delete", "kiln recurring delete NAME", "delete a recurring job (the jobs it made stay)", nil, func(ctx context.Context, pos []string) error {
		name, err := oneName(pos, "recurring job")
		if err != nil {
			return err
		}
		if err := e.client().DeleteRecurring(ctx, name); err != nil {
			return err
		}
		return e.print(map[string]string{"deleted": name}, func(w *tabwriter.Writer) { fmt.Fprintf(w, "%s deleted.\n", shown(name)) })
	})
	ls := e.apiLeaf("ls", "kiln recurring ls", "list the recurring jobs", nil, func(ctx context.Context, pos []string) error {
		list, err := e.client().Recurring(ctx)
		if err != nil {
			return err
		}
		return e.print(list, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "NAME\tSCHEDULE\tZONE\tKIND\tNEXT RUN\tSTATE")
			for _, r := range list {
				next, state := "", "active"
				if r.NextRunAt != nil {
					next = r.NextRunAt.Local().Format(time.DateTime)
				}
				if r.Paused {
					state, next = "paused", ""
				}
				fmt.Fprintf(w, "%s\t%s (%s)\t%s\t%s\t%s\t%s\n", shown(r.Name), shown(r.Spec), shown(r.Description), shown(r.TimeZone), shown(r.Kind), next, state)
			}
		})
	})
	action := func(name, help string) *ffcli.Command {
		return e.apiLeaf(name, "kiln recurring "+name+" NAME", help, nil, func(ctx context.Context, pos []string) error {
			n, err := oneName(pos, "recurring job")
			if err != nil {
				return err
			}
			r, err := e.client().RecurringAction(ctx, n, name)
			if err != nil {
				return err
			}
			return e.print(r, func(w *tabwriter.Writer) {
				if r.Job != nil {
					fmt.Fprintf(w, "%s triggered as job %d.\n", shown(n), r.Job.ID)
				} else {
					fmt.Fprintf(w, "%s %sd.\n", shown(n), name)
				}
			})
		})
	}
	return e.apiGroup("recurring", "kiln recurring ls|create|delete|pause|resume|trigger ...", "list, make and steer recurring jobs",
		ls, create, del, action("pause", "enqueue nothing until resumed"), action("resume", "enqueue again from the next occurrence"), action("trigger", "enqueue one job now"))
}

// oneSpec is the spec given as --spec or as --schedule, its name before the flags took the
// column's: scripts written with --schedule keep working, and the two may not disagree.
func oneSpec(spec, schedule string) (string, error) {
	switch {
	case schedule == "" || schedule == spec:
		return spec, nil
	case spec == "":
		return schedule, nil
	}
	return "", fmt.Errorf("%w: --spec and --schedule (its old name) differ: give one", errUsage)
}
