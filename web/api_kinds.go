package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kilnhq/kiln/api"
	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/models"
)

// The API of the kinds pages: a kind's metrics, and setting its limits.

// KindNameInput names a kind.
type KindNameInput struct {
	Kind string `path:"kind" maxLength:"100"`
}

// KindMetricsOutput is a kind's metrics.
type KindMetricsOutput struct {
	Body api.KindMetrics
}

// KindLimitsInput sets a kind's limits.
type KindLimitsInput struct {
	Kind string `path:"kind" maxLength:"100"`
	Body api.SetKindLimits
}

func (s *Server) registerKindAPI(hapi huma.API) {
	register(hapi, authz.Read, huma.Operation{
		OperationID: "get-kind", Method: http.MethodGet, Path: "/v1/kinds/{kind}", Summary: "A kind's counts, last day, limits and failures", Tags: []string{tagJobs},
		Description: "What the kind's dashboard page shows, from counters and hourly stats kept as jobs finish.",
		Errors:      codeStatuses(models.ENOTFOUND),
	}, s.apiKind)
	register(hapi, authz.LimitsManage, huma.Operation{
		OperationID: "set-kind-limits", Method: http.MethodPut, Path: "/v1/kinds/{kind}/limits", Summary: "Set a kind's cap and rate", Tags: []string{tagJobs},
		Description: "Across every node, at once; zeros remove them. They last until the code's own limits for the kind change.",
		Errors:      codeStatuses(models.ENOTFOUND), // zeros for a kind no server has and no job is of leave nothing to show
	}, s.apiSetKindLimits)
}

func (s *Server) apiKind(ctx context.Context, in *KindNameInput) (*KindMetricsOutput, error) {
	if err := models.KindName.Check(in.Kind); err != nil {
		return nil, huma.Error404NotFound(fmt.Sprintf("No kind %q: %s", in.Kind, models.ErrorMessage(err)))
	}
	return s.kindMetrics(ctx, in.Kind)
}

// kindMetrics is what a kind's page shows, as the API gives it.
func (s *Server) kindMetrics(ctx context.Context, kind string) (*KindMetricsOutput, error) {
	d, err := s.loadKinds(ctx, kind)
	if err != nil {
		return nil, s.apiErr(err)
	}
	if !slices.Contains(d.names(), kind) {
		return nil, huma.Error404NotFound(fmt.Sprintf("No kind %q: no server here has its code, and no job of it is kept.", kind))
	}
	out := &KindMetricsOutput{}
	b := &out.Body
	_, b.Registered = d.registered[kind]
	b.Name, b.Counts = kind, map[string]int64{}
	for st, n := range d.counts[kind] {
		b.Counts[string(st)] = n
	}
	sum := models.SummarizeKindStats(d.stats[kind])
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.Last24h = api.KindDay{Succeeded: sum.Succeeded, Failed: sum.Failed, P50Ms: ms(sum.P50), P95Ms: ms(sum.P95), MaxMs: ms(sum.Max), MeanMs: ms(sum.Mean)}
	b.Limits = apiKindLimits(d.limits[kind])
	groups, err := s.store.JobQueries.KindFailures(ctx, kind, kindFailureScan)
	if err != nil {
		return nil, s.apiErr(err)
	}
	b.Failures = []api.KindFailure{}
	for _, g := range groups {
		b.Failures = append(b.Failures, api.KindFailure{Message: g.Message, Count: g.Count, LastJobID: g.LastJobID, LastAt: g.LastAt})
	}
	return out, nil
}

func apiKindLimits(l models.KindLimit) api.KindLimits {
	out := api.KindLimits{MaxRunning: l.MaxRunning, RateN: l.RateN}
	if l.RateN > 0 && l.RatePerSeconds > 0 {
		out.RatePer = shortDuration(time.Duration(l.RatePerSeconds) * time.Second)
	}
	return out
}

func (s *Server) apiSetKindLimits(ctx context.Context, in *KindLimitsInput) (*KindMetricsOutput, error) {
	kind := in.Kind
	if err := models.KindName.Check(kind); err != nil {
		return nil, huma.Error422UnprocessableEntity(models.ErrorMessage(err), &huma.ErrorDetail{Location: "path.kind", Message: "not a kind name", Value: in.Kind})
	}
	perSeconds, perErr := ratePer(in.Body.RatePer, in.Body.RateN)
	if perErr != "" {
		return nil, huma.Error422UnprocessableEntity("The rate's period is not right.",
			&huma.ErrorDetail{Location: "body.rate_per", Message: perErr, Value: in.Body.RatePer})
	}
	limit := models.KindLimit{MaxRunning: in.Body.MaxRunning, RateN: in.Body.RateN, RatePerSeconds: perSeconds}
	if err := s.store.Kinds.SetKindLimits(ctx, kind, limit); err != nil {
		return nil, s.apiErr(err)
	}
	s.log.Info("web: kind limits set through the API", "kind", kind, "max_running", limit.MaxRunning, "rate_n", limit.RateN, "rate_per_seconds", limit.RatePerSeconds, "user", apiUser(ctx).Username)
	return s.kindMetrics(ctx, kind)
}
