package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs/jobstest"
	"github.com/kilnhq/kiln/models/modeltest"
)

// A periodic duty runs while the engine does and stops with it (goleak checks its goroutine); it can't be added once the
// engine has started, nor with an interval that is not positive.
func TestPeriodic(t *testing.T) {
	e := jobstest.New(t, modeltest.Open(t, modeltest.SQLiteDSN(t)), jobstest.Fast())
	require.Error(t, e.Periodic("never", 0, func(context.Context) error { return nil }))
	ran := make(chan struct{}, 100)
	require.NoError(t, e.Periodic("count", 10*time.Millisecond, func(context.Context) error {
		ran <- struct{}{}
		return nil
	}))
	require.NoError(t, e.Start(context.Background()))
	jobstest.Receive(t, ran, "a periodic run")
	jobstest.Receive(t, ran, "a second periodic run")
	require.Error(t, e.Periodic("late", time.Second, func(context.Context) error { return nil }))
	require.NoError(t, e.Stop(context.Background())) // its goroutine ends with Stop (goleak, in TestMain)
}
