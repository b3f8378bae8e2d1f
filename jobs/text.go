package jobs

import "unicode/utf8"

// Cutting text to a length: the one place the rune boundary rule is written.

// truncateText cuts s to at most n bytes, on a rune boundary.
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// trimPartialRune drops an incomplete UTF-8 character at the end of s (where a cut fell). Unlike
// truncateText, it keeps every other byte: a body that isn't UTF-8 is kept as it is.
func trimPartialRune(s string) string {
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
