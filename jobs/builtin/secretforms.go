package builtin

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// form is one way a secret may show in text a job writes back. The masker looks for it in any
// ASCII letter case, with line breaks allowed between any two characters.
type form struct {
	text string
	// json: text is a JSON string's inside, looked for as JSON reads it (jsonReading), so that
	// it matches every encoder's way of escaping the same string.
	json bool
	// base64: a base64 core (see base64Forms). The characters either side of it, when
	// edgeLeft or edgeRight says so, hold some of the secret's bits too, and are masked with
	// it.
	base64, edgeLeft, edgeRight bool
	// built: a form of a string built with values (builtForms), not of a value.
	built bool
}

// minBase64Core is the shortest base64 core worth looking for: shorter, it would mask ordinary
// text, and it holds few of the secret's bits.
const minBase64Core = 4

// secretForms is every form of the value v that masking recognises:
//   - v itself, and wholly upper or lower case beyond ASCII (ASCII case never matters);
//   - URL-escaped as a query value (+ or %20 for a space), a path segment, a URL's user name or
//     password (Go's url.User escaping, as url.URL.String and http.Client's errors write it),
//     or by JavaScript's encodeURIComponent; and each of those escaped again, as a query value
//     or a path segment;
//   - Go-quoted (%q), with or without the characters beyond ASCII escaped;
//   - HTML-escaped the ways htmlEscapes lists;
//   - hex, bytes run together (hex.EncodeToString, xxd -p, basenc --base16) or spaced (od);
//   - base64, standard or URL alphabet, padded or not, at each of the three places the value
//     may start inside a longer encoding (base64Forms);
//   - each line of a value of several lines, when 8 bytes or longer (a PEM key shown a line at
//     a time);
//   - each of those inside a JSON string, escaped by any encoder: any character may be written
//     as \uXXXX (in either case, a surrogate pair past U+FFFF) or, for those that have one, as
//     the escape of one letter (\/ \" \n...) (withJSON).
func secretForms(v string) []form {
	var fs formList
	fs.add(v)
	fs.add(strings.ToUpper(v))
	fs.add(strings.ToLower(v))
	for _, escape := range urlEscapes {
		once := escape(v)
		fs.add(once)
		fs.add(url.QueryEscape(once))
		fs.add(url.PathEscape(once))
	}
	fs.add(strings.Trim(strconv.Quote(v), `"`))
	fs.add(strings.Trim(strconv.QuoteToASCII(v), `"`))
	for _, escape := range htmlEscapes {
		fs.add(escape(v))
	}
	fs.add(hex.EncodeToString([]byte(v)))
	fs.add(fmt.Sprintf("% x", v)) // as od -An -tx1 writes it
	fs.forms = append(fs.forms, base64Forms(v, 3)...)
	if strings.Contains(v, "\n") {
		for _, line := range strings.Split(v, "\n") {
			if line = strings.TrimSpace(line); len(line) >= 8 {
				fs.add(line)
			}
		}
	}
	return withJSON(fs.forms)
}

// builtForms are the forms of a string built with secrets (a header, a URL, a short body),
// looked for so that a server's echo of it is masked by its template. The values' own forms
// catch every other form of it, and it whole when it is too long to be looked for (builtMax):
// each escaping works a character at a time, and a base64 core is found at any offset.
func builtForms(b string) []form {
	var fs formList
	fs.add(b)
	fs.add(url.QueryEscape(b))
	fs.add(url.PathEscape(b))
	fs.forms = append(fs.forms, base64Forms(b, 1)...)
	forms := withJSON(fs.forms)
	for i := range forms {
		forms[i].built = true
	}
	return forms
}

// withJSON is forms and, after them, each inside a JSON string where JSON reads it otherwise
// than as it is: where it has a backslash (escaped, it reads \\), a line break (\n reads as a
// character, a line break in text as nothing) or a byte that isn't UTF-8 (U+FFFD). Every other
// form reads the same either way, and is found in JSON as it is.
func withJSON(forms []form) []form {
	for _, f := range forms { // the forms as they were: range reads the slice once
		if strings.ContainsAny(f.text, "\\\r\n") || !utf8.ValidString(f.text) {
			f.text, f.json = jsonEscape(f.text), true
			forms = append(forms, f)
		}
	}
	return forms
}

type formList struct{ forms []form }

func (l *formList) add(text string) {
	if text != "" {
		l.forms = append(l.forms, form{text: text})
	}
}

// urlEscapes are the ways a value is escaped in a URL.
var urlEscapes = []func(string) string{
	url.QueryEscape,
	func(v string) string { return strings.ReplaceAll(url.QueryEscape(v), "+", "%20") }, // urlEscaper's, and Python's quote
	url.PathEscape,
	func(v string) string { return url.User(v).String() }, // a user name or a password alike
	encodeURIComponent,
}

// encodeURIComponent escapes v as JavaScript's function of that name does.
func encodeURIComponent(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// jsonEscape escapes v for the inside of a JSON string, as Go does.
func jsonEscape(v string) string {
	b, _ := json.Marshal(v)
	return string(b[1 : len(b)-1])
}

// htmlEscapes are the HTML escapings of the libraries people commonly use. They differ in the
// quotes, and in html/template's + (all escape & < > alike).
var htmlEscapes = []func(string) string{
	html.EscapeString, // Go's html: &#39; &#34;
	strings.NewReplacer("&", "&amp;", "'", "&#39;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "\x00", "\uFFFD").Replace,               // Go's text/template
	strings.NewReplacer("&", "&amp;", "'", "&#39;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "+", "&#43;", "\x00", "\uFFFD").Replace, // Go's html/template
	strings.NewReplacer("&", "&amp;", `"`, "&quot;", "'", "&#039;", "<", "&lt;", ">", "&gt;").Replace,                               // PHP's htmlspecialchars
	strings.NewReplacer("&", "&amp;", `"`, "&quot;", "'", "&#x27;", "<", "&lt;", ">", "&gt;").Replace,                               // Python's html.escape, Django
	strings.NewReplacer("&", "&amp;", `"`, "&quot;", "'", "&#39;", "<", "&lt;", ">", "&gt;").Replace,                                // Ruby, Rails, lodash, Spring
	strings.NewReplacer("&", "&amp;", `"`, "&quot;", "'", "&apos;", "<", "&lt;", ">", "&gt;").Replace,                               // PHP's ENT_HTML5, XML
}

// base64Chars are the characters of either base64 alphabet: those that may hold a core's edge
// bits. One set for both: a core without the characters the alphabets differ in is one form.
var base64Chars = func() (a [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_") {
		a[c] = true
	}
	return a
}()

// base64Forms are v in base64, where it starts at each of the first offsets of the three places
// in a group of three bytes, in both alphabets (offset 0 is v's own encoding). base64 turns
// three bytes into four characters of six bits each, so inside the encoding of a longer text
// the secret's characters depend on what comes before it: its core (the characters only its
// bits decide) is one of three strings. The character before a core, and the one after, hold a
// few of its bits beside the neighbours' (2 or 4): they are masked with it. Padding (=) carries
// nothing. A core shorter than minBase64Core isn't looked for. At offset 0 only a value of one
// or two bytes has one that short: it is looked for as its own encoding (2 or 3 characters),
// as plain text, with no edges. At offsets 1 and 2, a value of one to three bytes has one that
// short, and has no form there: a value of three bytes is found only by its core at offset 0
// (its whole encoding), not where it starts at offset 1 or 2 of a longer encoding.
func base64Forms(v string, offsets int) []form {
	var forms []form
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for offset := range offsets {
			full := enc.EncodeToString([]byte(strings.Repeat("\x00", offset) + v))
			bits := 8 * (offset + len(v))
			first, last := (8*offset+5)/6, bits/6 // the characters within the value's bits
			if last-first < minBase64Core {
				if offset == 0 && v != "" { // a value of one or two bytes
					forms = append(forms, form{text: full})
				}
				continue
			}
			forms = append(forms, form{text: full[first:last], base64: true, edgeLeft: 8*offset%6 != 0, edgeRight: bits%6 != 0})
		}
	}
	return forms
}
