package web

import (
	"context"
	"fmt"
	"time"

	"github.com/kilnhq/kiln/models"
)

// jobDetail is what the job page and GET /api/v1/jobs/{id} both read of one job.
type jobDetail struct {
	Job    *models.Job
	Events []models.JobEvent
	// WaitingForSlot, for an enqueued job whose kind is at its cap on running jobs or has used
	// up its rate, says which ("2 of 2 of its kind running"); "" when neither holds it back.
	WaitingForSlot string
}

// jobDetail reads job id, its history and why it waits.
func (s *Server) jobDetail(ctx context.Context, id int64) (*jobDetail, error) {
	j, err := s.store.JobQueries.GetJob(ctx, id)
	if err != nil {
		return nil, err
	}
	events, err := s.store.JobQueries.JobEvents(ctx, id)
	if err != nil {
		return nil, err
	}
	waiting, err := s.waitingForSlot(ctx, j)
	if err != nil {
		return nil, err
	}
	return &jobDetail{Job: j, Events: events, WaitingForSlot: waiting}, nil
}

// waitingForSlot says why an enqueued job of a capped kind is not running: its kind's cap on
// running jobs is reached, or its rate is used up for the current window.
func (s *Server) waitingForSlot(ctx context.Context, j *models.Job) (string, error) {
	if j.State != models.JobEnqueued {
		return "", nil
	}
	limits, err := s.store.Kinds.KindLimits(ctx)
	if err != nil {
		return "", err
	}
	l, ok := limits[j.Kind]
	if !ok {
		return "", nil
	}
	if l.MaxRunning > 0 {
		n, err := s.store.JobQueries.CountJobs(ctx, models.JobFilter{State: models.JobProcessing, Kind: j.Kind})
		if err != nil {
			return "", err
		}
		if n >= int64(l.MaxRunning) {
			return fmt.Sprintf("%d of %d of its kind running", n, l.MaxRunning), nil
		}
	}
	if l.RateN == 0 {
		return "", nil // no rate: nothing to count
	}
	used, err := s.store.Kinds.KindRateUsed(ctx, l, s.cfg.Now())
	if err != nil {
		return "", err
	}
	if used >= l.RateN {
		return fmt.Sprintf("%d of its kind started this %s, the most allowed", used, time.Duration(l.RatePerSeconds)*time.Second), nil
	}
	return "", nil
}
