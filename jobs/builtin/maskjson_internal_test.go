package builtin

import (
	"encoding/base64"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// What JSON reads: each escape as what it stands for, in either case of hex digit and letter,
// across line breaks; an escaped backslash as \\; what isn't an escape as it is.
func TestJSONReading(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{`wJalrXUtnFEMI\/K7MDENG\u002BbP`, "wjalrxutnfemi/k7mdeng+bp"},
		{`\u00e9\u00E9\U00C9`, "ééÉ"},
		{`\ud83d\ude00 \uD83D\uDE00`, "😀 😀"},
		{`\udcff \ud83d. \ud83dx`, "\uFFFD \uFFFD. \uFFFDx"}, // lone surrogates
		{`\" \b\f\n\r\t \N`, "\" \b\f\n\r\t \n"},
		{`a\\ \u005c \u005C"`, `a\\ \\ \\"`},
		{`\\\/ \\/ \\\\n`, `\\/ \\/ \\\\n`},
		{`C:\temp \x \u00zz \`, "c:\temp \\x \\u00zz \\"},
		{"\\u0\r\n02\nB \\\n/ x\r\ny", "+ / xy"}, // a line break anywhere
	} {
		require.Equal(t, tc.want, jsonReading(tc.text), "%q", tc.text)
	}
}

// Whatever encoder writes a string, and in whichever case its hex digits are, JSON reads it as
// it reads Go's writing of it; and as the string itself (normalize), where withJSON says so.
func TestJSONReadingOfEncoders(t *testing.T) {
	r := rand.New(rand.NewPCG(24, 2))
	chars := []rune("aZ09/+=&'\"<>`\\\x00\x01\x1f\x7f\b\f\n\r\t é中😀\u2028\uFFFD")
	upperHex := regexp.MustCompile(`\\u[0-9a-fA-F]{4}`)
	for range 2000 {
		var b strings.Builder
		for range 1 + r.IntN(12) {
			b.WriteRune(chars[r.IntN(len(chars))])
		}
		s := b.String()
		want := jsonReading(jsonEscape(s))
		for _, e := range jsonEncoders {
			written := e.encode(s)
			require.Equal(t, want, jsonReading(written), "%s: %q as %s", e.name, s, written)
			require.Equal(t, want, jsonReading(upperHex.ReplaceAllStringFunc(written, strings.ToUpper)), "%s: %q", e.name, s)
		}
		if !strings.ContainsAny(s, "\\\r\n") {
			require.Equal(t, normalize(s), want, "%q", s)
		}
	}
}

// Text read as JSON is masked in its escapes and around them, as much as text read as is: a
// value beside a backslash that isn't JSON's, or one that ends in a backslash; a base64 core
// whose edge characters are escaped; and what an escape cut short by the end may still be.
func TestMaskJSON(t *testing.T) {
	rv := revealed(t, fixedSecrets{"aws": awsKey, "n": "new-secret-1", "bs": `p4ss\`})
	for text, want := range map[string]string{
		`{"php":"wJalrXUtnFEMI\/K7MDENG+bPxRfiCYEXAMPLEKEY","dotnet":"wJalrXUtnFEMI/K7MDENG\u002BbPxRfiCYEXAMPLEKEY"}`: `{"php":"${secret:aws}","dotnet":"${secret:aws}"}`,
		`wJalrXUtnFEMI\/K7MDENG\u002b` + "\n" + `bPxRfiCYEXAMPLEKEY`:                                                   "${secret:aws}\n",
		`C:\new-secret-1 \\new-secret-1 \u00e9\new-secret-1`:                                                           `C:\${secret:n} \\${secret:n} \u00e9\${secret:n}`,
		`{"a":"p4ss\\","b":"p4ss\\\/","c":"p4ss\u005c"}`:                                                               `{"a":"${secret:bs}","b":"${secret:bs}\/","c":"${secret:bs}"}`,
	} {
		require.Equal(t, want, rv.mask(text), "%s", text)
	}

	// Inside PHP's and .NET's JSON, a base64 core's edge characters are masked with it, escaped.
	full := base64.StdEncoding.EncodeToString([]byte("a" + awsKey + "!?")) // the core starts after 1 byte
	first, last := 1, (8*(1+len(awsKey))+5)/6
	for _, e := range jsonEncoders[:2] {
		require.Equal(t, e.encode(full[:first])+"${secret:aws}"+e.encode(full[last:]), rv.mask(e.encode(full)), e.name)
	}

	// An escape cut short at the end of a body read in part may be a character of a value, or
	// the character before a base64 core: it is held back. A whole one is, when it stands for a
	// base64 character.
	for _, tc := range []struct{ body, want string }{
		{`"wJalrXUtnFEMI\u00`, `"`},
		{`"wJalrXUtnFEMI\`, `"`},
		{`"x.\u00`, `"x.`},
		{`"x.\ud83d`, `"x.`},
		{`"x.\u0041`, `"x.`},
		{`"x.\u002e`, `"x.\u002e`},
		{`"x.\u00e9`, `"x.\u00e9`},
		{`"x.\u00e9\\`, `"x.\u00e9\\`},
	} {
		got, _ := rv.maskCut(tc.body, false, 100) // read in part: always cut
		require.Equal(t, tc.want, got, tc.body)
		// Read whole, the same body is held back nowhere: the escape is all there is.
		got, cut := rv.maskCut(tc.body, true, 100)
		require.Equal(t, rv.mask(tc.body), got, tc.body)
		require.False(t, cut, tc.body)
	}
}
