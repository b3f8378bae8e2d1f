package builtin

import (
	"encoding/json"
	"time"
)

// argsTimeout reads the timeout field of a built-in kind's arguments: the duration it gives, or
// def when it gives none. example names good values for the message when it is not a positive
// duration.
func argsTimeout(value string, def time.Duration, example string) (time.Duration, error) {
	if value == "" {
		return def, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil || d <= 0 {
		return 0, fieldErr("timeout", "%q is not a positive duration such as %s", value, example)
	}
	return d, nil
}

// WorkTimeout is how long the work of a built-in kind's job may take by its arguments: an
// http.request's request or an exec's program. fromArgs says the arguments set it (else it is
// the kind's default); ok is false for other kinds and for arguments that don't say. The job's
// own timeout, if shorter, cuts the work sooner: a dashboard shows both.
func WorkTimeout(kind, args string) (d time.Duration, fromArgs, ok bool) {
	var a struct {
		Timeout string `json:"timeout"`
	}
	def := map[string]time.Duration{KindHTTPRequest: DefaultHTTPTimeout, KindExec: DefaultExecTimeout}[kind]
	if def == 0 || json.Unmarshal([]byte(args), &a) != nil {
		return 0, false, false
	}
	d, err := argsTimeout(a.Timeout, def, "")
	if err != nil {
		return 0, false, false
	}
	return d, a.Timeout != "", true
}
