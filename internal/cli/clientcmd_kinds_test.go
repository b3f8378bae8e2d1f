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

// A kind no server registered, as the README's email.send is on a fresh server, is refused
// with the server's message and exit status 1, and nothing is made; --allow-unknown-kind takes
// it anyway. A kind another server registered is known.
func TestClientRefusesUnknownKinds(t *testing.T) {
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
	token, _, err := s.Tokens.CreateAPIToken(context.Background(), "cli", models.RoleAdmin, 0, "test")
	require.NoError(t, err)
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), append(args, "--server", ts.URL, "--token", token), strings.NewReader(""), &out, &errOut)
		return code, out.String(), errOut.String()
	}

	code, _, errOut := run("jobs", "enqueue", "email.send", "--args", `{"to":"ada@example.com"}`)
	require.Equal(t, 1, code, errOut)
	require.Contains(t, errOut, `The kind "email.send" is unknown. No server has registered this kind in the last 7 days`)
	require.Contains(t, errOut, "Known kinds: exec, http.request, jobs.cleanup.")
	require.Contains(t, errOut, "--allow-unknown-kind")
	require.Equal(t, 1, strings.Count(errOut, "Known kinds:"), "said once: %s", errOut)
	code, _, errOut = run("recurring", "create", "digest", "--spec", "@daily", "--kind", "email.send")
	require.Equal(t, 1, code, errOut)
	require.Contains(t, errOut, `The kind "email.send" is unknown`)
	n, err := s.JobQueries.CountJobs(context.Background(), models.JobFilter{})
	require.NoError(t, err)
	require.Zero(t, n, "nothing was made")
	_, err = s.Recurring.GetRecurring(context.Background(), "digest")
	require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))

	code, out, errOut := run("jobs", "enqueue", "email.send", "--args", `{"to":"ada@example.com"}`, "--allow-unknown-kind")
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, `^Enqueued job \d+ \(email.send\)`, out)
	code, out, errOut = run("recurring", "create", "digest", "--spec", "@daily", "--kind", "email.send", "--allow-unknown-kind")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Made digest: email.send runs")

	require.NoError(t, s.Servers.RecordKinds(context.Background(), []string{"pdf.render"})) // a worker elsewhere
	code, out, errOut = run("jobs", "enqueue", "pdf.render")
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, `^Enqueued job \d+ \(pdf.render\)`, out)
}
