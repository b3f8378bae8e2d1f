package jobs

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

// decoderDepth is how deeply the valid JSON in b nests, by a json.Decoder's tokens: the slow,
// obvious measure nestsDeeper is held to.
func decoderDepth(t *testing.T, b []byte) int {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber() // valid JSON may hold a number no float64 holds (1e400)
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return deepest
		}
		if err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		switch tok {
		case json.Delim('['), json.Delim('{'):
			depth++
			deepest = max(deepest, depth)
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
	}
}

func TestNestsDeeper(t *testing.T) {
	for _, tc := range []struct {
		json  string
		depth int
	}{
		{`0`, 0}, {`"[[["`, 0}, {`[]`, 1}, {`{"a":[{}]}`, 3}, {`["\"[", "\\", [["]"]]]`, 3},
		{`{"[{":"}]","b":{"c":[1,[2]]}}`, 4}, {strings.Repeat("[", 64) + strings.Repeat("]", 64), 64},
	} {
		require := func(cond bool, limit int) {
			t.Helper()
			if !cond {
				t.Errorf("nestsDeeper(%s, %d) is wrong: it nests %d deep", tc.json, limit, tc.depth)
			}
		}
		if got := decoderDepth(t, []byte(tc.json)); got != tc.depth {
			t.Fatalf("%s nests %d deep, not %d", tc.json, got, tc.depth)
		}
		require(!nestsDeeper([]byte(tc.json), tc.depth), tc.depth)
		if tc.depth > 0 {
			require(nestsDeeper([]byte(tc.json), tc.depth-1), tc.depth-1)
		}
	}
}

// FuzzNestsDeeper: on any valid JSON, the byte scan agrees with a json.Decoder's tokens.
func FuzzNestsDeeper(f *testing.F) {
	for _, s := range []string{`[]`, `{"a":[{}]}`, `["\"[", "\\", [["]"]]]`, `{"[{":"}]"}`, `"\u005b"`, `[[[[1]],[[2,[3]]]]]`} {
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, s string, limit int) {
		if !json.Valid([]byte(s)) || limit < 0 {
			return
		}
		if got, want := nestsDeeper([]byte(s), limit), decoderDepth(t, []byte(s)) > limit; got != want {
			t.Fatalf("nestsDeeper(%q, %d) = %v, want %v", s, limit, got, want)
		}
	})
}
