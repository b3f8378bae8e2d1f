package web

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/api"
	"github.com/kilnhq/kiln/models"
)

// A refusal lists at most knownKindsShown kinds and says how many it left out, or that there
// are none; its window is KnownKindsWindow's, as the API's documentation of the opt-out says.
func TestUnknownKindErrorNamesTheKnownKinds(t *testing.T) {
	var many []string
	for i := range knownKindsShown + 10 {
		many = append(many, fmt.Sprintf("kind.%03d", i))
	}
	err := unknownKindError("kind.x", many)
	require.Equal(t, models.EINVALID, models.ErrorCode(err))
	field := models.FieldErrors(err)["kind"]
	require.Contains(t, field, "kind.049 and 10 more.")
	require.NotContains(t, field, "kind.050")
	require.Contains(t, models.ErrorMessage(err), field, "the message holds the field's, so a client that shows both needn't")

	require.Contains(t, models.FieldErrors(unknownKindError("kind.x", nil))["kind"], "Known kinds: none.")

	days := fmt.Sprintf("in the last %d days", int(models.KnownKindsWindow/(24*time.Hour)))
	require.Contains(t, field, days)
	for _, typ := range []any{api.JobSpec{}, api.RecurringSpec{}} {
		f, ok := fieldTag(typ, "AllowUnknownKind")
		require.True(t, ok)
		require.Contains(t, f, days, "%T's documentation says the window", typ)
	}
}

// fieldTag is the doc tag of v's struct field name.
func fieldTag(v any, name string) (string, bool) {
	f, ok := reflect.TypeOf(v).FieldByName(name)
	return f.Tag.Get("doc"), ok
}
