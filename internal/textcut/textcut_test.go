package textcut

import "testing"

// A cut inside a character is trimmed; a whole character is kept.
func TestTrimPartialRune(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"abc", "abc"}, {"ab\xc3", "ab"}, {"abé", "abé"}, {"a\xe2\x82", "a"}, {"a€", "a€"}, {"\xff", "\xff"},
	} {
		if got := TrimPartialRune(tc.in); got != tc.want {
			t.Errorf("TrimPartialRune(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
