package cli

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kilnhq/kiln/api"
	"github.com/kilnhq/kiln/models"
)

// rulesCommand lists, shows, makes, changes and deletes alert rules. Its flags are the rule's
// JSON fields with dashes; the server checks what they say together, and refuses with each
// field's fault.
func (e *cliEnv) rulesCommand() *ffcli.Command {
	var (
		in, change               api.AlertRuleSpec
		channels, changeChannels string
		editFlags                *flag.FlagSet
	)
	ls := e.apiLeaf("ls", "kiln alerts rules ls", "list the alert rules", nil, func(ctx context.Context, pos []string) error {
		if len(pos) > 0 {
			return fmt.Errorf("%w: unexpected %q", errUsage, pos[0])
		}
		list, err := e.client().AlertRules(ctx)
		if err != nil {
			return err
		}
		return e.print(list, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "NAME\tWATCH\tSCOPE\tTARGET\tCHANNELS\tREPEAT EVERY")
			for _, r := range list {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", shown(r.Name), shown(r.Watch), shown(r.Scope), shown(ruleTarget(r.Target)),
					shown(orNone(strings.Join(r.Channels, ","))), orNone(r.RepeatEvery))
			}
		})
	})
	show := e.apiLeaf("show", "kiln alerts rules show NAME", "show an alert rule", nil, func(ctx context.Context, pos []string) error {
		name, err := oneName(pos, "rule")
		if err != nil {
			return err
		}
		r, err := e.client().AlertRule(ctx, name)
		if err != nil {
			return err
		}
		return e.print(r, func(w *tabwriter.Writer) { printRule(w, r) })
	})
	create := e.apiLeaf("create", "kiln alerts rules create NAME --watch W --scope kind|queue|recurring [--target T] [--channels a,b] [--repeat-every D] [--threshold N] [--within D] [--grace D] [--longer-than D]",
		"make an alert rule; it looks at what happens from now on", func(fs *flag.FlagSet) { ruleFlags(fs, &in, &channels) },
		func(ctx context.Context, pos []string) error {
			name, err := oneName(pos, "rule")
			if err != nil {
				return err
			}
			if in.Watch == "" || in.Scope == "" {
				return fmt.Errorf("%w: --watch and --scope are required", errUsage)
			}
			in.Name = name
			if channels != "" {
				in.Channels = strings.Split(channels, ",")
			}
			r, err := e.client().CreateAlertRule(ctx, in)
			if err != nil {
				return err
			}
			return e.print(r, func(w *tabwriter.Writer) { fmt.Fprintf(w, "Made rule %s.\n", ruleSummary(r)) })
		})
	edit := e.apiLeaf("edit", "kiln alerts rules edit NAME [--watch W] [--scope kind|queue|recurring] [--target T] [--channels a,b] [--repeat-every D] [--threshold N] [--within D] [--grace D] [--longer-than D]",
		"change an alert rule: the flags given replace those fields (an empty value clears one), the others stay; checked as a new rule is",
		func(fs *flag.FlagSet) {
			editFlags = fs
			ruleFlags(fs, &change, &changeChannels)
		}, func(ctx context.Context, pos []string) error {
			name, err := oneName(pos, "rule")
			if err != nil {
				return err
			}
			var given []string
			editFlags.Visit(func(f *flag.Flag) {
				if _, ok := ruleFlagFields[f.Name]; ok {
					given = append(given, f.Name)
				}
			})
			if len(given) == 0 {
				return fmt.Errorf("%w: give the flags of the fields to change, e.g. --threshold 5", errUsage)
			}
			cur, err := e.client().AlertRule(ctx, name)
			if err != nil {
				return err
			}
			spec := cur.AlertRuleSpec
			if changeChannels != "" {
				change.Channels = strings.Split(changeChannels, ",")
			}
			for _, f := range given {
				ruleFlagFields[f](&spec, &change)
			}
			r, err := e.client().UpdateAlertRule(ctx, name, spec)
			if err != nil {
				return err
			}
			return e.print(r, func(w *tabwriter.Writer) { fmt.Fprintf(w, "Changed rule %s.\n", ruleSummary(r)) })
		})
	del := e.apiLeaf("delete", "kiln alerts rules delete NAME", "delete an alert rule and its alerts (a rule the code defines comes back when a server starts with it)", nil,
		func(ctx context.Context, pos []string) error {
			name, err := oneName(pos, "rule")
			if err != nil {
				return err
			}
			if err := e.client().DeleteAlertRule(ctx, name); err != nil {
				return err
			}
			return e.print(map[string]string{"deleted": name}, func(w *tabwriter.Writer) { fmt.Fprintf(w, "Rule %s deleted.\n", shown(name)) })
		})
	return e.apiGroup("rules", "kiln alerts rules ls|show|create|edit|delete ...", "what alerts watch, when they fire and where they go", ls, show, create, edit, del)
}

// ruleFlags are a rule's fields as create and edit take them: its JSON fields with dashes
// (channels comma-separated, into channels).
func ruleFlags(fs *flag.FlagSet, in *api.AlertRuleSpec, channels *string) {
	fs.StringVar(&in.Watch, "watch", "", "what it watches: "+strings.Join(models.Watches, ", ")+" (see the README's Alert rules)")
	fs.StringVar(&in.Scope, "scope", "", "whose jobs: a kind's, a queue's or a recurring job's")
	fs.StringVar(&in.Target, "target", "", "the kind, queue or recurring job (none: every one, each its own alert)")
	fs.StringVar(channels, "channels", "", "comma-separated `names` of the channels its messages go to")
	fs.StringVar(&in.RepeatEvery, "repeat-every", "", "the least time between two messages of an open alert, a Go `duration` (none: it never repeats)")
	fs.IntVar(&in.Threshold, "threshold", 0, "N of failed-in-a-row, failures-within (more than N) and backlog (more than N)")
	fs.StringVar(&in.Within, "within", "", "the window of failures-within, a Go `duration` (10m)")
	fs.StringVar(&in.Grace, "grace", "", "how long after it was due an occurrence may take to succeed (missed-schedule), a Go `duration`")
	fs.StringVar(&in.LongerThan, "longer-than", "", "how long a job may run (running-longer) or wait (backlog), a Go `duration`")
	fs.BoolFunc("enabled", "whether it is evaluated: --enabled=false disables it (default: true on create, as it was on edit)", func(v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("--enabled takes true or false, not %q", v)
		}
		in.Enabled = &b
		return nil
	})
}

// ruleFlagFields copies, for each of ruleFlags' flags, its field from what the flags gave to
// the rule being edited: only the flags given replace fields.
var ruleFlagFields = map[string]func(to, from *api.AlertRuleSpec){
	"watch":        func(to, from *api.AlertRuleSpec) { to.Watch = from.Watch },
	"scope":        func(to, from *api.AlertRuleSpec) { to.Scope = from.Scope },
	"target":       func(to, from *api.AlertRuleSpec) { to.Target = from.Target },
	"channels":     func(to, from *api.AlertRuleSpec) { to.Channels = from.Channels },
	"repeat-every": func(to, from *api.AlertRuleSpec) { to.RepeatEvery = from.RepeatEvery },
	"threshold":    func(to, from *api.AlertRuleSpec) { to.Threshold = from.Threshold },
	"within":       func(to, from *api.AlertRuleSpec) { to.Within = from.Within },
	"grace":        func(to, from *api.AlertRuleSpec) { to.Grace = from.Grace },
	"longer-than":  func(to, from *api.AlertRuleSpec) { to.LongerThan = from.LongerThan },
	"enabled":      func(to, from *api.AlertRuleSpec) { to.Enabled = from.Enabled },
}

// ruleSummary is a rule in a line: its name, what it watches of what, and where it goes.
func ruleSummary(r *api.AlertRule) string {
	return fmt.Sprintf("%s: %s of %s %s, to %s", shown(r.Name), shown(r.Watch), shown(r.Scope), shown(ruleTarget(r.Target)),
		shown(orNone(strings.Join(r.Channels, ", "))))
}

// printRule writes a rule's fields, one a line, those it doesn't use left out.
func printRule(w *tabwriter.Writer, r *api.AlertRule) {
	fmt.Fprintf(w, "Rule\t%s\n", shown(r.Name))
	fmt.Fprintf(w, "Watch\t%s\n", shown(r.Watch))
	fmt.Fprintf(w, "Scope\t%s %s\n", shown(r.Scope), shown(ruleTarget(r.Target)))
	if r.Threshold > 0 {
		fmt.Fprintf(w, "Threshold\t%d\n", r.Threshold)
	}
	for _, f := range []struct{ name, value string }{{"Within", r.Within}, {"Grace", r.Grace}, {"Longer than", r.LongerThan}} {
		if f.value != "" {
			fmt.Fprintf(w, "%s\t%s\n", f.name, shown(f.value))
		}
	}
	fmt.Fprintf(w, "Channels\t%s\n", shown(orNone(strings.Join(r.Channels, ", "))))
	fmt.Fprintf(w, "Repeat every\t%s\n", shown(orNone(r.RepeatEvery)))
	fmt.Fprintf(w, "Enabled\t%v\n", r.Enabled == nil || *r.Enabled)
	fmt.Fprintf(w, "Created\t%s by %s\n", r.CreatedAt.Local().Format(time.DateTime), shown(orNone(r.CreatedBy)))
}

// ruleTarget is a rule's target as the tables show it.
func ruleTarget(t string) string {
	if t == "" {
		return "(every one)"
	}
	return t
}

// orNone is s, or "none" when it is empty.
func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
