package web

import (
	"fmt"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/views/pages"
)

func (s *Server) jobRow(c echo.Context, j *models.Job) pages.JobRow {
	r := pages.JobRow{
		ID: j.ID, Kind: j.Kind, Queue: j.Queue, Args: truncateRunes(j.Args, 80), Result: truncateRunes(j.Result, 80),
		State: string(j.State), Attempt: j.Attempt, Max: j.MaxAttempts,
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
	job, err := s.engine.EnqueueCountdown(actorContext(c))
	if err != nil {
		return err
	}
	setFlash(c, "success", fmt.Sprintf("Queued background work item as job #%d (%s).", job.ID, job.Kind))
	return redirect(c, returnTo(c))
}
