package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
)

// A kind no server registered, as the README's email.send is on a fresh server, is refused
// with the server's message and exit status 1, and nothing is made; --allow-unknown-kind takes
// it anyway. A kind another server registered is known.
func TestClientRefusesUnknownKinds(t *testing.T) {
	s, run := apiServerForCLI(t)

	code, _, errOut := run("jobs", "enqueue", "email.send", "--args", `{"to":"ada@example.com"}`)
	require.Equal(t, 1, code, errOut)
	require.Contains(t, errOut, `The kind "email.send" is unknown. No server has registered this kind in the last 7 days`)
	require.Contains(t, errOut, "Known kinds: exec, http.request, jobs.cleanup, workflow.start.")
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
