package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/secrets"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// The CLI drives a real server through its API, on either database: tables for people, JSON
// for scripts, the server's message and a non-zero status on any error.
func TestClientCommands(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		e, err := jobs.New(s, jobs.Config{NoWorkers: true})
		require.NoError(t, err)
		vault, err := secrets.Open(context.Background(), s, "")
		require.NoError(t, err)
		require.NoError(t, builtin.Register(e, s.Jobs, builtin.Config{Secrets: vault}))
		for _, kind := range []string{"report.build", "mail.send"} { // the API takes known kinds only
			require.NoError(t, e.Register(kind, func(context.Context, *models.Job) error { return nil }))
		}
		srv, err := web.New(web.Config{Secrets: vault}, s, e, nil) // no local access: the CLI sends a token
		require.NoError(t, err)
		ts := httptest.NewServer(srv.Handler())
		t.Cleanup(ts.Close)
		admin, _, err := s.Tokens.CreateAPIToken(context.Background(), "cli", models.RoleAdmin, 0, "test", "")
		require.NoError(t, err)
		viewer, _, err := s.Tokens.CreateAPIToken(context.Background(), "look", models.RoleViewer, 0, "test", "")
		require.NoError(t, err)
		var stdin string // what the next command reads on standard input
		run := func(token string, args ...string) (int, string, string) {
			var out, errOut bytes.Buffer
			code := Run(context.Background(), append(args, "--server", ts.URL, "--token", token), strings.NewReader(stdin), &out, &errOut)
			return code, out.String(), errOut.String()
		}

		code, out, errOut := run(admin, "jobs", "enqueue", "report.build", "--args", `{"month":"2026-11"}`, "--queue", "low", "--in", "1h", "--json")
		require.Equal(t, 0, code, errOut)
		var job map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &job))
		require.Equal(t, "scheduled", job["state"])
		require.Equal(t, "low", job["queue"])
		id := strings.TrimSuffix(strings.TrimSuffix(out[strings.Index(out, `"id": `)+6:], "\n"), "")
		id = regexp.MustCompile(`^\d+`).FindString(id)

		argsFile := filepath.Join(t.TempDir(), "args.json")
		require.NoError(t, os.WriteFile(argsFile, []byte(`{"to":"ada@example.com"}`), 0o600))
		code, out, _ = run(admin, "jobs", "enqueue", "mail.send", "--args", "@"+argsFile, "--unique", "welcome:1", "--tags", "customer:1,welcome")
		require.Equal(t, 0, code)
		require.Regexp(t, `^Enqueued job \d+ \(mail.send\) on default: enqueued`, out)

		code, out, _ = run(viewer, "jobs", "ls")
		require.Equal(t, 0, code)
		require.Contains(t, out, "ID  KIND")
		require.Contains(t, out, "report.build")
		require.Contains(t, out, "mail.send")
		code, out, _ = run(viewer, "jobs", "ls", "--kind", "mail.send", "--json")
		require.Equal(t, 0, code)
		require.NotContains(t, out, "report.build")
		code, out, _ = run(viewer, "jobs", "ls", "--tag", "customer:1", "--json")
		require.Equal(t, 0, code)
		require.Contains(t, out, `"customer:1"`)
		require.NotContains(t, out, "report.build")

		code, out, _ = run(viewer, "jobs", "show", id, "--logs")
		require.Equal(t, 0, code)
		require.Contains(t, out, "State")
		require.Contains(t, out, `{"month":"2026-11"}`)
		require.Contains(t, out, "by token cli")

		code, out, _ = run(admin, "jobs", "run", id)
		require.Equal(t, 0, code)
		require.Contains(t, out, "now enqueued")
		code, out, _ = run(admin, "jobs", "cancel", id)
		require.Equal(t, 0, code)
		require.Contains(t, out, "now cancelled")
		code, _, errOut = run(viewer, "jobs", "requeue", id)
		require.Equal(t, 1, code, "a viewer token changes nothing")
		require.Contains(t, errOut, "viewer role")
		code, out, _ = run(admin, "jobs", "delete", id)
		require.Equal(t, 0, code)
		require.Contains(t, out, "deleted")

		code, _, errOut = run(admin, "queues", "pause", "default")
		require.Equal(t, 0, code, errOut)
		code, out, _ = run(viewer, "queues", "ls")
		require.Equal(t, 0, code)
		require.Regexp(t, `(?m)^default\s+1\s+.*true$`, out)
		code, _, _ = run(admin, "queues", "resume", "default")
		require.Equal(t, 0, code)

		_, err = s.Recurring.UpsertRecurring(context.Background(), &models.RecurringJob{Name: "nightly", Spec: "0 2 * * *", TimeZone: "UTC", Kind: "report.build",
			Args: "{}", Queue: "default", MaxAttempts: 3, Misfire: models.MisfireRelaxed}, func() time.Time { return time.Now().Add(time.Hour) })
		require.NoError(t, err)
		code, out, _ = run(viewer, "recurring", "ls")
		require.Equal(t, 0, code)
		require.Contains(t, out, "0 2 * * * (at 02:00 every day)")
		code, out, _ = run(admin, "recurring", "trigger", "nightly")
		require.Equal(t, 0, code)
		require.Regexp(t, `nightly triggered as job \d+`, out)
		code, out, _ = run(admin, "recurring", "pause", "nightly")
		require.Equal(t, 0, code)
		require.Contains(t, out, "nightly paused")

		code, out, _ = run(viewer, "stats")
		require.Equal(t, 0, code)
		require.Regexp(t, `(?m)^enqueued\s+2$`, out)

		// Secrets: the value comes on standard input, and never comes back.
		stdin = "hunter2-long-enough\n"
		code, out, errOut = run(admin, "secrets", "set", "hook.token")
		require.Equal(t, 0, code, errOut)
		require.Contains(t, out, "Saved hook.token: jobs refer to it as ${secret:hook.token}.")
		got, err := vault.Reveal(context.Background(), "hook.token")
		require.NoError(t, err)
		require.Equal(t, "hunter2-long-enough", got, "without the final newline")
		stdin = ""
		code, _, errOut = run(admin, "secrets", "set", "empty")
		require.Equal(t, 2, code)
		require.Contains(t, errOut, "the value is empty")
		code, out, _ = run(admin, "secrets", "ls")
		require.Equal(t, 0, code)
		require.Contains(t, out, "${secret:hook.token}")
		require.NotContains(t, out, "hunter2")
		code, _, errOut = run(viewer, "secrets", "ls")
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "secrets.manage needs the admin role")

		// A recurring HTTP job made from the command line, then deleted.
		code, out, errOut = run(admin, "recurring", "create", "nightly-hook", "--schedule", "0 2 * * *", "--tz", "Europe/Berlin",
			"--kind", "http.request", "--args", `{"url":"https://hooks.example.com/x","headers":{"Authorization":"Bearer ${secret:hook.token}"}}`, "--max-attempts", "4", "--overlap", "skip")
		require.Equal(t, 0, code, errOut)
		require.Contains(t, out, "Made nightly-hook: http.request runs at 02:00 every day (Europe/Berlin), first at ")
		rj, err := s.Recurring.GetRecurring(context.Background(), "nightly-hook")
		require.NoError(t, err)
		require.Equal(t, "token cli", rj.CreatedBy)
		require.Equal(t, 4, rj.MaxAttempts)
		require.Equal(t, models.OverlapSkip, rj.Overlap)
		code, _, errOut = run(admin, "recurring", "create", "bad-hook", "--schedule", "@daily", "--kind", "http.request", "--args", `{"url":"https://x.test/?k=${secret:nope}"}`)
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "no secret of that name")
		code, _, errOut = run(admin, "recurring", "create", "no-kind", "--schedule", "@daily")
		require.Equal(t, 2, code)
		require.Contains(t, errOut, "--spec and --kind are required")
		code, out, _ = run(admin, "recurring", "delete", "nightly-hook")
		require.Equal(t, 0, code)
		require.Contains(t, out, "nightly-hook deleted.")
		code, out, _ = run(admin, "secrets", "delete", "hook.token")
		require.Equal(t, 0, code)
		require.Contains(t, out, "hook.token deleted.")

		// Mistakes: usage errors exit 2, the server's refusals 1 with its message.
		for _, tc := range []struct {
			args []string
			code int
			says string
		}{
			{[]string{"jobs", "enqueue"}, 2, "give the job's kind"},
			{[]string{"jobs", "enqueue", "x", "--args", "{nope"}, 2, "not valid JSON"},
			{[]string{"jobs", "enqueue", "x", "--at", "tomorrow"}, 2, "RFC 3339"},
			{[]string{"jobs", "enqueue", "x", "--in", "soon"}, 1, "Go duration"},
			{[]string{"jobs", "show", "abc"}, 2, "not a job id"},
			{[]string{"jobs", "show", "999999"}, 1, "999999"},
			{[]string{"jobs", "ls", "--state", "lost"}, 1, "state"},
			{[]string{"jobs", "ls", "--bogus"}, 2, "flag provided but not defined"},
			{[]string{"jobs", "frobnicate"}, 2, ""},
			{[]string{"recurring", "pause"}, 2, "name"},
			{[]string{"queues", "pause", "bad queue"}, 1, "queue"},
		} {
			code, _, errOut := run(admin, tc.args...)
			require.Equal(t, tc.code, code, "%v: %s", tc.args, errOut)
			require.Contains(t, errOut, tc.says, "%v", tc.args)
		}
		code, _, errOut = run("kiln_wrong", "stats")
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "No such API token")
		var out2, errOut2 bytes.Buffer
		require.Equal(t, 1, Run(context.Background(), []string{"stats", "--server", "http://127.0.0.1:1"}, nil, &out2, &errOut2))
		require.Contains(t, errOut2.String(), "connection refused")
	})
}
