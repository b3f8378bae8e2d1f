package builtin

import (
	"context"
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// revealed is a revealer that has revealed every one of secrets.
func revealed(t testing.TB, secrets fixedSecrets) *revealer {
	t.Helper()
	rv := newRevealer(context.Background(), secrets)
	for name := range secrets {
		_, err := rv.expand("${secret:"+name+"}", nil)
		require.NoError(t, err)
	}
	return rv
}

// Each supported transform of a secret, between text put through the same transform, comes
// out as that text with the secret's mask between.
func TestMaskEachForm(t *testing.T) {
	const v = `K3y&"q'<+> é/?@%:x9`
	rv := revealed(t, fixedSecrets{"s": v})
	for _, tr := range maskTransforms {
		text, _ := tr.apply("pre ", v, " post")
		got := rv.mask(text)
		require.Contains(t, got, "${secret:s}", tr.name)
		if strings.HasPrefix(tr.name, "base64") {
			continue // TestMaskBase64 has their exact results
		}
		before, _ := tr.apply("pre ", "", "")
		after, _ := tr.apply("", "", " post")
		if tr.name == "od" {
			before += " " // the space before a byte is not part of the form
		}
		require.Equal(t, before+"${secret:s}"+after, got, tr.name)
	}
}

// Inside the base64 of a longer text, the secret starts at any of three places in a group of
// three bytes: its core is masked, and so are the characters either side that hold some of
// its bits, wherever it starts and whatever its length, in each alphabet, padded or not.
func TestMaskBase64(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 24))
	randomBytes := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return string(b)
	}
	for range 500 {
		v, prefix, suffix := randomBytes(4+r.IntN(40)), randomBytes(r.IntN(9)), randomBytes(r.IntN(9))
		rv := revealed(t, fixedSecrets{"s": v})
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			full := enc.EncodeToString([]byte(prefix + v + suffix))
			// The characters that hold any bit of v are masked; the others are kept.
			first, last := 8*len(prefix)/6, (8*(len(prefix)+len(v))+5)/6
			want := full[:first] + "${secret:s}" + full[last:]
			require.Equal(t, want, rv.mask(full), "prefix %q, v %q, suffix %q", prefix, v, suffix)
		}
	}
}

// A program's output goes through the window a line at a time: a line whose end may start a
// secret waits for the next; the lines come out one for one, in order.
func TestLineWindow(t *testing.T) {
	const v = "sk_test_51HxQ-0f9e8d7c"
	rv := revealed(t, fixedSecrets{"api": v})
	w := lineWindow{m: rv.currentMasker()}
	require.Equal(t, []string{"starting"}, w.push(heldLine{text: "starting"}))
	require.Empty(t, w.push(heldLine{text: "token: sk_te"}), "it may go on on the next line")
	require.Empty(t, w.push(heldLine{text: "st_51Hx"}))
	require.Equal(t, []string{"token: ${secret:api}", "", " done"}, w.push(heldLine{text: "Q-0f9e8d7c done"}))
	require.Empty(t, w.push(heldLine{text: "ends with sk"}))
	require.Equal(t, []string{"ends with sk"}, w.flush(), "it didn't go on: the line is as it was")

	// Folded base64, as base64 -w 8 writes it: the core and its edge characters are masked.
	enc := base64.StdEncoding.EncodeToString([]byte("a" + v + "!"))
	var out []string
	for i := 0; i < len(enc); i += 8 {
		out = append(out, w.push(heldLine{text: enc[i:min(i+8, len(enc))]})...)
	}
	out = append(out, w.flush()...)
	require.Len(t, out, len(enc)/8)
	require.Equal(t, "Y${secret:api}\n\n\n"+enc[31:], strings.Join(out, "\n"), "of %s, characters 1 to 30 hold bits of the secret", enc)

	// A very long line is cut after execMaxLine bytes, masked first: the secret the cut falls
	// in is masked whole; one that starts past the cut and goes on into the next line is
	// not shown in either.
	long := strings.Repeat("x", execMaxLine-4) + v + strings.Repeat("y", 1000)
	require.Equal(t, []string{strings.Repeat("x", execMaxLine-4) + "${secret:api}…"}, w.push(heldLine{text: long[:execMaxLine+rv.lookahead()+1], cut: true}))
	require.Empty(t, w.push(heldLine{text: strings.Repeat("y", 50) + v[:9], hidden: true}))
	require.Equal(t, []string{" next"}, w.push(heldLine{text: v[9:] + " next"}))

	// A line that ends with a whole secret, that no form goes on from, comes out at once.
	pw := lineWindow{m: revealed(t, fixedSecrets{"pw": "hunter22"}).currentMasker()}
	require.Equal(t, []string{"password=${secret:pw}"}, pw.push(heldLine{text: "password=hunter22"}))

	// No secret revealed: every line comes out at once.
	plain := lineWindow{m: newRevealer(context.Background(), nil).currentMasker()}
	require.Equal(t, []string{"sk_te"}, plain.push(heldLine{text: "sk_te"}))
}

// maskCut masks a body, then cuts it: never inside a secret or its mask; what may be the start
// of a secret at the end of a body read in part is left out.
func TestMaskCut(t *testing.T) {
	const v = "sk_test_51HxQ-0f9e8d7c"
	rv := revealed(t, fixedSecrets{"api": v})
	for _, tc := range []struct {
		body  string
		whole bool
		n     int
		want  string
		cut   bool
	}{
		{"a " + v + " b", true, 100, "a ${secret:api} b", false},
		{"a " + v + " b", true, 17, "a ${secret:api} b", false}, // just fits
		{"a " + v + " b", true, 16, "a ${secret:api} ", true},
		{"a " + v + " b", true, 10, "a ", true},
		{"a " + v + " b", true, 15, "a ${secret:api}", true},
		{"a " + v + " !", false, 100, "a ${secret:api} !", true},
		{"a " + v + " b", false, 100, "a ${secret:api} ", true}, // b may hold bits of a base64 core to come
		{"a " + v[:10], false, 100, "a ", true},                 // the rest of the body may complete it
		{"a " + v[:10], true, 100, "a " + v[:10], false},
		{"é" + v, true, 1, "", true},
	} {
		got, cut := rv.maskCut(tc.body, tc.whole, tc.n)
		require.Equal(t, tc.want, got, "%+v", tc)
		require.Equal(t, tc.cut, cut, "%+v", tc)
		// Read whole, a body is cut when its masked text is shortened; read in part, it always
		// is (the rest was not read), and what is kept is the start of the part masked whole.
		full := rv.mask(tc.body)
		require.True(t, strings.HasPrefix(full, got), "%+v: %q is not the start of %q", tc, got, full)
		require.Equal(t, !tc.whole || got != full, cut, "%+v", tc)
	}
}

// A string built with a secret doesn't stretch the lookahead (how far text cut into pieces must
// overlap): the values' forms find the secret in any echo of it. A long one (a request body, a
// program's stdin) isn't looked for as a whole at all. A 200 KB body made the lookahead 2.68 MB
// and the automaton 1.5M states.
func TestBuiltStringsAddNoLookahead(t *testing.T) {
	const v = "sk_test_51HxQ-0f9e8d7c"
	alone := revealed(t, fixedSecrets{"api": v})
	rv := revealed(t, fixedSecrets{"api": v})
	filler := strings.Repeat("lorem ipsum ", 200<<10/12)
	body, err := rv.expand(filler+"${secret:api}", nil)
	require.NoError(t, err)
	require.Equal(t, alone.lookahead(), rv.lookahead())
	require.Len(t, rv.currentMasker().out, len(alone.currentMasker().out), "states")
	require.Equal(t, filler+"${secret:api}", rv.mask(body), "masked value by value")

	// A URL of 1 KB is looked for as a whole, by its template, but adds no lookahead either.
	query := strings.Repeat("&a=b", 250)
	url, err := rv.expand("https://example.com/?k=${secret:api}"+query, nil)
	require.NoError(t, err)
	echo := base64.RawStdEncoding.EncodeToString([]byte(url))
	require.Equal(t, "https://example.com/?k=${secret:api}"+query, rv.mask(echo), "masked by its template")
	require.Equal(t, alone.lookahead(), rv.lookahead())
}
