package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
	"github.com/kilnhq/kiln/web"
)

// hostile is what a job's program printed to take over the operator's terminal: move the
// cursor up, erase the line, retitle the window, and print in green.
const hostile = "ok\x1b[1A\x1b[2K\x1b]0;owned\x07\x1b[32mall good"

// requireNoTerminalControls fails when out holds a character a terminal acts on instead of
// showing: a C0 control but tab and newline, DEL, a C1 control, or a bidi control.
func requireNoTerminalControls(t *testing.T, out string) {
	t.Helper()
	for i, r := range out {
		if r == '\t' || r == '\n' {
			continue
		}
		require.False(t, r < 0x20 || (r >= 0x7f && r <= 0x9f) || models.IsBidiControl(r), "%U at byte %d of %q", r, i, out)
	}
}

// What came from job data (log lines, errors, arguments, results) reaches the terminal with its
// control and bidi characters escaped, as tables and as JSON.
func TestCLIEscapesTerminalControlsFromJobData(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	e, err := jobs.New(s, jobs.Config{NoWorkers: true})
	require.NoError(t, err)
	srv, err := web.New(web.Config{}, s, e, nil)
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	token, _, err := s.Tokens.CreateAPIToken(context.Background(), "cli", models.RoleViewer, 0, "test", "")
	require.NoError(t, err)
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), append(args, "--server", ts.URL, "--token", token), nil, &out, &errOut)
		return code, out.String(), errOut.String()
	}

	ctx := context.Background()
	j := &models.Job{Kind: "probe", Queue: "default", Args: `{"file":"photo_` + "\u202e" + `gpj.exe","c1":"` + "\u009b" + `2J"}`, MaxAttempts: 1,
		LastError: "boom " + hostile, Result: `{"out":"` + "\u202e" + `"}`}
	_, err = s.Jobs.InsertJobs(ctx, []*models.Job{j}, time.Now())
	require.NoError(t, err)
	require.NoError(t, s.Jobs.AppendJobLogs(ctx, []models.JobLog{
		{JobID: j.ID, Attempt: 1, At: time.Now(), Message: hostile},
		{JobID: j.ID, Attempt: 1, At: time.Now(), Message: "← 200 OK in 3ms, 9 bytes: \u202edlrow\u009b2J"},
	}))
	id := strconv.FormatInt(j.ID, 10)

	code, out, errOut := run("jobs", "show", id, "--logs")
	require.Equal(t, 0, code, errOut)
	requireNoTerminalControls(t, out)
	require.Contains(t, out, `ok\x1b[1A\x1b[2K\x1b]0;owned\x07\x1b[32mall good`, "shown, escaped")
	require.Contains(t, out, `\u202edlrow\u009b2J`)
	require.Contains(t, out, `photo_\u202egpj.exe`)
	require.Contains(t, out, `boom ok\x1b[1A`)

	code, out, errOut = run("jobs", "ls")
	require.Equal(t, 0, code, errOut)
	requireNoTerminalControls(t, out)
	require.Contains(t, out, `boom ok\x1b[1A`)

	code, out, errOut = run("jobs", "show", id, "--logs", "--json")
	require.Equal(t, 0, code, errOut)
	requireNoTerminalControls(t, out)
	require.Contains(t, out, `\u202egpj.exe`, "a JSON escape, still valid JSON")
	require.Contains(t, out, `\u001b[1A`)

	// A server's message is data too.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusConflict)
		detail, _ := json.Marshal("job is " + hostile)
		_, _ = w.Write([]byte(`{"title":"no","detail":` + string(detail) + `,"status":409}`))
	}))
	t.Cleanup(evil.Close)
	var outB, errB bytes.Buffer
	require.Equal(t, 1, Run(ctx, []string{"stats", "--server", evil.URL}, nil, &outB, &errB))
	requireNoTerminalControls(t, errB.String())
	require.Contains(t, errB.String(), `job is ok\x1b[1A`)
}

func TestShownEscapes(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, tabs\tkept, ünïcödé �": "plain text, tabs\tkept, ünïcödé �",
		"a\nb\r\x00\x1b\x7f":                `a\nb\r\x00\x1b\x7f`,
		"c1 \u0085 \u009b":                  `c1 \u0085 \u009b`,
		"bidi \u202e \u2066 \u200f \u061c":  `bidi \u202e \u2066 \u200f \u061c`,
		"not UTF-8 \xff\xc3":                `not UTF-8 \xff\xc3`,
		"a\tb\n":                            "a\tb\\n", // a tab is kept whatever else the line holds
	} {
		require.Equal(t, want, shown(in), "%q", in)
	}
	require.Equal(t, "{\n  \"a\": \"\\u202e\"\n}", shownLines("{\n  \"a\": \"\u202e\"\n}"), "JSON's own line breaks are kept")
}
