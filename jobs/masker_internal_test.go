package jobs

import (
	"context"
	"encoding/base64"
	"math/rand/v2"
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
		{"a " + v + " b", true, 10, "a ", true},
		{"a " + v + " b", true, 15, "a ${secret:api}", true},
		{"a " + v + " b", false, 100, "a ${secret:api} b", true},
		{"a " + v[:10], false, 100, "a ", true}, // the rest of the body may complete it
		{"a " + v[:10], true, 100, "a " + v[:10], false},
		{"é" + v, true, 1, "", true},
	} {
		got, cut := rv.maskCut(tc.body, tc.whole, tc.n)
		require.Equal(t, tc.want, got, "%+v", tc)
		require.Equal(t, tc.cut, cut, "%+v", tc)
	}
}
