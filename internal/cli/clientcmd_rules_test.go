package cli

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
)

// kiln alerts rules create takes the rule's JSON fields as flags with dashes, and the server
// stores what they say; ls, show and delete read and remove it. A mistake on the command line
// exits 2 and sends nothing; a rule the server refuses exits 1 with the server's reasons.
func TestAlertRulesCommands(t *testing.T) {
	s, run := apiServerForCLI(t)
	ctx := context.Background()

	code, out, errOut := run("alerts", "rules", "create", "backup-late", "--watch", "missed-schedule", "--scope", "recurring", "--target", "nightly-backup",
		"--grace", "30m", "--channels", "ops-slack,oncall-mail", "--repeat-every", "1h")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "Made rule backup-late: missed-schedule of recurring nightly-backup, to ops-slack, oncall-mail.\n", out)
	r, err := s.Rules.GetRule(ctx, "backup-late")
	require.NoError(t, err)
	require.Equal(t, models.AlertRule{ID: r.ID, Name: "backup-late", Watch: models.WatchMissedSchedule, Scope: models.ScopeRecurring, Target: "nightly-backup",
		Threshold: 1, Grace: 30 * time.Minute, Channels: []string{"ops-slack", "oncall-mail"}, RepeatEvery: time.Hour, Enabled: true, CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt, CheckedUntil: r.CheckedUntil}, *r)

	code, _, errOut = run("alerts", "rules", "create", "emails-burst", "--watch", "failures-within", "--scope", "queue", "--target", "emails",
		"--threshold", "20", "--within", "10m", "--channels", "ops-slack")
	require.Equal(t, 0, code, errOut)
	r, err = s.Rules.GetRule(ctx, "emails-burst")
	require.NoError(t, err)
	require.Equal(t, 20, r.Threshold)
	require.Equal(t, 10*time.Minute, r.Within)
	code, _, errOut = run("alerts", "rules", "create", "stuck", "--watch", "running-longer", "--scope", "kind", "--longer-than", "45m")
	require.Equal(t, 0, code, errOut)
	r, err = s.Rules.GetRule(ctx, "stuck")
	require.NoError(t, err)
	require.Equal(t, 45*time.Minute, r.LongerThan)
	require.Empty(t, r.Target, "every kind")

	code, out, errOut = run("alerts", "rules", "ls")
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, `NAME +WATCH +SCOPE +TARGET +CHANNELS +REPEAT EVERY`, out)
	require.Regexp(t, `backup-late +missed-schedule +recurring +nightly-backup +ops-slack,oncall-mail +1h0m0s`, out)
	require.Regexp(t, `stuck +running-longer +kind +\(every one\) +none +none`, out)

	code, out, errOut = run("alerts", "rules", "show", "emails-burst")
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, `Watch +failures-within\n`, out)
	require.Regexp(t, `Threshold +20\n`, out)
	require.Regexp(t, `Within +10m0s\n`, out)
	require.Regexp(t, `Repeat every +none\n`, out)
	code, out, _ = run("alerts", "rules", "show", "backup-late", "--json")
	require.Equal(t, 0, code)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Equal(t, "30m0s", got["grace"])
	require.Equal(t, []any{"ops-slack", "oncall-mail"}, got["channels"])

	// Refused by the server: exit 1 with its reasons; nothing stored.
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"backup-late", "--watch", "failed", "--scope", "kind"}, `There is already a rule named "backup-late".`},
		{[]string{"late", "--watch", "missed-schedule", "--scope", "kind"}, "A missed schedule is a recurring job's: choose recurring."},
		{[]string{"slow", "--watch", "running-longer", "--scope", "kind", "--longer-than", "soon"}, "longer_than: A Go duration of 0 or more"},
		{[]string{"odd", "--watch", "flapping", "--scope", "kind"}, "watch"},
	} {
		code, _, errOut = run(append([]string{"alerts", "rules", "create"}, c.args...)...)
		require.Equal(t, 1, code, "%v: %s", c.args, errOut)
		require.Contains(t, errOut, c.says, c.args)
	}
	// Mistakes on the command line: exit 2.
	for _, args := range [][]string{
		{"create", "x", "--scope", "kind"},
		{"create", "--watch", "failed", "--scope", "kind"},
		{"create", "x", "--watch", "failed", "--scope", "kind", "--threshold", "many"},
		{"create", "x", "--watch", "failed", "--scope", "kind", "--repeat_every", "1h"},
		{"show"},
		{"delete", "a", "b"},
		{"ls", "extra"},
	} {
		code, _, errOut = run(append([]string{"alerts", "rules"}, args...)...)
		require.Equal(t, 2, code, "%v: %s", args, errOut)
	}
	list, err := s.Rules.ListRules(ctx)
	require.NoError(t, err)
	require.Len(t, list, 3, "nothing refused was stored")

	code, out, errOut = run("alerts", "rules", "delete", "stuck")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "Rule stuck deleted.\n", out)
	_, err = s.Rules.GetRule(ctx, "stuck")
	require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))
	code, _, errOut = run("alerts", "rules", "delete", "stuck")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "(404)")
	code, _, errOut = run("alerts", "rules", "show", "stuck")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "(404)")
}

// kiln alerts rules edit reads the rule, replaces the fields whose flags are given (an empty
// value clears one) and stores it; the others stay. The server's refusals (a bad field, a rule
// the code defines, an unknown rule) exit 1 with its message and change nothing; no flag to
// change is a usage error.
func TestAlertRulesEdit(t *testing.T) {
	s, run := apiServerForCLI(t)
	ctx := context.Background()
	code, _, errOut := run("alerts", "rules", "create", "emails", "--watch", "failed-in-a-row", "--scope", "kind", "--target", "email.send",
		"--threshold", "3", "--channels", "ops-slack", "--repeat-every", "1h")
	require.Equal(t, 0, code, errOut)
	before, err := s.Rules.GetRule(ctx, "emails")
	require.NoError(t, err)

	code, out, errOut := run("alerts", "rules", "edit", "emails", "--threshold", "5", "--channels", "ops-slack,oncall-mail", "--repeat-every", "")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "Changed rule emails: failed-in-a-row of kind email.send, to ops-slack, oncall-mail.\n", out)
	r, err := s.Rules.GetRule(ctx, "emails")
	require.NoError(t, err)
	require.Equal(t, models.AlertRule{ID: before.ID, Name: "emails", Watch: models.WatchFailedInARow, Scope: models.ScopeKind, Target: "email.send",
		Threshold: 5, Channels: []string{"ops-slack", "oncall-mail"}, RepeatEvery: 0, Enabled: true, CreatedBy: before.CreatedBy,
		CreatedAt: r.CreatedAt, CheckedUntil: r.CheckedUntil}, *r, "the flags given replaced, the others stayed")
	require.True(t, before.CreatedAt.Equal(r.CreatedAt))

	code, out, errOut = run("alerts", "rules", "edit", "emails", "--watch", "failures-within", "--within", "10m", "--json")
	require.Equal(t, 0, code, errOut)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Equal(t, "failures-within", got["watch"])
	require.Equal(t, "10m0s", got["within"])
	require.EqualValues(t, 5, got["threshold"])

	code, out, errOut = run("alerts", "rules", "edit", "emails", "--enabled=false")
	require.Equal(t, 0, code, errOut)
	r, err = s.Rules.GetRule(ctx, "emails")
	require.NoError(t, err)
	require.False(t, r.Enabled, "disabled: %s", out)
	require.Equal(t, models.WatchFailuresWithin, r.Watch, "and nothing else changed")
	code, out, _ = run("alerts", "rules", "show", "emails")
	require.Equal(t, 0, code)
	require.Regexp(t, `Enabled\s+false`, out)
	code, _, errOut = run("alerts", "rules", "edit", "emails", "--enabled=maybe")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, `--enabled takes true or false, not "maybe"`)

	_, err = s.Rules.UpsertRule(ctx, &models.AlertRule{Name: "coded", Watch: models.WatchFailed, Scope: models.ScopeKind, Enabled: true}, time.Now())
	require.NoError(t, err)
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"emails", "--threshold", "0"}, "threshold: Give a number of failures of 1 or more."},
		{[]string{"emails", "--within", "soon"}, "within: A Go duration of 0 or more"},
		{[]string{"coded", "--scope", "queue"}, "defined in a server's code"},
		{[]string{"nope", "--threshold", "2"}, `There is no alert rule "nope".`},
	} {
		code, _, errOut = run(append([]string{"alerts", "rules", "edit"}, c.args...)...)
		require.Equal(t, 1, code, "%v: %s", c.args, errOut)
		require.Contains(t, errOut, c.says, c.args)
	}
	r, err = s.Rules.GetRule(ctx, "emails")
	require.NoError(t, err)
	require.Equal(t, 5, r.Threshold, "refused: unchanged")
	require.Equal(t, 10*time.Minute, r.Within)
	for _, args := range [][]string{{"emails"}, {"--threshold", "2"}, {"emails", "--threshold", "many"}} {
		code, _, errOut = run(append([]string{"alerts", "rules", "edit"}, args...)...)
		require.Equal(t, 2, code, "%v: %s", args, errOut)
	}
}
