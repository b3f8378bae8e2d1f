package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
)

// kiln alerts channels ls lists the channels with how their last messages went; kiln alerts
// test CHANNEL sends a test message and says it went, or exits 1 with the service's answer.
func TestAlertsCommands(t *testing.T) {
	s, run := apiServerForCLI(t)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/broken" {
			http.Error(w, "invalid_token", http.StatusForbidden)
		}
	}))
	t.Cleanup(hook.Close)
	ctx := context.Background()
	require.NoError(t, s.Channels.CreateChannel(ctx, &models.Channel{Name: "ops", Type: models.ChannelSlack, Settings: models.ChannelSettings{URL: hook.URL + "/ok"}}))
	require.NoError(t, s.Channels.CreateChannel(ctx, &models.Channel{Name: "mail", Type: models.ChannelEmail,
		Settings: models.ChannelSettings{SMTPHost: "localhost", To: []string{"ops@example.com"}}}))

	code, out, errOut := run("alerts", "test", "ops")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "Sent a test message on ops: \"Kiln test message for channel ops\".\n", out)

	require.NoError(t, s.Channels.UpdateChannel(ctx, &models.Channel{Name: "ops", Type: models.ChannelSlack, Settings: models.ChannelSettings{URL: hook.URL + "/broken"}}))
	time.Sleep(2 * time.Millisecond) // the failure's time is after the success's
	code, _, errOut = run("alerts", "test", "ops")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "The test message was not sent: slack answered 403 Forbidden: invalid_token (502)")

	code, _, errOut = run("alerts", "test", "nope")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `There is no channel named "nope".`)
	code, _, _ = run("alerts", "test")
	require.Equal(t, 2, code, "a usage error")

	code, out, errOut = run("alerts", "channels", "ls")
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, `NAME +TYPE +TO +LAST SENT +LAST ERROR`, out)
	require.Regexp(t, `mail +email +ops@example.com +never`, out)
	require.Regexp(t, `ops +slack +`+hook.URL+`/… +\d{4}-\d\d-\d\d .* slack answered 403 Forbidden`, out)
	require.NotContains(t, out, "/broken", "a chat webhook's URL (saved raw before they were kept as secrets) is redacted, as on the dashboard's list")

	code, out, _ = run("alerts", "channels", "ls", "--json")
	require.Equal(t, 0, code)
	var list []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &list))
	require.Len(t, list, 2)
	require.Equal(t, "mail", list[0]["name"])
}

// alertForCLI stores a rule and an alert of it, as an evaluation would: open, or resolved at
// resolved when not nil; its id.
func alertForCLI(t *testing.T, s *models.Store, rule, subject string, at time.Time, resolved *time.Time) int64 {
	t.Helper()
	ctx := context.Background()
	r, err := s.Rules.CreateRule(ctx, &models.AlertRule{Name: rule, Watch: models.WatchFailed, Scope: models.ScopeKind, Target: subject, Enabled: true}, at)
	require.NoError(t, err)
	a := &models.Alert{RuleID: r.ID, Subject: subject, State: models.AlertOpen, OpenedAt: at, LastNotifiedAt: at, Count: 3, JobIDs: []int64{7, 8}, Messages: 1}
	if resolved != nil {
		a.State, a.ResolvedAt = models.AlertResolved, resolved
	}
	_, err = s.Rules.EvaluateAlerts(ctx, at, 0, func(tx *models.AlertTx) error { return tx.SaveAlert(a) })
	require.NoError(t, err)
	return a.ID
}

// kiln alerts ls lists the open alerts (--all: the resolved ones too); ack and silence quiet
// one, and say so in the list; silence --off unmutes. Bad ids and silences exit 2; a resolved
// alert's refusal, and a silence already over, exit 1 with the server's message.
func TestAlertsLsAckSilence(t *testing.T) {
	s, run := apiServerForCLI(t)
	ctx := context.Background()
	at := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	reports := alertForCLI(t, s, "reports failing", "report.build", at, nil)
	emails := alertForCLI(t, s, "emails failing", "email.send", at.Add(time.Minute), nil)
	resolved := at.Add(3 * time.Minute)
	gone := alertForCLI(t, s, "sync failing", "partner.sync", at.Add(2*time.Minute), &resolved)

	code, out, errOut := run("alerts", "ls")
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, `ID +RULE +SUBJECT +STATE +COUNT +OPENED +MESSAGES +QUIET`, out)
	require.Regexp(t, `\d+ +reports failing +report.build +open +3 +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +1`, out)
	require.Contains(t, out, "email.send")
	require.NotContains(t, out, "partner.sync", "resolved: only with --all")
	code, out, _ = run("alerts", "ls", "--all")
	require.Equal(t, 0, code)
	require.Regexp(t, `sync failing +partner.sync +resolved \d{4}-`, out)

	code, out, errOut = run("alerts", "ack", strconv.FormatInt(reports, 10))
	require.Equal(t, 0, code, errOut)
	require.Equal(t, fmt.Sprintf("Alert %d (reports failing: report.build) acknowledged by token cli.\n", reports), out)
	code, out, errOut = run("alerts", "silence", strconv.FormatInt(emails, 10), "--for", "4h")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, fmt.Sprintf("Alert %d (emails failing: email.send) silenced until ", emails))
	list, err := s.Rules.ListAlerts(ctx, true, 10)
	require.NoError(t, err)
	for _, a := range list {
		switch a.ID {
		case reports:
			require.NotNil(t, a.AcknowledgedAt)
		case emails:
			require.NotNil(t, a.SilencedUntil)
			require.WithinDuration(t, time.Now().Add(4*time.Hour), *a.SilencedUntil, time.Minute)
		}
	}
	code, _, errOut = run("alerts", "silence", strconv.FormatInt(emails, 10), "--until", "2031-03-04T12:00:00Z")
	require.Equal(t, 0, code, errOut)
	code, out, _ = run("alerts", "ls", "--json")
	require.Equal(t, 0, code)
	var got []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Len(t, got, 2)
	require.Equal(t, "2031-03-04T12:00:00Z", got[0]["silenced_until"])
	require.Equal(t, "token cli", got[1]["acknowledged_by"])
	code, out, _ = run("alerts", "ls")
	require.Equal(t, 0, code)
	require.Regexp(t, `report.build .* acknowledged by token cli`, out)
	require.Regexp(t, `email.send .* silenced until 2031-03-04`, out)

	// A silence already over is the server's refusal (one rule for every surface), not an unmute;
	// --off unmutes.
	code, _, errOut = run("alerts", "silence", strconv.FormatInt(emails, 10), "--until", time.Now().Add(-time.Minute).UTC().Format(time.RFC3339))
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "Silence until a time still to come.")
	require.Contains(t, errOut, "(422)")
	code, out, errOut = run("alerts", "silence", strconv.FormatInt(emails, 10), "--off")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, fmt.Sprintf("Alert %d (emails failing: email.send) unsilenced: it repeats again while it stays open.\n", emails), out)
	code, out, _ = run("alerts", "ls")
	require.Equal(t, 0, code)
	require.NotContains(t, out, "silenced until")

	// A resolved alert is the server's refusal; a missing one too.
	code, _, errOut = run("alerts", "ack", strconv.FormatInt(gone, 10))
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "(409)")
	code, _, errOut = run("alerts", "silence", "99999", "--for", "1h")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "(404)")
	code, _, errOut = run("alerts", "silence", strconv.FormatInt(gone, 10), "--off")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "(409)")
	// Mistakes on the command line.
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"ack"}, "give one alert id"},
		{[]string{"ack", "x"}, `"x" is not an alert id`},
		{[]string{"silence", "1"}, "give --for D or --until TIME, one of them"},
		{[]string{"silence", "1", "--for", "1h", "--until", "2031-03-04T12:00:00Z"}, "give --for D or --until TIME, one of them"},
		{[]string{"silence", "1", "--for", "a while"}, "give a Go duration above 0"},
		{[]string{"silence", "1", "--for", "-1h"}, "give a Go duration above 0"},
		{[]string{"silence", "1", "--until", "tomorrow"}, "use RFC 3339"},
		{[]string{"silence", "1", "--off", "--for", "1h"}, "--off ends a silence"},
		{[]string{"ls", "open"}, `unexpected "open"`},
	} {
		code, _, errOut = run(append([]string{"alerts"}, c.args...)...)
		require.Equal(t, 2, code, "%v: %s", c.args, errOut)
		require.Contains(t, errOut, c.says, c.args)
	}
}
