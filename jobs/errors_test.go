package jobs_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// TestRefusalsAreInvalidInput: the engine's refusals of bad input carry the EINVALID code, so
// pages, the API and the CLI answer them (422) with no case of their own, and still wrap their
// sentinel and read as they always have.
func TestRefusalsAreInvalidInput(t *testing.T) {
	_, badSpec := jobs.ParseSchedule("not cron", "UTC")
	_, badZone := jobs.ParseSchedule("* * * * *", "Mars/Olympus")
	var badOption error
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, _ *models.Store) {
		badOption = e.Register("k", func(context.Context, *models.Job) error { return nil }, jobs.MaxRunning(-1))
	})

	for _, tc := range []struct {
		err      error
		sentinel error
		text     string
	}{
		{badSpec, jobs.ErrInvalidSchedule, `jobs: invalid schedule: "not cron": `},
		{badZone, jobs.ErrUnknownTimeZone, `jobs: invalid schedule: unknown time zone "Mars/Olympus"`},
		{badOption, jobs.ErrInvalidOption, `jobs: invalid option: kind "k": MaxRunning must be 0 (no cap) or more`},
	} {
		require.ErrorIs(t, tc.err, tc.sentinel)
		require.Equal(t, models.EINVALID, models.ErrorCode(tc.err), "%v", tc.err)
		require.Contains(t, tc.err.Error(), tc.text, "the text is as it was")
		require.Equal(t, tc.err.Error()[len("jobs: "):], models.ErrorMessage(tc.err), "the message is the text without the package")
	}
	require.NotErrorIs(t, badSpec, jobs.ErrUnknownTimeZone)
}
