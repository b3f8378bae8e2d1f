package jobs

import "github.com/jonboulle/clockwork"

// SetClock makes e's recurring schedules read the time from c and run their timers on it.
// Call it before Start.
func SetClock(e *Engine, c clockwork.Clock) { e.clock = c }

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
