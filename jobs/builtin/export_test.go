package builtin

import (
	"encoding/base64"
	"strings"
)

// AWSKey is awsKey.
const AWSKey = awsKey

// JSONEncoder is a JSON encoder's default way of writing a string's inside (jsonEncoders).
type JSONEncoder struct {
	Name   string
	Encode func(string) string
}

// JSONEncoders are jsonEncoders, for the tests outside the package.
func JSONEncoders() []JSONEncoder {
	out := make([]JSONEncoder, len(jsonEncoders))
	for i, e := range jsonEncoders {
		out[i] = JSONEncoder{e.name, e.encode}
	}
	return out
}

// FoldText is foldText: s broken every width bytes with eol.
func FoldText(s string, width int, eol string) string { return foldText(s, width, eol) }

// MixedCase is mixedCase: every other ASCII letter's case turned.
func MixedCase(s string) string { return mixedCase(s) }

// Base64Cores are the parts of base64 text that only v's bytes decide (base64Core), whichever of
// the three places in a group of three bytes it starts at, in both alphabets.
func Base64Cores(v string) []string {
	var cores []string
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for o := range 3 {
			cores = append(cores, base64Core(enc, strings.Repeat("\x00", o), v))
		}
	}
	return cores
}
