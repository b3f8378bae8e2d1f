package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/user"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kilnhq/kiln/client"
	"github.com/kilnhq/kiln/models"
)

// auditCommand reads and checks the audit trail: ls and export through the API (admin
// tokens), verify on the database itself, as kiln user and kiln token open it, so that it
// needs nothing of the server it checks.
func (e *cliEnv) auditCommand() *ffcli.Command {
	var (
		f            client.AuditFilter
		since, until string
		after        int64
	)
	filterFlags := func(fs *flag.FlagSet) {
		fs.StringVar(&f.Actor, "actor", "", "only this `actor`: a username, local, or \"token NAME\"")
		fs.StringVar(&f.Action, "action", "", "only actions starting with this `text` (login, \"POST /api/v1/jobs\")")
		fs.StringVar(&f.Target, "target", "", "only this `target` (\"job 42\", \"recurring nightly\")")
		fs.StringVar(&f.Kind, "kind", "", "only entries about this `kind` of job: changes to its jobs and to the kind itself")
		fs.StringVar(&since, "since", "", "only entries at or after this `time` (RFC 3339, or a date: 2026-12-01)")
		fs.StringVar(&until, "until", "", "only entries before this `time` (RFC 3339, or a date)")
	}
	readTimes := func() error {
		var err error
		if f.Since, err = parseCLITime("--since", since); err != nil {
			return err
		}
		f.Until, err = parseCLITime("--until", until)
		return err
	}
	ls := e.apiLeaf("ls", "kiln audit ls [--actor WHO] [--action TEXT] [--target WHAT] [--kind KIND] [--since T] [--until T] [--limit N] [--before ID]",
		"list the audit trail, newest first (admin tokens)", func(fs *flag.FlagSet) {
			filterFlags(fs)
			fs.IntVar(&f.Limit, "limit", 50, "at most this many `entries` (1 to 1000)")
			fs.StringVar(&f.Before, "before", "", "entries older than this `id`: the previous page's next")
		}, func(ctx context.Context, pos []string) error {
			if err := noArgs(pos); err != nil {
				return err
			}
			if err := readTimes(); err != nil {
				return err
			}
			page, err := e.client().Audit(ctx, f)
			if err != nil {
				return err
			}
			return e.print(page, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ID\tAT\tACTOR\tACTION\tTARGET\tOUTCOME\tIP")
				for _, a := range page.Entries {
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.At.Local().Format(time.DateTime), shown(a.Actor), shown(a.Action),
						shown(a.Target), shown(a.Outcome), shown(a.IP))
				}
				if page.Next != "" {
					fmt.Fprintf(w, "More: --before %s\n", page.Next)
				}
			})
		})
	export := e.apiLeaf("export", "kiln audit export [--after ID] [filters] > audit.ndjson",
		"write the audit trail as NDJSON, one entry a line, newest first, for a SIEM (admin tokens)\n\n"+
			"Each line is one entry as GET /api/v1/audit returns it. To ship only what is new, remember the first\n"+
			"line's id and pass it as --after next time.", func(fs *flag.FlagSet) {
			filterFlags(fs)
			fs.Int64Var(&after, "after", 0, "only entries newer than this `id` (the first id of the last export)")
		}, func(ctx context.Context, pos []string) error {
			if err := noArgs(pos); err != nil {
				return err
			}
			if err := readTimes(); err != nil {
				return err
			}
			f.Limit = 1000
			enc := json.NewEncoder(e.out) // one line per entry: Encode ends each with a newline
			for {
				page, err := e.client().Audit(ctx, f)
				if err != nil {
					return err
				}
				for _, a := range page.Entries {
					if a.ID <= after {
						return nil
					}
					if err := enc.Encode(a); err != nil {
						return err
					}
				}
				if page.Next == "" {
					return nil
				}
				f.Before = page.Next
			}
		})
	verify := e.auditVerifyCommand()
	return e.group("audit", "kiln audit ls|export|verify ...", "read the audit trail, export it for a SIEM, verify its chain", ls, export, verify)
}

// parseCLITime reads a time flag: RFC 3339, or a date (midnight, local time).
func parseCLITime(flagName, raw string) (time.Time, error) {
	if raw == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, raw); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, raw, time.Local); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%w: %s %q is not a time: give 2026-12-05T09:30:00Z or a date, 2026-12-05", errUsage, flagName, raw)
}

// cliAudit returns ctx carrying the audit entry of a change a command makes on the database
// itself (kiln user, kiln token), where no request names who made it: the actor is "cli" and the
// machine's user who ran it, of kind system. The store writes it in the change's transaction,
// with the fields before and after; target names what it changes.
func cliAudit(ctx context.Context, action, target string) context.Context {
	who := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	return models.WithPendingAudit(ctx, &models.PendingAudit{Entry: models.AuditEntry{Actor: "cli " + who,
		ActorKind: models.AuditActorSystem, Action: action, Target: target}})
}
