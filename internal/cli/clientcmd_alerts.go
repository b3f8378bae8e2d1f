package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kilnhq/kiln/api"
	"github.com/kilnhq/kiln/internal/alerts"
)

// alertsCommand drives alerts: those open and their history, acknowledging, silencing and
// unsilencing them, their rules, their channels, and a test message on one.
func (e *cliEnv) alertsCommand() *ffcli.Command {
	var (
		all, off    bool
		limit       int
		forD, until string
	)
	ls := e.apiLeaf("ls", "kiln alerts ls [--all] [--limit N]", "list the open alerts, newest first (--all: their history too)", func(fs *flag.FlagSet) {
		fs.BoolVar(&all, "all", false, "also the resolved alerts")
		fs.IntVar(&limit, "limit", 100, "at most this many (500 at most)")
	}, func(ctx context.Context, pos []string) error {
		if len(pos) > 0 {
			return fmt.Errorf("%w: unexpected %q", errUsage, pos[0])
		}
		list, err := e.client().Alerts(ctx, !all, limit)
		if err != nil {
			return err
		}
		return e.print(list, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "ID\tRULE\tSUBJECT\tSTATE\tCOUNT\tOPENED\tMESSAGES\tQUIET")
			for _, a := range list {
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\t%s\t%d\t%s\n", a.ID, shown(a.Rule), shown(a.Subject), alertState(a), a.Count,
					a.OpenedAt.Local().Format(time.DateTime), a.Messages, shown(quiet(a)))
			}
		})
	})
	ack := e.apiLeaf("ack", "kiln alerts ack ID", "acknowledge an open alert: you took it in hand, it repeats no more", nil, func(ctx context.Context, pos []string) error {
		id, err := oneID(pos, "alert")
		if err != nil {
			return err
		}
		a, err := e.client().AcknowledgeAlert(ctx, id)
		if err != nil {
			return err
		}
		return e.print(a, func(w *tabwriter.Writer) {
			fmt.Fprintf(w, "Alert %d (%s: %s) acknowledged by %s.\n", a.ID, shown(a.Rule), shown(a.Subject), shown(a.AcknowledgedBy))
		})
	})
	silence := e.apiLeaf("silence", "kiln alerts silence ID --for 4h | --until TIME | --off", "mute an open alert's repeats for a time (its resolution is still told), or end its silence (--off)", func(fs *flag.FlagSet) {
		fs.StringVar(&forD, "for", "", "mute it for this Go `duration` from now (4h, 30m)")
		fs.StringVar(&until, "until", "", "mute it until this `time` still to come (RFC 3339, e.g. 2026-12-01T09:00:00+01:00)")
		fs.BoolVar(&off, "off", false, "end its silence: it repeats again while it stays open")
	}, func(ctx context.Context, pos []string) error {
		id, err := oneID(pos, "alert")
		if err != nil {
			return err
		}
		if off {
			if forD != "" || until != "" {
				return fmt.Errorf("%w: --off ends a silence: give it without --for or --until", errUsage)
			}
			a, err := e.client().UnsilenceAlert(ctx, id)
			if err != nil {
				return err
			}
			return e.print(a, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "Alert %d (%s: %s) unsilenced: it repeats again while it stays open.\n", a.ID, shown(a.Rule), shown(a.Subject))
			})
		}
		end, err := silenceEnd(forD, until, time.Now())
		if err != nil {
			return err
		}
		a, err := e.client().SilenceAlert(ctx, id, end)
		if err != nil {
			return err
		}
		return e.print(a, func(w *tabwriter.Writer) {
			fmt.Fprintf(w, "Alert %d (%s: %s) silenced until %s.\n", a.ID, shown(a.Rule), shown(a.Subject), end.Local().Format(time.DateTime))
		})
	})
	channelsLs := e.apiLeaf("ls", "kiln alerts channels ls", "list the channels, with how their last messages went", nil, func(ctx context.Context, pos []string) error {
		list, err := e.client().Channels(ctx)
		if err != nil {
			return err
		}
		return e.print(list, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "NAME\tTYPE\tTO\tLAST SENT\tLAST ERROR")
			for _, c := range list {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", shown(c.Name), c.Type, shown(channelTarget(c)), when(c.LastSentAt), shown(lastError(c)))
			}
		})
	})
	channels := e.apiGroup("channels", "kiln alerts channels ls", "the channels alerts' messages go to", channelsLs)
	test := e.apiLeaf("test", "kiln alerts test CHANNEL", "send a test message on a channel now, and say whether it went", nil, func(ctx context.Context, pos []string) error {
		name, err := oneName(pos, "channel")
		if err != nil {
			return err
		}
		sent, err := e.client().TestChannel(ctx, name)
		if err != nil {
			return err
		}
		return e.print(sent, func(w *tabwriter.Writer) {
			fmt.Fprintf(w, "Sent a test message on %s: %q.\n", shown(sent.Channel), sent.Message.Title)
		})
	})
	return e.apiGroup("alerts", "kiln alerts ls|ack|silence|rules|channels|test ...", "alerts: list, acknowledge, silence and unsilence them; their rules and channels",
		ls, ack, silence, e.rulesCommand(), channels, test)
}

// silenceEnd is when a silence given as --for D or --until TIME ends: exactly one of them. The
// server refuses an end not still to come (models' SilenceAlert, the one rule for every surface).
func silenceEnd(forD, until string, now time.Time) (time.Time, error) {
	switch {
	case (forD == "") == (until == ""):
		return time.Time{}, fmt.Errorf("%w: give --for D or --until TIME, one of them (or --off to end a silence)", errUsage)
	case forD != "":
		d, err := time.ParseDuration(forD)
		if err != nil || d <= 0 {
			return time.Time{}, fmt.Errorf("%w: --for %q: give a Go duration above 0, e.g. 4h or 30m", errUsage, forD)
		}
		return now.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339, until)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: --until %q: use RFC 3339, e.g. 2026-12-01T09:00:00Z", errUsage, until)
	}
	return t, nil
}

// alertState is an alert's state as the table shows it.
func alertState(a api.Alert) string {
	if a.ResolvedAt != nil {
		return "resolved " + a.ResolvedAt.Local().Format(time.DateTime)
	}
	return a.State
}

// quiet says who acknowledged an open alert, or until when it is silenced; "" when neither.
func quiet(a api.Alert) string {
	var parts []string
	if a.AcknowledgedAt != nil {
		parts = append(parts, "acknowledged by "+a.AcknowledgedBy)
	}
	if a.SilencedUntil != nil && a.SilencedUntil.After(time.Now()) {
		parts = append(parts, "silenced until "+a.SilencedUntil.Local().Format(time.DateTime))
	}
	return strings.Join(parts, ", ")
}

// channelTarget is where a channel sends, as its settings say (secret references as they are),
// redacted as the dashboard's list redacts it: a table is read over shoulders; --json has the
// URL as the token may see it.
func channelTarget(c api.Channel) string {
	if c.Type == "email" {
		return strings.Join(c.Settings.To, ", ")
	}
	return alerts.RedactURL(c.Type, c.Settings.URL)
}

// lastError is a channel's last error when it came after its last success, else "".
func lastError(c api.Channel) string {
	if c.LastErrorAt == nil || c.LastSentAt != nil && c.LastSentAt.After(*c.LastErrorAt) {
		return ""
	}
	return c.LastErrorAt.Local().Format(time.DateTime) + " " + alerts.RedactURLs(c.Type, c.LastError)
}

func when(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.Local().Format(time.DateTime)
}
