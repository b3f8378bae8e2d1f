package builtin

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// awsKey is shaped as an AWS secret access key: base64's / and + are each escaped by some JSON
// encoder's default (PHP's \/, .NET's \u002B).
const awsKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

// jsonEncoder writes the inside of a JSON string as a common encoder does with its default
// settings, written here from each one's documentation and source, without the masker's help.
type jsonEncoder struct {
	name   string
	encode func(string) string
}

var jsonEncoders = []jsonEncoder{
	// PHP's json_encode without flags: / as \/ (JSON_UNESCAPED_SLASHES off), every character
	// beyond ASCII as \uxxxx (JSON_UNESCAPED_UNICODE off), in lower case hex.
	{"PHP json_encode", func(s string) string {
		return jsonWrite(s, func(r rune) string {
			switch {
			case r == '/':
				return `\/`
			case r < 0x20 || r >= utf8.RuneSelf:
				return uEscapes(r, "%04x")
			}
			return ""
		})
	}},
	// .NET's System.Text.Json with JavaScriptEncoder.Default: ASCII from space to ~ as is, but
	// for " & ' + < > ` (and \), which it writes as \u0022..., in upper case hex, like every
	// other character (DEL, beyond ASCII).
	{".NET System.Text.Json", func(s string) string {
		return jsonWrite(s, func(r rune) string {
			if r < 0x20 || r >= 0x7f || strings.ContainsRune("\"&'+<>`", r) {
				return uEscapes(r, "%04X")
			}
			return ""
		})
	}},
	// Python's json.dumps (ensure_ascii=True): everything past ~ (DEL too) as \uxxxx.
	{"Python json.dumps", func(s string) string {
		return jsonWrite(s, func(r rune) string {
			if r < 0x20 || r >= 0x7f {
				return uEscapes(r, "%04x")
			}
			return ""
		})
	}},
	// JavaScript's JSON.stringify, and Ruby's JSON.generate (script_safe and ascii_only off):
	// only what JSON requires.
	{"JSON.stringify", func(s string) string {
		return jsonWrite(s, func(r rune) string {
			if r < 0x20 {
				return uEscapes(r, "%04x")
			}
			return ""
		})
	}},
	// Gson's default (HTML-safe): < > & = ' as \u003c..., and U+2028, U+2029.
	{"Gson", func(s string) string {
		return jsonWrite(s, func(r rune) string {
			if r < 0x20 || r == '\u2028' || r == '\u2029' || strings.ContainsRune("<>&='", r) {
				return uEscapes(r, "%04x")
			}
			return ""
		})
	}},
}

// jsonWrite writes s a character at a time: " \ and the controls that have one as the escape
// of one letter every encoder uses (all but .NET's "), and the rest as escape says ("": as is).
// A byte that isn't UTF-8 is read as U+FFFD, as Go's encoder (and PHP's, told to substitute)
// reads it.
func jsonWrite(s string, escape func(r rune) string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '"' && escape(r) == "":
			b.WriteString(`\"`)
		case shortEscapes[r] != "":
			b.WriteString(shortEscapes[r])
		default:
			if e := escape(r); e != "" {
				b.WriteString(e)
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// shortEscapes are the controls that every encoder writes as the escape of one letter.
var shortEscapes = map[rune]string{'\b': `\b`, '\f': `\f`, '\n': `\n`, '\r': `\r`, '\t': `\t`}

// uEscapes is r as \u escapes of its UTF-16 code units (two past U+FFFF), in format's hex.
func uEscapes(r rune, format string) string {
	var b strings.Builder
	for _, u := range utf16.Encode([]rune{r}) {
		fmt.Fprintf(&b, `\u`+format, u)
	}
	return b.String()
}
