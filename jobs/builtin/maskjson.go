package builtin

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Reading text as JSON. Inside a JSON string, each encoder escapes a value its own way by
// default: PHP writes / as \/ and every character beyond ASCII as \u00e9, .NET writes + ' & < >
// ` " as \u002B..., Python and Gson have their own sets, in lower or upper case hex. A form per
// encoder would miss their options and their combinations with the other forms (base64's / and
// +, an HTML-escaped value's &). So the masker reads text a second time the way a JSON decoder
// does, each escape as the character it stands for, and looks there for each form as a JSON
// string holds it (jsonReading): one pattern stands for every encoder's writing of it.

// jsonEscapes are the escapes of one letter and what they stand for (\\ and \u aside).
var jsonEscapes = [256]byte{'"': '"', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// jsonChar reads the character at s[i] (not a line break) as JSON does, with line breaks
// skipped inside an escape and ASCII letters read as lower case: what it stands for, in out[:n],
// and where the next one starts. A backslash stands for itself when no escape follows; an
// escaped backslash is read as \\, as written (so that a backslash written as is stays apart
// from one escaped); a lone surrogate as U+FFFD. partial: s ends inside an escape (or after
// the first half of a surrogate pair), which more text may complete.
func jsonChar(s string, i int, out *[4]byte) (n, next int, partial bool) {
	if s[i] != '\\' {
		out[0] = lowerASCII[s[i]]
		return 1, i + 1, false
	}
	j := nextChar(s, i+1)
	if j < 0 {
		return 0, 0, true
	}
	switch c := lowerASCII[s[j]]; {
	case c == '\\':
		out[0], out[1] = '\\', '\\'
		return 2, j + 1, false
	case jsonEscapes[c] != 0:
		out[0] = jsonEscapes[c]
		return 1, j + 1, false
	case c == 'u':
		r, k, ok, partial := hex4(s, j+1)
		if partial {
			return 0, 0, true
		}
		if !ok {
			break
		}
		switch {
		case r == '\\':
			out[0], out[1] = '\\', '\\'
			return 2, k, false
		case utf16.IsSurrogate(r):
			var lo rune
			var after int
			lo, after, ok, partial = uEscape(s, k)
			if partial && r < 0xdc00 {
				return 0, 0, true
			}
			if r2 := utf16.DecodeRune(r, lo); ok && r2 != utf8.RuneError {
				r, k = r2, after
			} else {
				r = utf8.RuneError
			}
		}
		n = utf8.EncodeRune(out[:], r)
		out[0] = lowerASCII[out[0]]
		return n, k, false
	}
	out[0] = '\\'
	return 1, i + 1, false
}

// uEscape reads a \uXXXX escape at s[i] (line breaks aside): the code unit and where what
// follows starts.
func uEscape(s string, i int) (r rune, next int, ok, partial bool) {
	j := nextChar(s, i)
	if j < 0 {
		return 0, 0, false, true
	}
	if s[j] != '\\' {
		return 0, 0, false, false
	}
	if j = nextChar(s, j+1); j < 0 {
		return 0, 0, false, true
	}
	if lowerASCII[s[j]] != 'u' {
		return 0, 0, false, false
	}
	return hex4(s, j+1)
}

// hex4 reads four hex digits, in either case, from s[i] on (line breaks aside): their value
// and where what follows starts.
func hex4(s string, i int) (r rune, next int, ok, partial bool) {
	for range 4 {
		j := nextChar(s, i)
		if j < 0 {
			return 0, 0, false, true
		}
		c := lowerASCII[s[j]]
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		default:
			return 0, 0, false, false
		}
		i = j + 1
	}
	return r, i, true, false
}

// jsonReading is text as the masker reads it as JSON: the pattern of a form that is a JSON
// string's inside.
func jsonReading(text string) string {
	b := make([]byte, 0, len(text))
	var out [4]byte
	for i := 0; i < len(text); {
		if c := text[i]; c == '\r' || c == '\n' {
			i++
			continue
		}
		n, next, partial := jsonChar(text, i, &out)
		if partial { // the end of a form: no more text will complete it
			n, next, out[0] = 1, i+1, '\\'
		}
		b = append(b, out[:n]...)
		i = next
	}
	return string(b)
}

// scanJSON is scan over s read as JSON: it adds the forms found there to hits, and moves hold
// back to where a form may start that more text could complete, or an escape that it could.
// Only a form read through an escape is new here (the plain reading finds the others), so the
// scan skips to within m.deepest bytes of the next backslash whenever it is at the root.
func (m *masker) scanJSON(s string, hits []hit, hold int) ([]hit, int) {
	// from is where in s each byte read came from (an escape's backslash), by its count modulo
	// a power of two longer than any form.
	size := 1
	for size <= min(m.deepest, len(s)) {
		size <<= 1
	}
	from, ring := make([]int32, size), size-1
	read, state, backslash := 0, int32(0), -1
	var out [4]byte
scan:
	for i := 0; i < len(s); {
		if state == 0 {
			if backslash < i {
				j := strings.IndexByte(s[i:], '\\')
				if j < 0 {
					break scan
				}
				backslash = i + j
				if j > m.deepest {
					i = max(i, back(s, backslash-1, m.deepest))
				}
			}
			for i < backslash && m.root[lowerASCII[s[i]]] == 0 {
				i++
			}
		}
		n, next := 1, i+1
		switch c := s[i]; c {
		case '\r', '\n':
			i++
			continue
		case '\\':
			var partial bool
			if n, next, partial = jsonChar(s, i, &out); partial {
				hold = min(hold, i)
				break scan
			}
		default:
			out[0] = lowerASCII[c]
		}
		for _, c := range out[:n] {
			from[read&ring] = int32(i)
			read++
			state = m.step(state, c)
			for p := range m.ending(state) {
				hits = append(hits, hit{start: int(from[(read-m.patterns[p].n)&ring]), end: next, pattern: p})
			}
		}
		i = next
	}
	if d := int(m.open[state]); d > 0 {
		hold = min(hold, int(from[(read-d)&ring]))
	}
	return hits, hold
}

// escapeBefore is where the JSON escape that ends at s[i] starts, when there is one on the same
// line, and the character it stands for (0 for one beyond ASCII, or \\).
func escapeBefore(s string, i int) (start int, c byte, ok bool) {
	if i == 0 || s[i-1] == '\r' || s[i-1] == '\n' {
		return 0, 0, false
	}
	// An escape's only backslash is its first byte, at most 6 bytes back (of a surrogate pair,
	// the second half's: read alone, it stands for U+FFFD, not ASCII either).
	k, seen := i-1, 0
	for ; k >= 0 && s[k] != '\\'; k-- {
		if s[k] != '\r' && s[k] != '\n' {
			if seen++; seen == 6 {
				return 0, 0, false
			}
		}
	}
	if k < 0 {
		return 0, 0, false
	}
	var out [4]byte
	if n, next, partial := jsonChar(s, k, &out); startsEscape(s, k) && !partial && next == i && next > k+1 {
		if n == 1 {
			return k, out[0], true
		}
		return k, 0, true
	}
	return 0, 0, false
}

// escapedBase64At is where the JSON escape at s[j] ends, when it stands for a base64
// character; partial: s ends inside it.
func escapedBase64At(s string, j int) (end int, ok, partial bool) {
	var out [4]byte
	n, next, partial := jsonChar(s, j, &out)
	if partial {
		return 0, false, true
	}
	return next, n == 1 && next > j+1 && base64Chars[out[0]], false
}

// escapeAround is where the JSON escape that s[i] is inside of starts; i when it is inside
// none. Text read from inside an escape would be read otherwise than with it.
func escapeAround(s string, i int) int {
	start := i
	var out [4]byte
	// An escape has at most 12 bytes (a surrogate pair), and a backslash only first (of each
	// half, for a pair): the farthest one back whose reading goes past i starts it.
	for k, seen := i-1, 0; k >= 0 && seen < 11; k-- {
		switch s[k] {
		case '\r', '\n':
			continue
		case '\\':
			if _, next, partial := jsonChar(s, k, &out); startsEscape(s, k) && !partial && next > i {
				start = k
			}
		}
		seen++
	}
	return start
}

// startsEscape reports whether the backslash at s[k] is read as the start of an escape: after an
// even run of backslashes (line breaks aside), each two an escaped one, it is.
func startsEscape(s string, k int) bool {
	run := 0
	for b := k - 1; b >= 0 && (s[b] == '\\' || s[b] == '\r' || s[b] == '\n'); b-- {
		if s[b] == '\\' {
			run++
		}
	}
	return run%2 == 0
}
