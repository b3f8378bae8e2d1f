package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/jobstest"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// Rules defined in code are checked at once and stored by name when the engine starts.
func TestAlertRulesInCode(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	e := jobstest.New(t, s, jobstest.Fast())
	err := e.AlertRule(models.AlertRule{Name: "burst", Watch: models.WatchFailuresWithin, Scope: models.ScopeKind})
	require.Equal(t, models.EINVALID, models.ErrorCode(err))
	require.NoError(t, jobs.AlertOnFailure(e, "reports", "report", []string{"ops"}, time.Hour))
	require.NoError(t, jobs.AlertOnMissedSchedule(e, "backup late", "nightly", 30*time.Minute, []string{"ops"}, 0))
	jobstest.Start(t, e)
	rules, err := s.Rules.ListRules(context.Background())
	require.NoError(t, err)
	require.Len(t, rules, 2)
	require.Equal(t, "backup late", rules[0].Name)
	require.Equal(t, models.WatchMissedSchedule, rules[0].Watch)
	require.Equal(t, 30*time.Minute, rules[0].Grace)
	require.Equal(t, "reports", rules[1].Name)
	require.Equal(t, "report", rules[1].Target)
	require.True(t, rules[1].Enabled)
	require.Error(t, jobs.AlertOnFailure(e, "late", "report", nil, 0), "after Start")
}
