package builtin_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs/builtin"
)

// WorkTimeout reads the bound a built-in kind's arguments put on its work, as the worker does:
// the arguments' timeout, else the kind's default; nothing for other kinds or unreadable ones.
func TestWorkTimeout(t *testing.T) {
	for _, tc := range []struct {
		kind, args string
		want       time.Duration
		fromArgs   bool
		ok         bool
	}{
		{builtin.KindHTTPRequest, `{"url":"https://example.com","timeout":"10s"}`, 10 * time.Second, true, true},
		{builtin.KindHTTPRequest, `{"url":"https://example.com"}`, builtin.DefaultHTTPTimeout, false, true},
		{builtin.KindExec, `{"command":["/bin/true"],"timeout":"2h"}`, 2 * time.Hour, true, true},
		{builtin.KindExec, `{"command":["/bin/true"]}`, builtin.DefaultExecTimeout, false, true},
		{builtin.KindHTTPRequest, `{"timeout":"soon"}`, 0, false, false},
		{builtin.KindHTTPRequest, `{"timeout":"-1s"}`, 0, false, false},
		{builtin.KindHTTPRequest, `not json`, 0, false, false},
		{"report.build", `{"timeout":"10s"}`, 0, false, false},
	} {
		d, fromArgs, ok := builtin.WorkTimeout(tc.kind, tc.args)
		require.Equal(t, tc.want, d, "%s %s", tc.kind, tc.args)
		require.Equal(t, tc.fromArgs, fromArgs, "%s %s", tc.kind, tc.args)
		require.Equal(t, tc.ok, ok, "%s %s", tc.kind, tc.args)
	}
}
