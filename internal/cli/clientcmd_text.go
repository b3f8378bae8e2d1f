package cli

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/kilnhq/kiln/models"
)

// shown is text that came from job data (a log line, an error, arguments, a result, a name,
// a server's message) as the CLI prints it: every C0 control character but tab, DEL, every C1
// control and every bidi control is written as an escape (\n, \x1b, \u009b, \u202e), and a byte
// that isn't UTF-8 as \xNN. A job's program, or a server whose answer an http.request job
// logged, could otherwise move the operator's cursor, erase lines, retitle the window (ESC ],
// or its C1 form) or make a line read in another order than it is stored.
func shown(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, needsEscape) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !needsEscape(r): // one test for both paths: a tab is kept whatever the line holds
			b.WriteString(s[i : i+size])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += size
	}
	return b.String()
}

// needsEscape reports the characters shown escapes: all of C0 but tab, DEL, C1 and the bidi
// controls.
func needsEscape(r rune) bool {
	return (r < 0x20 && r != '\t') || (r >= 0x7f && r <= 0x9f) || models.IsBidiControl(r)
}

// shownLines is shown for text whose line breaks are its own, such as indented JSON: each
// line is escaped, the breaks between them are kept.
func shownLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = shown(l)
	}
	return strings.Join(lines, "\n")
}
