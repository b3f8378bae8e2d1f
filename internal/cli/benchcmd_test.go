package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/internal/bench"
	"github.com/kilnhq/kiln/models/modeltest"
)

func TestBenchCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	code := Run(context.Background(), []string{"bench", "--jobs", "300", "--workers", "8", "--batch", "100", "--rate", "200", "--latency-jobs", "20", "--json"}, nil, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	var r bench.Report
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
	code = Run(context.Background(), []string{"bench", "--jobs", "50", "--latency-jobs", "5", "--rate", "500"}, nil, &out, io.Discard)
	require.Equal(t, 0, code)
	require.Contains(t, out.String(), "burn-down")
	require.Contains(t, out.String(), "pickup latency")

	// The dashboard phase times every page over HTTP while more jobs burn down, with history
	// filled first.
	out.Reset()
	code = Run(context.Background(), []string{"bench", "--jobs", "200", "--latency-jobs", "5", "--rate", "500",
		"--dashboard", "--dashboard-jobs", "3000", "--clients", "2", "--history", "2000", "--json"}, nil, &out, io.Discard)
	require.Equal(t, 0, code)
	var withDash struct {
		bench.Report
		History   bench.HistoryReport   `json:"history"`
		Dashboard bench.DashboardReport `json:"dashboard"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &withDash))
	require.Positive(t, withDash.BurnDownPerSec)
	require.EqualValues(t, 2000, withDash.History.Jobs)
	require.Positive(t, withDash.History.BytesPerJob)
	d := withDash.Dashboard
	require.GreaterOrEqual(t, d.HistoryJobs, int64(2205), "the jobs of the earlier phases and the fill")
	require.Positive(t, d.BurnDownPerSec)
	require.Len(t, d.Pages, 17, "every page was requested")
	for _, p := range d.Pages {
		require.Positive(t, p.Requests, p.Path)
		require.Positive(t, p.P50, p.Path)
		require.GreaterOrEqual(t, p.Max, p.P95, p.Path)
	}

	// The API phase enqueues over HTTP, one job per POST and in batches.
	out.Reset()
	code = Run(context.Background(), []string{"bench", "--jobs", "50", "--latency-jobs", "5", "--rate", "500",
		"--api", "--api-jobs", "300", "--api-clients", "3", "--api-batches", "2", "--json"}, nil, &out, io.Discard)
	require.Equal(t, 0, code)
	var withAPI struct {
		API bench.APIReport `json:"api"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &withAPI))
	require.Equal(t, 3, withAPI.API.Clients)
	require.Positive(t, withAPI.API.SinglePerSec)
	require.Positive(t, withAPI.API.BatchJobsPerSec)
	require.GreaterOrEqual(t, withAPI.API.SingleP99, withAPI.API.SingleP50)
	require.Equal(t, 2, Run(context.Background(), []string{"bench", "--api", "--api-clients", "0"}, nil, io.Discard, io.Discard))

	require.Equal(t, 2, Run(context.Background(), []string{"bench", "--jobs", "0"}, nil, io.Discard, io.Discard))
	require.Equal(t, 2, Run(context.Background(), []string{"bench", "--jobs", "10", "--nodes", "2"}, nil, io.Discard, io.Discard), "several nodes need PostgreSQL")
	require.Equal(t, 2, Run(context.Background(), []string{"bench", "--jobs", "10", "--dashboard", "--clients", "0"}, nil, io.Discard, io.Discard))
	require.Equal(t, 2, Run(context.Background(), []string{"bench", "--jobs", "10", "--history", "100"}, nil, io.Discard, io.Discard), "--history needs --dashboard")
	require.Equal(t, 2, Run(context.Background(), []string{"bench", "--nope"}, nil, io.Discard, io.Discard))
}

// On PostgreSQL, --nodes runs the burn-down on several nodes, each with its own connections.
func TestBenchCommandNodes(t *testing.T) {
	dsn := modeltest.PostgresDSN(t)
	var out bytes.Buffer
	code := Run(context.Background(), []string{"bench", "--db", dsn, "--nodes", "3", "--jobs", "600", "--workers", "4",
		"--latency-jobs", "5", "--rate", "500", "--json"}, nil, &out, io.Discard)
	require.Equal(t, 0, code)
	var r bench.Report
	require.NoError(t, json.Unmarshal(out.Bytes(), &r))
	require.Equal(t, "postgres", r.Dialect)
	require.Equal(t, 3, r.Nodes)
	require.Positive(t, r.BurnDownPerSec)
	store := modeltest.Open(t, dsn)
	var servers []string
	require.NoError(t, modeltest.DB(store).Raw("SELECT DISTINCT server_id FROM jobs WHERE state = 'succeeded'").Scan(&servers).Error)
	require.Len(t, servers, 3, "all three nodes worked jobs")
}

// The workflow phase works plain jobs and a workflow of as many steps, and compares them; a
// workflow too small to fan out is a usage error.
func TestBenchWorkflowPhase(t *testing.T) {
	var out bytes.Buffer
	code := Run(context.Background(), []string{"bench", "--jobs", "50", "--latency-jobs", "5", "--rate", "500", "--workflow", "--workflow-steps", "200",
		"--workflow-rounds", "3", "--json"}, nil, &out, io.Discard)
	require.Equal(t, 0, code)
	var r struct {
		Workflow bench.WorkflowReport `json:"workflow"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &r))
	require.Equal(t, 200, r.Workflow.Steps)
	require.Len(t, r.Workflow.Rounds, 3)
	var ratios []float64
	for _, w := range r.Workflow.Rounds {
		require.Positive(t, w.PlainSecs)
		require.Greater(t, w.RunSecs, w.StartSecs)
		require.InDelta(t, w.RunSecs/w.PlainSecs, w.Ratio, 1e-9)
		ratios = append(ratios, w.Ratio)
	}
	slices.Sort(ratios)
	require.Equal(t, ratios[1], r.Workflow.Ratio, "the report's figures are the median round's")
	require.Contains(t, r.Workflow.Rounds, r.Workflow.WorkflowRound)

	var errOut bytes.Buffer
	code = Run(context.Background(), []string{"bench", "--jobs", "50", "--latency-jobs", "5", "--workflow", "--workflow-steps", "2"}, nil, io.Discard, &errOut)
	require.Equal(t, 2, code, "refused before anything runs")
	require.Contains(t, errOut.String(), "--workflow-steps must be at least 3")
}
