package web

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/views/components"
	"github.com/kilnhq/kiln/views/layout"
	"github.com/kilnhq/kiln/views/pages"
)

// The realtime chart: 60 bars of 5 seconds. 150 points of 2 seconds, drawn as lines, were
// one-pixel spikes; a bar of 5 seconds is 6 px wide on a phone and 10.7 at 1280 px (measured
// by TestBrowserChartsOpenAtTheNewestEnd).
const (
	realtimeBin  = 5 * time.Second
	realtimeBins = 60
)

// overviewStates are the states with a card, in order.
var overviewStates = []models.JobState{models.JobEnqueued, models.JobScheduled, models.JobProcessing, models.JobSucceeded, models.JobFailed, models.JobCancelled, models.JobAwaiting}

// handleOverview is the dashboard's front page.
func (s *Server) handleOverview(c echo.Context) error {
	v, err := s.overview(c)
	if err != nil {
		return err
	}
	v.Layout, v.Zone = s.layoutProps(c, "Overview", layout.SectionJobs), viewerZone(c).String()
	return render(c, http.StatusOK, pages.OverviewPage(v))
}

// handleOverviewLive renders the self-refreshing part of the overview: counts and both charts.
func (s *Server) handleOverviewLive(c echo.Context) error {
	v, err := s.overview(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, pages.OverviewLive(v))
}

func (s *Server) overview(c echo.Context) (pages.OverviewView, error) {
	ctx := c.Request().Context()
	v := pages.OverviewView{Range: c.QueryParam("history")}
	switch v.Range {
	case "":
		v.Range = "24h"
	case "24h", "7d":
	default:
		return v, models.Errorf(models.EINVALID, "History range must be 24h or 7d, not %q.", v.Range)
	}
	counts, err := s.store.JobQueries.CountJobsByState(ctx)
	if err != nil {
		return v, err
	}
	retries, err := s.store.JobQueries.RetriesPending(ctx)
	if err != nil {
		return v, err
	}
	servers, err := s.store.Servers.Servers(ctx)
	if err != nil {
		return v, err
	}
	recurring, err := s.store.Recurring.CountRecurring(ctx)
	if err != nil {
		return v, err
	}
	for _, st := range overviewStates {
		v.Cards = append(v.Cards, pages.StatCard{Key: string(st), Label: stateLabel(st), Count: counts[st], Href: pages.JobsFilter{State: string(st)}.URL()})
	}
	v.Cards = append(v.Cards,
		pages.StatCard{Key: "retries", Label: "Retries pending", Count: retries, Href: pages.JobsFilter{State: string(models.JobScheduled)}.URL()},
		pages.StatCard{Key: "servers", Label: "Servers", Count: int64(len(servers)), Href: "/dashboard/servers"},
		pages.StatCard{Key: "recurring", Label: "Recurring", Count: recurring, Href: "/dashboard/recurring"},
	)
	if v.Recent, v.OnlyHousekeeping, err = s.recentJobs(c, recentJobs); err != nil {
		return v, err
	}
	if v.Realtime, err = s.realtimeChart(ctx); err != nil {
		return v, err
	}
	v.History, err = s.historyChart(ctx, v.Range, viewerZone(c))
	return v, err
}

// recentJobs is how many jobs the overview's Recent jobs panel shows.
const recentJobs = 10

// recentJobs returns the n jobs that started or finished last, as the panel shows them, but
// housekeeping; with none, onlyHousekeeping says whether housekeeping jobs ran.
func (s *Server) recentJobs(c echo.Context, n int) (out []pages.RecentJob, onlyHousekeeping bool, err error) {
	ctx, hidden := c.Request().Context(), s.hiddenKinds(models.JobFilter{}, false)
	jobs, err := s.store.JobQueries.LatestActivity(ctx, n, hidden)
	if err != nil {
		return nil, false, err
	}
	if len(jobs) == 0 && len(hidden) > 0 {
		some, err := s.store.JobQueries.LatestActivity(ctx, 1, nil)
		return nil, len(some) > 0, err
	}
	out = make([]pages.RecentJob, 0, len(jobs))
	for i := range jobs {
		j := &jobs[i]
		verb := "made"
		if j.FinishedAt != nil {
			verb = "finished"
		} else if j.StartedAt != nil {
			verb = "started"
		}
		r := pages.RecentJob{JobRow: s.jobRow(c, j), At: s.moment(c, j.LastActivity()), Verb: verb}
		out = append(out, r)
	}
	return out, false, nil
}

// realtimeChart bins the per-second counters of the last 5 minutes into 5-second bars.
func (s *Server) realtimeChart(ctx context.Context) (components.Chart, error) {
	end := s.cfg.Now().UTC().Truncate(realtimeBin).Add(realtimeBin)
	start := end.Add(-realtimeBin * realtimeBins)
	stats, err := s.store.JobQueries.Stats(ctx, models.PeriodSecond, start)
	if err != nil {
		return components.Chart{}, err
	}
	series := outcomeSeries(realtimeBins)
	for _, st := range stats {
		i := int(st.Bucket.Sub(start) / realtimeBin)
		if i >= 0 && i < realtimeBins {
			addOutcomes(series, i, st)
		}
	}
	labels := make([]string, realtimeBins)
	for i := 0; i < realtimeBins; i += int(time.Minute / realtimeBin) {
		labels[i] = fmt.Sprintf("-%d min", (realtimeBins-i)*int(realtimeBin/time.Second)/60)
	}
	labels[realtimeBins-1] = "now"
	return components.Chart{ID: "realtime", Title: "Jobs finished and rescued in the last 5 minutes", Bars: true, Series: series, XLabels: labels}, nil
}

// outcomeSeries are the charts' series, of n points each: jobs that succeeded, that failed
// (attempts used up, failed permanently, or crashed their servers too often), and that were
// rescued (put back in their queue after their server died).
func outcomeSeries(n int) []components.ChartSeries {
	return []components.ChartSeries{
		{Name: "Succeeded", Class: "series-succeeded", Values: make([]int64, n)},
		{Name: "Failed", Class: "series-failed", Values: make([]int64, n)},
		{Name: "Rescued", Class: "series-rescued", Values: make([]int64, n)},
	}
}

// addOutcomes adds a counter row to point i of outcomeSeries.
func addOutcomes(series []components.ChartSeries, i int, st models.JobStat) {
	series[0].Values[i] += st.Succeeded
	series[1].Values[i] += st.Failed
	series[2].Values[i] += st.Rescued
}

// historyChart shows succeeded, failed and rescued jobs per hour over 24 hours, or per day (in the
// viewer's zone) over 7 days.
func (s *Server) historyChart(ctx context.Context, rng string, loc *time.Location) (components.Chart, error) {
	now := s.cfg.Now().In(loc)
	var (
		starts []time.Time // bin starts, oldest first
		labels []string
		title  string
	)
	if rng == "7d" {
		today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
		for d := 6; d >= 0; d-- {
			day := today.AddDate(0, 0, -d)
			starts, labels = append(starts, day), append(labels, day.Format("Mon 2"))
		}
		title = "Jobs finished and rescued per day, last 7 days"
	} else {
		hour := now.Truncate(time.Hour)
		for h := 23; h >= 0; h-- {
			at := hour.Add(-time.Duration(h) * time.Hour)
			label := ""
			if h%4 == 0 {
				label = at.Format("15:04")
			}
			starts, labels = append(starts, at), append(labels, label)
		}
		title = "Jobs finished and rescued per hour, last 24 hours"
	}
	stats, err := s.store.JobQueries.Stats(ctx, models.PeriodHour, starts[0])
	if err != nil {
		return components.Chart{}, err
	}
	series := outcomeSeries(len(starts))
	for _, st := range stats {
		for i := len(starts) - 1; i >= 0; i-- {
			if !st.Bucket.Before(starts[i]) {
				addOutcomes(series, i, st)
				break
			}
		}
	}
	return components.Chart{ID: "history", Title: title, Bars: true, XLabels: labels, Series: series}, nil
}
