package cli

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every curl in the README that sends a body says it is JSON: the API answers 415 to a body
// without Content-Type: application/json, as two examples once did.
func TestReadmeCurlsSendJSON(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```(?:sh|bash|console)\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	require.NotEmpty(t, blocks)
	sent := 0
	for _, b := range blocks {
		// A command runs on until a line that doesn't end in a backslash or inside an open quote.
		text := strings.ReplaceAll(b[1], "\\\n", " ")
		for _, cmd := range regexp.MustCompile(`(?m)^\s*curl\b[^\n]*(?:\n\s+[^\n]*)*`).FindAllString(text, -1) {
			if !regexp.MustCompile(`\s(-d|--data\S*)\s`).MatchString(cmd) {
				continue
			}
			sent++
			require.Contains(t, cmd, "Content-Type: application/json", "this README command sends a body that is not marked JSON:\n%s", cmd)
		}
	}
	require.GreaterOrEqual(t, sent, 3, "the README's curls with a body were found")
}
