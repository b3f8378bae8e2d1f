package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kilnhq/kiln/api"
)

// alertsCommand drives alerts: their channels, and a test message on one.
func (e *cliEnv) alertsCommand() *ffcli.Command {
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
	return e.apiGroup("alerts", "kiln alerts channels|test ...", "alerts: their channels, and a test message on one", channels, test)
}

// channelTarget is where a channel sends, as its settings say (secret references as they are).
func channelTarget(c api.Channel) string {
	if c.Type == "email" {
		return strings.Join(c.Settings.To, ", ")
	}
	return c.Settings.URL
}

// lastError is a channel's last error when it came after its last success, else "".
func lastError(c api.Channel) string {
	if c.LastErrorAt == nil || c.LastSentAt != nil && c.LastSentAt.After(*c.LastErrorAt) {
		return ""
	}
	return c.LastErrorAt.Local().Format(time.DateTime) + " " + c.LastError
}

func when(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.Local().Format(time.DateTime)
}
