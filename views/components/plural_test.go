package components

import "testing"

func TestPlural(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{Plural(1, "attempt", "attempts"), "1 attempt"},
		{Plural(0, "attempt", "attempts"), "0 attempts"},
		{Plural(int64(3), "attempt", "attempts"), "3 attempts"},
		{Plural(1, "older entry is", "older entries are"), "1 older entry is"},
		{Plural(2, "older entry is", "older entries are"), "2 older entries are"},
		{Noun(1, "job", "jobs"), "job"},
		{Noun(int64(0), "job", "jobs"), "jobs"},
		{FormatBytes(1), "1 byte"},
		{FormatBytes(900), "900 bytes"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
