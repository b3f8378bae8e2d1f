package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/views/layout"
	"github.com/kilnhq/kiln/views/pages"
)

// recentJobsShown is how many job runs /dashboard lists.
const recentJobsShown = 50

// handleDashboard lists recent job runs (the full dashboard replaces this page).
func (s *Server) handleDashboard(c echo.Context) error {
	v, err := s.dashboardView(c)
	if err != nil {
		return err
	}
	v.Layout = s.layoutProps(c, "Overview", layout.SectionJobs)
	return render(c, http.StatusOK, pages.DashboardPage(v))
}

// handleDashboardRecent renders the live part of /dashboard, for htmx polling.
func (s *Server) handleDashboardRecent(c echo.Context) error {
	v, err := s.dashboardView(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, pages.RecentJobs(v))
}

func (s *Server) dashboardView(c echo.Context) (pages.DashboardView, error) {
	ctx := c.Request().Context()
	counts, err := s.store.CountJobsByState(ctx)
	if err != nil {
		return pages.DashboardView{}, err
	}
	recent, err := s.store.RecentJobs(ctx, recentJobsShown)
	if err != nil {
		return pages.DashboardView{}, err
	}
	v := pages.DashboardView{Zone: viewerZone(c).String()}
	for _, st := range models.JobStates {
		v.Counts = append(v.Counts, pages.StateCount{State: string(st), Label: string(st), Count: counts[st]})
	}
	for i := range recent {
		v.Rows = append(v.Rows, s.jobRow(c, &recent[i]))
	}
	return v, nil
}

func (s *Server) jobRow(c echo.Context, j *models.Job) pages.JobRow {
	r := pages.JobRow{
		ID: j.ID, Kind: j.Kind, Queue: j.Queue, Args: truncateRunes(j.Args, 80), State: string(j.State), Attempt: j.Attempt, Max: j.MaxAttempts,
		Created: s.moment(c, j.CreatedAt), Progress: j.Progress,
	}
	if j.StartedAt != nil {
		m := s.moment(c, *j.StartedAt)
		r.Started = &m
	}
	if j.FinishedAt != nil {
		m := s.moment(c, *j.FinishedAt)
		r.Finished = &m
		if j.StartedAt != nil {
			r.Duration = formatDuration(j.FinishedAt.Sub(*j.StartedAt))
		}
	}
	if first, _, _ := strings.Cut(j.LastError, "\n"); first != "" {
		r.Error = truncateRunes(first, 160)
	}
	return r
}

// formatDuration rounds a duration for reading: "420 ms", "3.2 s", "4 min 5 s".
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	}
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// handleWorkItemCreate queues one demo countdown: the "queued background work item" of the
// classic hosted-service sample.
func (s *Server) handleWorkItemCreate(c echo.Context) error {
	job, err := s.engine.EnqueueCountdown(c.Request().Context())
	if err != nil {
		return err
	}
	setFlash(c, "success", fmt.Sprintf("Queued background work item as job #%d (%s).", job.ID, job.Kind))
	return redirect(c, returnTo(c))
}
