package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// kiln workflows run starts a workflow from a YAML or JSON file, and show shows the run; a file
// that is not a workflow is a usage error (exit 2) naming what is wrong, and a graph the server
// refuses exits 1 with its message.
func TestWorkflowsCommand(t *testing.T) {
	_, run := apiServerForCLI(t)
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	yml := file("diamond.yaml", `name: diamond
steps:
  - {name: a, kind: http.request, args: {url: "https://hooks.example.com/a"}}
  - {name: b, kind: http.request, args: {url: "https://hooks.example.com/b"}, depends_on: [a]}
  - {name: c, kind: http.request, args: {url: "https://hooks.example.com/c"}, depends_on: [a]}
  - name: d
    kind: http.request
    args: {url: "https://hooks.example.com/d"}
    depends_on: [b, c]
    on: finished
`)
	code, out, errOut := run("workflows", "run", yml)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Workflow 1, diamond: running, 0 of 4 steps done.")
	require.Regexp(t, `(?m)^d\s+\d+\s+awaiting\s+b, c$`, out)

	code, out, errOut = run("workflows", "show", "1", "--json")
	require.Equal(t, 0, code, errOut)
	var wf struct {
		Name  string
		Steps []struct{ Name, State string }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &wf))
	require.Equal(t, "diamond", wf.Name)
	require.Len(t, wf.Steps, 4)
	require.Equal(t, "enqueued", wf.Steps[0].State)

	fan := file("fan.yaml", `name: hooks
steps:
  - {name: list, kind: http.request, args: {url: "https://hooks.example.com/list"}}
  - name: each
    kind: http.request
    for_each: [a, b, c]
    args: {url: "https://hooks.example.com/${item}", headers: {X-From: "${steps.list.result.status}"}}
    depends_on: [list]
  - {name: ping, kind: http.request, for_each: [x, y], args: {url: "https://hooks.example.com/ping/${item}"}}
`)
	code, out, errOut = run("workflows", "run", fan)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "0 of 6 steps done", "a job per item")
	require.Regexp(t, `(?m)^ping\s+\d+…\s+2 enqueued of 2 items\s+-$`, out, "a fan-out made at once is one line")
	require.Regexp(t, `(?m)^each\s+\d+\s+awaiting \(3 items to come\)\s+list$`, out, "a fan-out is one job until list ends")
	code, out, errOut = run("workflows", "show", "2")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, 1, strings.Count(out, "\neach "))

	js := file("one.json", `{"name":"one","steps":[{"name":"only","kind":"http.request","args":{"url":"https://hooks.example.com/x"}}]}`)
	code, out, errOut = run("workflows", "run", js)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Workflow 3, one")

	for name, tc := range map[string]struct {
		body string
		code int
		says string
	}{
		"not yaml":      {"name: [unclosed", 2, "is neither JSON nor YAML"},
		"unknown field": {"name: x\nsteps:\n  - {name: a, kind: http.request, dependson: [b]}\n", 2, `unknown field "dependson"`},
		"a cycle": {"name: x\nsteps:\n  - {name: a, kind: http.request, args: {url: \"https://h.example.com\"}, depends_on: [b]}\n" +
			"  - {name: b, kind: http.request, args: {url: \"https://h.example.com\"}, depends_on: [a]}\n", 1, "part of a cycle"},
	} {
		code, _, errOut := run("workflows", "run", file(strings.ReplaceAll(name, " ", "-")+".yaml", tc.body))
		require.Equal(t, tc.code, code, "%s: %s", name, errOut)
		require.Contains(t, errOut, tc.says, name)
	}
	code, _, errOut = run("workflows", "run", filepath.Join(dir, "missing.yaml"))
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "no such file")
	code, _, _ = run("workflows", "show", "first")
	require.Equal(t, 2, code)

	code, out, errOut = run("workflows", "cancel", "1")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Workflow 1, diamond: cancelled")
	code, _, errOut = run("workflows", "cancel", "1")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "already cancelled")
	code, out, errOut = run("workflows", "retry", "1")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Workflow 1, diamond: running")
}
