package builtin

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// maskTransform is a way a program may write a secret that masking recognises.
type maskTransform struct {
	name string
	// apply writes prefix, v and suffix as the program would: a transform that works a
	// character at a time on each part, an encoding on the whole. form is what then stands
	// for v in the text.
	apply func(prefix, v, suffix string) (text, form string)
	// json: text is a JSON string's inside, and form is looked for as JSON reads it (a form's
	// text may also show where JSON reads escapes otherwise: \u0000\ufffd holds 000\ufffd).
	json bool
}

// charwise is a transform applied to each part of the text.
func charwise(name string, f func(string) string) maskTransform {
	return maskTransform{name: name, apply: func(prefix, v, suffix string) (string, string) {
		return f(prefix) + f(v) + f(suffix), f(v)
	}}
}

// jsonTransform is charwise for a way of writing a JSON string's inside.
func jsonTransform(name string, f func(string) string) maskTransform {
	tr := charwise(name, f)
	tr.json = true
	return tr
}

// base64Core is what only v's bytes decide of enc's encoding of prefix+v+suffix: the
// characters wholly within v's bits.
func base64Core(enc *base64.Encoding, prefix, v string) string {
	full := enc.EncodeToString([]byte(prefix + v))
	return full[(8*len(prefix)+5)/6 : 8*(len(prefix)+len(v))/6]
}

func base64Transform(name string, enc, raw *base64.Encoding) maskTransform {
	return maskTransform{name: name, apply: func(prefix, v, suffix string) (string, string) {
		return enc.EncodeToString([]byte(prefix + v + suffix)), base64Core(raw, prefix, v)
	}}
}

// mixedCase turns every other ASCII letter's case.
func mixedCase(s string) string {
	b := []byte(s)
	for i, c := range b {
		if i%2 == 0 && 'a' <= c && c <= 'z' || i%2 == 1 && 'A' <= c && c <= 'Z' {
			b[i] ^= 0x20
		}
	}
	return string(b)
}

var maskTransforms = append([]maskTransform{
	charwise("as is", func(s string) string { return s }),
	charwise("upper case", strings.ToUpper),
	charwise("lower case", strings.ToLower),
	charwise("mixed case", mixedCase),
	charwise("hex", func(s string) string { return hex.EncodeToString([]byte(s)) }),
	charwise("HEX", func(s string) string { return strings.ToUpper(hex.EncodeToString([]byte(s))) }),
	charwise("od", func(s string) string {
		if s == "" {
			return ""
		}
		return " " + fmt.Sprintf("% x", s)
	}),
	charwise("query-escaped", url.QueryEscape),
	charwise("path-escaped", url.PathEscape),
	charwise("user info", func(s string) string { return url.User(s).String() }),
	charwise("query-escaped twice", func(s string) string { return url.QueryEscape(url.QueryEscape(s)) }),
	charwise("path-escaped twice", func(s string) string { return url.PathEscape(url.PathEscape(s)) }),
	charwise("encodeURIComponent", encodeURIComponent),
	jsonTransform("JSON", func(s string) string { b, _ := json.Marshal(s); return string(b[1 : len(b)-1]) }),
	jsonTransform("JSON, every character \\u", func(s string) string {
		var b strings.Builder
		for _, r := range s {
			b.WriteString(uEscapes(r, "%04x"))
		}
		return b.String()
	}),
	charwise("html.EscapeString", html.EscapeString),
	charwise("html/template", htmlEscapes[2]),
	charwise("PHP", htmlEscapes[3]),
	charwise("Python", htmlEscapes[4]),
	base64Transform("base64", base64.StdEncoding, base64.RawStdEncoding),
	base64Transform("base64, no padding", base64.RawStdEncoding, base64.RawStdEncoding),
	base64Transform("base64url", base64.URLEncoding, base64.RawURLEncoding),
	base64Transform("base64url, no padding", base64.RawURLEncoding, base64.RawURLEncoding),
}, jsonTransforms()...)

// jsonTransforms write the text inside a JSON string as each of jsonEncoders does, and base64
// inside PHP's and .NET's (whose / and + they escape).
func jsonTransforms() []maskTransform {
	var trs []maskTransform
	for _, e := range jsonEncoders {
		trs = append(trs, jsonTransform(e.name, e.encode))
	}
	b64 := base64Transform("base64", base64.StdEncoding, base64.RawStdEncoding)
	for _, e := range jsonEncoders[:2] {
		trs = append(trs, maskTransform{name: "base64, in " + e.name, json: true, apply: func(prefix, v, suffix string) (string, string) {
			text, form := b64.apply(prefix, v, suffix)
			return e.encode(text), e.encode(form)
		}})
	}
	return trs
}

// transformIndex is the index of the transform of that name, as FuzzMask takes it.
func transformIndex(tb testing.TB, name string) uint8 {
	i := slices.IndexFunc(maskTransforms, func(tr maskTransform) bool { return tr.name == name })
	if i < 0 {
		tb.Fatalf("no transform %q", name)
	}
	return uint8(i)
}

// FuzzMask: a random secret (4 to 64 bytes), written by one of the transforms inside random
// text, perhaps folded at a random width with \n or \r\n, is masked every time: neither the
// secret nor its transformed form is left anywhere between the masks, whether the text is
// masked whole (a response body) or a line at a time (a program's output), and no line is lost.
// What comes out a line at a time is what comes out whole, cut into lines; a body masked and
// cut at any size, or read in part, is the start of the body masked whole, never cut inside a
// mask.
func FuzzMask(f *testing.F) {
	f.Add([]byte("sk_test_51HxQ-0f9e8d7c"), uint8(0), []byte("token="), []byte(" and more"), uint8(0), false, uint16(20))
	f.Add([]byte(`K3y&"q'<+> é/?@%:x9`), uint8(13), []byte("{\"a\":\""), []byte("\"}"), uint8(7), true, uint16(300))
	f.Add([]byte("correct horse battery staple"), uint8(20), []byte("ab"), []byte("\x00\xff"), uint8(40), false, uint16(33))
	f.Add([]byte("\x00\x01\xfe\xff\n\n"), uint8(5), []byte("x"), []byte{}, uint8(3), true, uint16(7))
	f.Add([]byte("p@ss:w/rd?#1"), uint8(9), []byte("https://"), []byte("@host/"), uint8(1), false, uint16(1000))
	for _, e := range jsonEncoders {
		f.Add([]byte(awsKey+"é"), transformIndex(f, e.name), []byte(`{"key":"`), []byte(`"}`), uint8(0), false, uint16(40))
	}
	f.Add([]byte(awsKey), transformIndex(f, "base64, in PHP json_encode"), []byte("Basic "), []byte{}, uint8(30), false, uint16(40))
	f.Fuzz(func(t *testing.T, secret []byte, transform uint8, prefix, suffix []byte, width uint8, crlf bool, cut uint16) {
		v := string(secret)
		if len(v) < 4 || len(v) > 64 || normalize(v) == "" || len(prefix)+len(suffix) > 1024 {
			return // a value of line breaks alone can't be told from the breaks of a text
		}
		tr := maskTransforms[int(transform)%len(maskTransforms)]
		text, form := tr.apply(string(prefix), v, string(suffix))
		if width > 0 {
			eol := "\n"
			if crlf {
				eol = "\r\n"
			}
			text = foldText(text, int(width)%48+1, eol)
		}
		rv := newRevealer(context.Background(), fixedSecrets{"s": v})
		if _, err := rv.expand("${secret:s}", nil); err != nil {
			t.Fatal(err)
		}
		whole := rv.mask(text)
		requireNoForm(t, tr, "masked whole", whole, v, form)

		w := lineWindow{m: rv.currentMasker()}
		var out []string
		lines := strings.Split(text, "\n")
		for _, l := range lines {
			out = append(out, w.push(heldLine{text: strings.TrimRight(l, "\r")})...)
		}
		out = append(out, w.flush()...)
		if len(out) != len(lines) {
			t.Fatalf("%s: %d lines in, %d out", tr.name, len(lines), len(out))
		}
		requireNoForm(t, tr, "a line at a time", strings.Join(out, "\n"), v, form)
		// The window holds no more lines than the longest form has characters: blank lines
		// may make it let go sooner.
		if !blankLine.MatchString(text) {
			wholeLines := strings.Split(whole, "\n")
			for i := range wholeLines {
				wholeLines[i] = strings.TrimRight(wholeLines[i], "\r")
			}
			if got, want := strings.Join(out, "\n"), strings.Join(wholeLines, "\n"); got != want {
				t.Fatalf("%s: a line at a time\n%q\nwhole\n%q", tr.name, got, want)
			}
		}

		n := int(cut) % (len(text) + 16)
		cutBody, shortened := rv.maskCut(text, true, n)
		requirePrefixOf(t, tr.name+", cut", cutBody, whole, n)
		if shortened != (cutBody != whole) {
			t.Fatalf("%s, cut to %d bytes: reports cut %v, kept %d bytes of %d", tr.name, n, shortened, len(cutBody), len(whole))
		}
		part, _ := rv.maskCut(text[:n%(len(text)+1)], false, len(text)+1000)
		requirePrefixOf(t, tr.name+", read in part", part, whole, len(text)+1000)
	})
}

// blankLine finds an empty line.
var blankLine = regexp.MustCompile(`\n\r*\n`)

// requirePrefixOf fails unless got is whole's start, at most n bytes, not cut inside a mask.
func requirePrefixOf(t *testing.T, what, got, whole string, n int) {
	t.Helper()
	if len(got) > n || !strings.HasPrefix(whole, got) {
		t.Fatalf("%s to %d bytes: %q is not the start of %q", what, n, got, whole)
	}
	for i := 0; ; {
		j := strings.Index(whole[i:], "${secret:s}")
		if j < 0 {
			break
		}
		if i += j; i < len(got) && i+len("${secret:s}") > len(got) {
			t.Fatalf("%s to %d bytes: %q ends inside a mask", what, n, got)
		}
		i++
	}
}

// foldText breaks s every width bytes with eol, as fold -w and base64 -w do.
func foldText(s string, width int, eol string) string {
	var b strings.Builder
	for len(s) > width {
		b.WriteString(s[:width] + eol)
		s = s[width:]
	}
	b.WriteString(s)
	return b.String()
}

// requireNoForm fails when masked holds v or tr's form, in any ASCII case and across line
// breaks, anywhere between its masks; a JSON form as JSON reads it.
func requireNoForm(t *testing.T, tr maskTransform, what, masked, v, form string) {
	t.Helper()
	read := normalize
	if tr.json {
		read = jsonReading
	}
	for _, l := range []struct {
		text string
		read func(string) string
	}{{v, normalize}, {form, read}} {
		for _, piece := range strings.Split(l.read(masked), "${secret:s}") {
			if leak := l.read(l.text); leak != "" && strings.Contains(piece, leak) {
				t.Fatalf("%s, %s: %q is left in %q", tr.name, what, leak, masked)
			}
		}
	}
}
