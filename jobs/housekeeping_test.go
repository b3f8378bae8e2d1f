package jobs_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// A kind registered as housekeeping says so in Kinds, whichever way it was registered; the
// mark belongs to the kind, so a job, a recurring entry or another kind can't take it.
func TestHousekeepingKinds(t *testing.T) {
	e := newEngine(t, modeltest.Open(t, modeltest.SQLiteDSN(t)), fast())
	noop := func(context.Context, *models.Job) error { return nil }
	_, err := jobs.Register(e, "tasks.sweep", func(context.Context, *jobs.Job[struct{}]) error { return nil }, jobs.Housekeeping(), jobs.MaxAttempts(3))
	require.NoError(t, err)
	_, err = jobs.RegisterChecked(e, "alerts.deliver", func(context.Context, *jobs.Job[struct{}]) error { return nil },
		func(context.Context, *struct{}) error { return nil }, jobs.Housekeeping())
	require.NoError(t, err)
	require.NoError(t, e.Register("retention", noop, jobs.Housekeeping()))
	require.NoError(t, e.Register("email.send", noop))

	got := map[string]bool{}
	for _, k := range e.Kinds() {
		got[k.Name] = k.Housekeeping
	}
	require.Equal(t, map[string]bool{"tasks.sweep": true, "alerts.deliver": true, "retention": true, "email.send": false}, got)

	_, err = e.Enqueue(ctx, "email.send", nil, jobs.Housekeeping())
	require.ErrorIs(t, err, jobs.ErrInvalidOption, "a job can't be housekeeping when its kind isn't")
	require.ErrorIs(t, e.Recurring("nightly", "0 2 * * *", "email.send", nil, jobs.Housekeeping()), jobs.ErrInvalidOption)

	require.NoError(t, e.Register("retention", noop), "registering a kind again replaces it")
	for _, k := range e.Kinds() {
		if k.Name == "retention" {
			require.False(t, k.Housekeeping, "with its new options")
		}
	}
}
