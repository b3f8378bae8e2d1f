package jobs_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// nested is n arrays within each other around inner: the shape of issue 24's probe, whose
// 5,000 levels around 40,000 zeros made a 450 MB page.
func nested(n int, inner string) json.RawMessage {
	return json.RawMessage(strings.Repeat("[", n) + inner + strings.Repeat("]", n))
}

// Arguments nesting deeper than ArgsMaxDepth are refused on every way in, naming args; a batch
// says which job and stores none.
func TestArgsNestingIsBounded(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	e := newEngine(t, s, fast())
	_, err := e.Enqueue(ctx, "k", nested(jobs.ArgsMaxDepth, "0"))
	require.NoError(t, err, "as deep as allowed")

	deep := nested(jobs.ArgsMaxDepth+1, "0")
	probe := nested(5000, strings.TrimSuffix(strings.Repeat("0,", 40_000), ","))
	var goValue any = 0
	for range jobs.ArgsMaxDepth + 1 {
		goValue = []any{goValue}
	}
	for name, args := range map[string]any{"one past": deep, "the probe": probe, "a Go value": goValue,
		"past encoding/json's own limit": nested(10_001, "0"), "in an object": json.RawMessage(`{"a":` + string(deep) + `}`)} {
		_, err := e.Enqueue(ctx, "k", args)
		requireFieldError(t, err, "args", "more than 64 levels deep")
		_, err = e.CreateRecurring(ctx, "deep", "@hourly", "k", args)
		requireFieldError(t, err, "args", "more than 64 levels deep")
		t.Log(name, "refused")
	}
	_, err = e.ContinueWith(ctx, 1, "k", deep)
	requireFieldError(t, err, "args", "more than 64 levels deep")

	before := len(modeltest.RecentJobs(t, s, 100))
	_, err = e.EnqueueMany(ctx, []jobs.EnqueueParams{{Kind: "k"}, {Kind: "k", Args: deep}, {Kind: "k"}})
	var be *jobs.BatchError
	require.True(t, errors.As(err, &be), "%v", err)
	require.Equal(t, 1, be.Index)
	requireFieldError(t, err, "args", "more than 64 levels deep")
	require.Len(t, modeltest.RecentJobs(t, s, 100), before, "a refused batch stores nothing")
}

// Raw arguments are stored only as UTF-8 JSON: a NUL byte, which PostgreSQL can't store, makes
// them invalid JSON; bytes that are not UTF-8, which json.Valid lets pass inside a string, are
// refused by name.
func TestRawArgsAreUTF8JSON(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	e := newEngine(t, s, fast())
	_, err := e.Enqueue(ctx, "k", json.RawMessage("{\"a\":\"\x00\"}"))
	require.Equal(t, models.EINVALID, models.ErrorCode(err), "%v", err)
	require.Contains(t, models.ErrorMessage(err), "valid JSON")
	_, err = e.Enqueue(ctx, "k", json.RawMessage("{\"a\":\"\xff\"}"))
	requireFieldError(t, err, "args", "not UTF-8 text")
	require.Empty(t, modeltest.RecentJobs(t, s, 10), "nothing stored")
}
