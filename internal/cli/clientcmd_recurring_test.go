package cli

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/secrets"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// "recurring create" takes the spec as --spec, the name the column, the JSON and the forms use,
// and still as --schedule, its old name; both at once must agree, or nothing is made.
func TestRecurringCreateSpecFlag(t *testing.T) {
	s, run := apiServerForCLI(t)
	create := func(name string, flags ...string) (int, string) {
		code, _, errOut := run(append([]string{"recurring", "create", name, "--kind", "http.request", "--args", `{"url":"https://hooks.example.com/x"}`}, flags...)...)
		return code, errOut
	}

	for name, flags := range map[string][]string{
		"by-spec":     {"--spec", "15 4 * * *"},
		"by-schedule": {"--schedule", "15 4 * * *"},
		"by-both":     {"--spec", "15 4 * * *", "--schedule", "15 4 * * *"},
	} {
		code, errOut := create(name, flags...)
		require.Equal(t, 0, code, "%s: %s", name, errOut)
		rj, err := s.Recurring.GetRecurring(context.Background(), name)
		require.NoError(t, err, name)
		require.Equal(t, "15 4 * * *", rj.Spec, name)
	}

	code, errOut := create("at-odds", "--spec", "15 4 * * *", "--schedule", "@daily")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "--spec and --schedule (its old name) differ")
	_, err := s.Recurring.GetRecurring(context.Background(), "at-odds")
	require.Equal(t, models.ENOTFOUND, models.ErrorCode(err), "nothing is made")

	code, errOut = create("no-spec")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "--spec and --kind are required")
}

// apiServerForCLI is a Kiln serving the API (SQLite, the built-in kinds, no workers), and run,
// which runs a kiln command against it with an admin token: its exit status, stdout and stderr.
func apiServerForCLI(t *testing.T) (*models.Store, func(args ...string) (int, string, string)) {
	t.Helper()
	return apiServerForCLIAs(t, models.RoleAdmin)
}

// apiServerForCLIAs is apiServerForCLI with a token of role.
func apiServerForCLIAs(t *testing.T, role string) (*models.Store, func(args ...string) (int, string, string)) {
	t.Helper()
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	e, err := jobs.New(s, jobs.Config{NoWorkers: true})
	require.NoError(t, err)
	vault, err := secrets.Open(context.Background(), s, "")
	require.NoError(t, err)
	require.NoError(t, builtin.Register(e, s.Jobs, builtin.Config{Secrets: vault}))
	srv, err := web.New(web.Config{Secrets: vault}, s, e, nil)
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	token, _, err := s.Tokens.CreateAPIToken(context.Background(), "cli", role, 0, "test", "")
	require.NoError(t, err)
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), append(args, "--server", ts.URL, "--token", token), strings.NewReader(""), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	return s, run
}

// "recurring create" of a workflow.start entry: a spec the server refuses (a cycle) exits 1
// naming the step, and makes nothing; a good one is made.
func TestRecurringCreateWorkflow(t *testing.T) {
	s, run := apiServerForCLI(t)
	create := func(args string) (int, string) {
		code, _, errOut := run("recurring", "create", "nightly", "--spec", "0 2 * * *", "--tz", "Europe/Berlin", "--kind", builtin.KindWorkflowStart, "--args", args)
		return code, errOut
	}
	code, errOut := create(`{"name": "nightly", "steps": [{"name": "ping", "kind": "http.request", "args": {"url": "https://hooks.example.com/a"}, "depends_on": ["tell"]},
		{"name": "tell", "kind": "http.request", "args": {"url": "https://hooks.example.com/b"}, "depends_on": ["ping"]}]}`)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `The arguments of workflow.start are not valid: step "ping" is part of a cycle`)
	_, err := s.Recurring.GetRecurring(context.Background(), "nightly")
	require.Equal(t, models.ENOTFOUND, models.ErrorCode(err), "nothing is made")

	code, errOut = create(`{"name": "nightly", "steps": [{"name": "ping", "kind": "http.request", "args": {"url": "https://hooks.example.com/a"}}]}`)
	require.Equal(t, 0, code, errOut)
	rj, err := s.Recurring.GetRecurring(context.Background(), "nightly")
	require.NoError(t, err)
	require.Equal(t, builtin.KindWorkflowStart, rj.Kind)
}
