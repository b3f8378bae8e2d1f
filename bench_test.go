package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
)

func TestBenchCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	code := runBenchCommand(context.Background(), []string{"--jobs", "300", "--workers", "8", "--batch", "100", "--rate", "200", "--latency-jobs", "20", "--json"}, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	var r jobs.BenchReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &r))
	require.Equal(t, "sqlite", r.Dialect)
	require.Equal(t, 300, r.Jobs)
	require.Positive(t, r.InsertPerSec)
	require.Positive(t, r.BurnDownPerSec)
	require.Positive(t, r.PickupP50)
	require.GreaterOrEqual(t, r.PickupP99, r.PickupP95)
	require.GreaterOrEqual(t, r.PickupP95, r.PickupP50)
	require.Positive(t, r.PeakRSS)
	require.Positive(t, r.DBSize)
	require.Contains(t, errOut.String(), "burn-down", "a progress line while it runs")

	out.Reset()
	code = runBenchCommand(context.Background(), []string{"--jobs", "50", "--latency-jobs", "5", "--rate", "500"}, &out, io.Discard)
	require.Equal(t, 0, code)
	require.Contains(t, out.String(), "burn-down")
	require.Contains(t, out.String(), "pickup latency")

	require.Equal(t, 2, runBenchCommand(context.Background(), []string{"--jobs", "0"}, io.Discard, io.Discard))
	require.Equal(t, 2, runBenchCommand(context.Background(), []string{"--nope"}, io.Discard, io.Discard))
}
