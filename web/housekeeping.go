package web

import (
	"context"
	"strconv"

	"github.com/kilnhq/kiln/models"
)

// What the dashboard hides: the jobs of housekeeping kinds (jobs.Housekeeping: the overdue
// sweep, retention cleanup), which would otherwise fill Recent jobs and the Jobs list (a sweep
// every minute is 1,440 jobs a day). They are still counted wherever jobs are counted (state
// tabs and cards, the kinds page, metrics), and the API lists them: programs get every job.
// This file is the one place that decides when the dashboard leaves them out.

// housekeepingParam is the Jobs list's query parameter, and its filter form's checkbox, that
// shows housekeeping jobs: housekeeping=1.
const housekeepingParam = "housekeeping"

// parseHousekeeping reads the toggle: absent or 0 hides, 1 shows.
func parseHousekeeping(raw string) (bool, error) {
	if raw == "" {
		return false, nil
	}
	show, err := strconv.ParseBool(raw)
	if err != nil {
		return false, models.Errorf(models.EINVALID, "%q must be 1 (show housekeeping jobs) or 0, not %q.", housekeepingParam, raw)
	}
	return show, nil
}

// housekeepingKinds are the kinds registered on this engine as housekeeping, by name.
//
// The engine knows which kinds are housekeeping only in-process: another node may register
// more, and their jobs show here until this node registers them too. Hence the dashboard leaves
// them out with `kind NOT IN (the housekeeping kinds this engine knows)`, not with a mark
// stored on each job.
func (s *Server) housekeepingKinds() []string {
	var out []string
	for _, k := range s.engine.Kinds() {
		if k.Housekeeping {
			out = append(out, k.Name)
		}
	}
	return out
}

// hiddenKinds returns the kinds a dashboard list of jobs matching f leaves out: the
// housekeeping kinds, unless the viewer asked to show them, or looks for particular jobs (by
// kind, tag or text: searching for a failed sweep's error finds it).
func (s *Server) hiddenKinds(f models.JobFilter, show bool) []string {
	if show || f.Kind != "" || f.Tag != "" || f.Search != "" {
		return nil
	}
	return s.housekeepingKinds()
}

// hiddenCount is how many jobs of f's state (every state when f names none) are of the kinds f
// leaves out, from the counters as the tabs' counts are, so that the toggle can say how many
// the tab counts but the list doesn't show; -1 when a queue is chosen (the counters hold kinds
// and queues apart).
func (s *Server) hiddenCount(ctx context.Context, f models.JobFilter) (int64, error) {
	if f.Queue != "" || len(f.ExceptKinds) == 0 {
		return -1, nil
	}
	byKind, err := s.store.JobQueries.CountJobsByKind(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, kind := range f.ExceptKinds {
		for st, c := range byKind[kind] {
			if f.State == "" || st == f.State {
				n += c
			}
		}
	}
	return n, nil
}
