// Package textcut cuts text to a length: the one place the rune boundary rule is written, for
// the engine (a recurring entry's author) and the built-in kinds (logs, results, shown bodies).
package textcut

import "unicode/utf8"

// Truncate cuts s to at most n bytes, on a rune boundary.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// TrimPartialRune drops an incomplete UTF-8 character at the end of s (where a cut fell). Unlike
// Truncate, it keeps every other byte: a body that isn't UTF-8 is kept as it is.
func TrimPartialRune(s string) string {
	for i := 1; i <= utf8.UTFMax && i <= len(s); i++ {
		if !utf8.RuneStart(s[len(s)-i]) {
			continue
		}
		if !utf8.FullRuneInString(s[len(s)-i:]) {
			return s[:len(s)-i]
		}
		break
	}
	return s
}
