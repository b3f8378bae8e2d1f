package builtin

import (
	"context"
	"encoding/json"
	"testing"
)

// Fuzz target for what users type as the built-in kinds' arguments. CI runs it for a few
// seconds from the seeds below (make fuzz); run it longer with:
//
//	go test -run '^$' -fuzz '^FuzzBuiltinArgs$' -fuzztime 10m ./jobs/builtin/

// FuzzBuiltinArgs: the arguments of http.request and exec, as JSON from a form or the API,
// are decoded and checked as Enqueue checks them: refused with a message or accepted, never a
// panic; accepted arguments, encoded again, are accepted again.
func FuzzBuiltinArgs(f *testing.F) {
	for _, s := range []string{
		`{"method":"POST","url":"https://example.com/hook","headers":{"Authorization":"Bearer ${secret:token}"},"body":{"a":1},"expect":"2xx,304","timeout":"10s","max_body":1024}`,
		`{"url":"http://[::1]:8080/x","expect":"200-299","follow_redirects":true}`,
		`{"url":"ftp://x","method":"BREW","timeout":"-1s","expect":"999","headers":{"Bad Name":"v","X":"a\r\nb"}}`,
		`{"url":"https://example.com/${secret:missing}","body":"\u0000"}`,
		`{"program":"/bin/echo","argv":["hello","${secret:token}"],"env":{"A":"1","LD_PRELOAD":"x"},"dir":"/tmp","timeout":"5s","stdin":"x"}`,
		`{"program":"rm","argv":["-rf","/"]}`, `{"program":"/usr/bin/../../bin/sh"}`,
		`{}`, `[]`, `null`, `{"url":1e999}`, `{"expect":[1,2]}`,
	} {
		f.Add(uint8(0), []byte(s))
		f.Add(uint8(1), []byte(s))
	}
	policy := ExecPolicy{Allow: []string{"/bin/*", "/usr/bin/*"}}
	f.Fuzz(func(t *testing.T, which uint8, raw []byte) {
		ctx := context.Background()
		check := func(raw []byte) (any, error) {
			if which%2 == 0 {
				var a HTTPRequestArgs
				if err := json.Unmarshal(raw, &a); err != nil {
					return nil, err
				}
				return a, checkHTTPArgs(ctx, fixedSecrets{"token": "s3cret"}, &a)
			}
			var a ExecArgs
			if err := json.Unmarshal(raw, &a); err != nil {
				return nil, err
			}
			return a, checkExecArgs(ctx, policy, fixedSecrets{"token": "s3cret"}, &a)
		}
		a, err := check(raw)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("refused %q without a message", raw)
			}
			return
		}
		again, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("accepted %q, but it does not encode: %v", raw, err)
		}
		if _, err := check(again); err != nil {
			t.Fatalf("accepted %q, but not its encoding %q: %v", raw, again, err)
		}
	})
}
