//go:build unix

package builtin_test

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// phpScript and dotnetScript write $K inside JSON as PHP's json_encode and .NET's
// System.Text.Json do by default, folded so that escapes are cut by line breaks.
const (
	phpScript    = `{ printf '{"k":"'; printf %s "$K" | sed -e 's,",\\",g; s,/,\\/,g; s,é,\\u00e9,g'; printf '"}'; } | fold -w 7; echo`
	dotnetScript = `printf %s "$K" | sed -e 's,&,\\u0026,g; s,",\\u0022,g; s,'"'"',\\u0027,g; s,+,\\u002B,g; s,<,\\u003C,g; s,>,\\u003E,g; s,é,\\u00E9,g' | fold -w 5; echo`
)

// A program that prints its secret encoded, folded or in upper case (with the coreutils every
// Debian has), or JSON-escaped as PHP and .NET do by default (with sed), sees it masked in the
// log and the result, across the lines it is spread over. Every line is still there, in order.
func TestExecMasksEveryForm(t *testing.T) {
	sh := shell(t)
	const key = awkwardKey + "-" + apiKey
	forms := append([]string{key, hex.EncodeToString([]byte(key)), fmt.Sprintf("% x", key)}, builtin.Base64Cores(key)...)
	php, dotnet := builtin.JSONEncoders()[0], builtin.JSONEncoders()[1]
	forms = append(forms, php.Encode(key), dotnet.Encode(key))
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		e := newEngine(t, s, fast())
		require.NoError(t, builtin.Register(e, s.Jobs, builtin.Config{ExecAllow: []string{sh}, ExecAllowEnv: []string{"K"}, ExecGrace: 300 * time.Millisecond,
			Secrets: mapSecrets{"key": key}}))
		start(t, e)
		for _, script := range []string{
			`printf %s "$K" | od -An -tx1 -v`,
			`printf %s "$K" | basenc --base16`,
			`printf %s "$K" | basenc --base16 -w 0 | fold -w 7`,
			`printf 'ab%s%s' "$K" "$K" | base64 -w 40`,
			`printf 'a%s' "$K" | base64 -w 0; echo`,
			`printf %s "$K" | basenc --base64url -w 13`,
			`printf 'before %s after\n' "$K" | fold -w 7`,
			`printf 'before %s after\n' "$K" | tr a-z A-Z`,
			`printf '%s\r\n' "$K" | fold -w 5 >&2`,
			phpScript,
			dotnetScript,
		} {
			cmd := exec.Command(sh, "-c", script)
			cmd.Env = append(os.Environ(), "K="+key)
			raw, err := cmd.CombinedOutput()
			require.NoError(t, err, script)
			switch script { // the escaping is PHP's and .NET's, so that the test can fail
			case phpScript:
				require.Contains(t, strings.ReplaceAll(string(raw), "\n", ""), php.Encode(key))
			case dotnetScript:
				require.Contains(t, strings.ReplaceAll(string(raw), "\n", ""), dotnet.Encode(key))
			}
			rawLines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")

			job, err := e.Enqueue(ctx, builtin.KindExec, builtin.ExecArgs{Command: []string{sh, "-c", script}, Env: map[string]string{"K": "${secret:key}"}})
			require.NoError(t, err)
			done := waitState(t, s, job.ID, models.JobSucceeded)
			lines := logLines(t, s, job.ID)
			out := strings.Join(lines[1:len(lines)-1], "\n") // the command and the exit aside
			out = strings.ReplaceAll("\n"+out, "\nstderr: ", "\n")
			require.Contains(t, out, "${secret:key}", script)
			var res builtin.ExecResult
			require.NoError(t, json.Unmarshal([]byte(done.Result), &res))
			require.Equal(t, len(rawLines), res.Lines, script)
			require.Len(t, lines, len(rawLines)+2, script)
			for _, form := range forms {
				requireMasked(t, out, form, "%s: %s", script, out)
				requireMasked(t, strings.Join(res.Tail, "\n"), form, script)
			}
		}
	})
}
