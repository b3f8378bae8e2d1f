package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// TestPagesAndAPIMapErrorsAlike: classify (pages and JSON) and apiErr (problem+json) give every
// error the same status, the one models.HTTPStatus gives its code, and the same message; the
// engine's refusals need no case of their own.
func TestPagesAndAPIMapErrorsAlike(t *testing.T) {
	store := modeltest.Open(t, modeltest.SQLiteDSN(t))
	engine, err := jobs.New(store, jobs.Config{NoWorkers: true})
	require.NoError(t, err)
	s, err := New(Config{LocalNoAuth: true}, store, engine, nil)
	require.NoError(t, err)
	ctx := context.Background()

	_, badSpec := jobs.ParseSchedule("not cron", "UTC")
	_, badZone := jobs.ParseSchedule("@daily", "Mars/Olympus")
	_, badPolicy := engine.SetRecurringOverlap(ctx, 1, "sometimes")
	_, missing := store.Recurring.GetRecurring(ctx, "nope")
	for _, tc := range []struct {
		name   string
		err    error
		status int
		says   string // the problem's detail, as the API has always said it
	}{
		{"invalid input", models.Errorf(models.EINVALID, "Page must be a whole number."), 422, "Page must be a whole number."},
		{"a wrapped one", fmt.Errorf("web: list: %w", models.Errorf(models.EINVALID, "Bad.")), 422, "Bad."},
		{"not found", missing, 404, models.ErrorMessage(missing)},
		{"conflict", models.Errorf(models.ECONFLICT, "Taken."), 409, "Taken."},
		{"an internal error", errors.New("disk on fire"), 500, "Kiln could not do that; the server's log says why."},
		{"a bad schedule", badSpec, 422, `invalid schedule: "not cron": `},
		{"a bad zone", badZone, 422, `invalid schedule: unknown time zone "Mars/Olympus"`},
		{"a bad option", badPolicy, 422, `invalid option: overlap policy "sometimes": use allow, skip or replace`},
	} {
		require.Error(t, tc.err, tc.name)
		page := classify(tc.err)
		var problem huma.StatusError
		require.ErrorAs(t, s.apiErr(tc.err), &problem, tc.name)
		require.Equal(t, tc.status, page.Status, "page: %s", tc.name)
		require.Equal(t, tc.status, problem.GetStatus(), "API: %s", tc.name)
		require.Equal(t, models.HTTPStatus(models.ErrorCode(tc.err)), page.Status, tc.name)
		require.Contains(t, problem.Error(), tc.says, tc.name)
		if tc.status < http.StatusInternalServerError {
			require.Equal(t, page.Message, problem.Error(), "the same words: %s", tc.name)
		}
	}
}
