package authz_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/authz"
)

// TestReadmeTableIsTheTable: the README's Roles table lists every action of the table with its
// least role, and nothing else, so that the documentation can't drift from what is enforced.
func TestReadmeTableIsTheTable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	readme := string(b)
	start := strings.Index(readme, "\n### Roles\n")
	require.Positive(t, start, "the README has a Roles section")
	section := readme[start:]
	section = section[:strings.Index(section, "\n## ")]
	row := regexp.MustCompile("(?m)^\\| `([a-z_.]+)` \\| ([a-z]+) \\|")
	documented := map[authz.Action]authz.Role{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		documented[authz.Action(m[1])] = authz.Role(m[2])
	}
	want := map[authz.Action]authz.Role{}
	for _, a := range authz.Actions() {
		if a == authz.Read {
			continue // said in words: reading needs any role
		}
		want[a], _ = authz.Least(a)
	}
	require.Equal(t, want, documented)
}
