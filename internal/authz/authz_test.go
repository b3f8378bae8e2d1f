package authz_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/authz"
)

// TestRolesRank checks the order of the roles: each may do what the one below may.
func TestRolesRank(t *testing.T) {
	for _, a := range authz.Actions() {
		least, ok := authz.Least(a)
		require.True(t, ok, a)
		for _, r := range authz.Roles {
			require.Equal(t, indexOf(r) >= indexOf(least), r.May(a), "%s may %s", r, a)
		}
		require.False(t, authz.Role("root").May(a), "an unknown role may do nothing")
		require.False(t, authz.Role("").May(a), "no role may do nothing")
	}
	require.False(t, authz.Admin.May("jobs.frobnicate"), "an action not in the table is refused even to an admin")
	require.True(t, authz.Role("").May(authz.Public))
}

// TestOperatorBoundary checks the lines: what an operator may and may not do.
func TestOperatorBoundary(t *testing.T) {
	for _, a := range []authz.Action{authz.JobsRetry, authz.JobsCancel, authz.JobsDelete, authz.JobsRunNow, authz.JobsBulk,
		authz.QueuesPause, authz.RecurringPause, authz.AlertsAck} {
		require.True(t, authz.Operator.May(a), a)
		require.False(t, authz.Viewer.May(a), a)
	}
	for _, a := range []authz.Action{authz.JobsEnqueueCode, authz.RecurringEdit, authz.SecretsManage, authz.TokensManage,
		authz.ChannelsEdit, authz.AlertRulesEdit, authz.LimitsManage} {
		require.False(t, authz.Operator.May(a), a)
		require.True(t, authz.Admin.May(a), a)
	}
	require.Equal(t, authz.JobsEnqueueCode, authz.EnqueueAction("exec", nil))
	require.Equal(t, authz.JobsEnqueueCode, authz.EnqueueAction("http.request", nil))
	require.Equal(t, authz.JobsEnqueue, authz.EnqueueAction("emails.send", nil))
}

// A job that starts a workflow needs what its strongest step needs, however deep the step that
// runs code is; arguments that don't decode fail closed.
func TestEnqueueActionOfWorkflow(t *testing.T) {
	for _, tc := range []struct {
		args string
		want authz.Action
	}{
		{``, authz.JobsEnqueue}, // not known yet: the kinds a form offers
		{`null`, authz.JobsEnqueue},
		{`{"name":"n","steps":[{"name":"a","kind":"emails.send"},{"name":"b","kind":"db.dump","args":{"kind":"exec"}}]}`, authz.JobsEnqueue},
		{`{"name":"n","steps":[{"name":"a","kind":"emails.send"},{"name":"b","kind":"exec","args":{"command":["true"]}}]}`, authz.JobsEnqueueCode},
		{`{"name":"n","steps":[{"name":"a","kind":"http.request"}]}`, authz.JobsEnqueueCode},
		{`{"name":"n","steps":[{"name":"a","kind":"jobs.cleanup"}]}`, authz.JobsEnqueueCode},
		{`{"name":"n","steps":[{"name":"a","kind":"workflow.start","args":{"name":"m","steps":[{"name":"x","kind":"exec"}]}}]}`, authz.JobsEnqueueCode},
		{`{"name":"n","steps":[{"name":"a","KIND":"exec"}]}`, authz.JobsEnqueueCode}, // encoding/json matches keys as the kind reads them
		{`{"name":"n","steps":"exec"}`, authz.JobsEnqueueCode},
		{`[1,2]`, authz.JobsEnqueueCode},
	} {
		require.Equal(t, tc.want, authz.EnqueueAction(authz.WorkflowKind, []byte(tc.args)), tc.args)
	}
}

func TestParseRole(t *testing.T) {
	r, err := authz.ParseRole("operator")
	require.NoError(t, err)
	require.Equal(t, authz.Operator, r)
	_, err = authz.ParseRole("Admin")
	require.EqualError(t, err, `the role is viewer, operator or admin, not "Admin"`)
}

func indexOf(r authz.Role) int {
	for i, x := range authz.Roles {
		if x == r {
			return i
		}
	}
	return -1
}

// Lesser is the weaker of two roles; an unknown one is weaker than all.
func TestLesser(t *testing.T) {
	for _, c := range []struct{ a, b, want authz.Role }{
		{authz.Admin, authz.Viewer, authz.Viewer},
		{authz.Viewer, authz.Admin, authz.Viewer},
		{authz.Operator, authz.Admin, authz.Operator},
		{authz.Admin, authz.Admin, authz.Admin},
		{authz.Admin, "", ""},
		{"root", authz.Viewer, "root"},
	} {
		require.Equal(t, c.want, authz.Lesser(c.a, c.b), "%s, %s", c.a, c.b)
	}
}
