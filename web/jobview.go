package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/views/components"
	"github.com/kilnhq/kiln/views/layout"
	"github.com/kilnhq/kiln/views/pages"
)

// The job page: everything about one job, and its live part that htmx polls while the job is
// not final. What the job's users supplied is shown through block.go's budgets.

// handleJob shows one job.
func (s *Server) handleJob(c echo.Context) error {
	v, err := s.jobView(c)
	if err != nil {
		return err
	}
	v.Layout = s.layoutProps(c, fmt.Sprintf("Job #%d", v.ID), layout.SectionJobs)
	if v.Audit, err = s.jobAudit(c, v.ID); err != nil { // not in the live part: read once, not every 2 s
		return err
	}
	return render(c, http.StatusOK, pages.JobPage(v))
}

// handleJobLive renders the live part of a job's page, for htmx polling.
func (s *Server) handleJobLive(c echo.Context) error {
	v, err := s.jobView(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, pages.JobLive(v))
}

func (s *Server) jobView(c echo.Context) (pages.JobView, error) {
	id, err := jobID(c)
	if err != nil {
		return pages.JobView{}, err
	}
	ctx := c.Request().Context()
	d, err := s.jobDetail(ctx, id)
	if err != nil {
		return pages.JobView{}, err
	}
	j, events := d.Job, d.Events
	logs, earlier, err := s.store.JobQueries.NewestJobLogs(ctx, id, logLinesRead)
	if err != nil {
		return pages.JobView{}, err
	}
	conts, err := s.store.JobQueries.Continuations(ctx, id)
	if err != nil {
		return pages.JobView{}, err
	}
	v := pages.JobView{
		WaitingForSlot: d.WaitingForSlot,
		ID:             j.ID, Kind: j.Kind, Queue: j.Queue, State: string(j.State), Final: j.State.Final(), Priority: j.Priority,
		Attempt: j.Attempt, MaxAttempts: j.MaxAttempts, Rescues: j.Rescues, Progress: j.Progress,
		Created: s.moment(c, j.CreatedAt), RunAt: s.moment(c, j.RunAt), Server: j.ServerID,
		Args: jsonBlock(j.Args, jobFileURL(j.ID, "args.json")), Result: jsonBlock(j.Result, jobFileURL(j.ID, "result.json")),
		LastError: textBlock(j.LastError, jobFileURL(j.ID, "error.txt")), ContinueOn: j.ContinueOn,
		CSRF: csrfToken(c), Actions: jobActionButtons(j.State, authz.Role(currentUser(c).Role)), CanDuplicate: may(c, authz.EnqueueAction(j.Kind, []byte(j.Args))),
	}
	v.Timeout, v.TimeoutFrom = timeoutView(j)
	if j.UniqueKey != nil {
		v.UniqueKey = *j.UniqueKey
	}
	if j.TraceParent != nil {
		v.TraceID, v.TraceParent = traceID(*j.TraceParent), *j.TraceParent
	}
	v.Tags, v.Response = j.TagList(), httpResponseView(j)
	if j.StartedAt != nil {
		m := s.moment(c, *j.StartedAt)
		v.Started = &m
	}
	if j.FinishedAt != nil {
		m := s.moment(c, *j.FinishedAt)
		v.Finished = &m
	}
	if j.ParentID != nil {
		if p, err := s.store.JobQueries.GetJob(ctx, *j.ParentID); err == nil {
			v.Parent = &pages.JobLink{ID: p.ID, Kind: p.Kind, State: string(p.State)}
		} else {
			v.Parent = &pages.JobLink{ID: *j.ParentID, Kind: "(cleaned up)", State: "deleted"}
		}
	}
	for _, cj := range conts {
		v.Continuations = append(v.Continuations, pages.JobLink{ID: cj.ID, Kind: cj.Kind, State: string(cj.State)})
	}
	if j.RecurringID != nil {
		v.RecurringID = *j.RecurringID
		if rj, err := s.store.Recurring.GetRecurringByID(ctx, *j.RecurringID); err == nil {
			v.RecurringName = rj.Name
		} else {
			v.RecurringName = fmt.Sprintf("recurring job %d (removed)", *j.RecurringID)
		}
	}
	if v.Workflow, err = s.jobWorkflow(c, j.ID); err != nil {
		return pages.JobView{}, err
	}
	if v.StartedRun, err = s.startedWorkflow(c, j); err != nil {
		return pages.JobView{}, err
	}
	h := s.history(c, j, events)
	v.Timeline, v.Attempts, v.OlderEntries, v.OlderRuns = h.timeline, h.attempts, h.olderEntries, h.olderRuns
	v.HistoryURL = jobFileURL(j.ID, "history.txt")
	v.Logs, v.LogsEarlier, v.LogsCut = s.logLines(c, j.ID, logs, earlier)
	v.LogURL = jobFileURL(j.ID, "log.txt")
	return v, nil
}

// timeoutView says how long an attempt of j may run and what sets that: the job's own timeout,
// or, for a built-in kind whose arguments bound its work (http.request's request, exec's
// program), that bound when it is shorter. Without either, "none".
func timeoutView(j *models.Job) (timeout, from string) {
	work, fromArgs, ok := builtin.WorkTimeout(j.Kind, j.Args)
	workFrom := "the default of " + j.Kind
	if fromArgs {
		workFrom = "from its arguments"
	}
	switch {
	case ok && (j.Timeout == 0 || work <= j.Timeout):
		if j.Timeout > 0 {
			workFrom += "; the job's own timeout is " + shortDuration(j.Timeout)
		}
		return shortDuration(work), workFrom
	case j.Timeout > 0:
		from = "the job's timeout"
		switch {
		case ok && fromArgs:
			from += ", shorter than the " + shortDuration(work) + " its arguments give"
		case ok:
			from += ", shorter than the default of " + j.Kind + ", " + shortDuration(work)
		}
		return shortDuration(j.Timeout), from
	}
	return "none", ""
}

// logLineMarkup is about the most HTML a log line takes besides its text: its time, attempt and
// tags.
const logLineMarkup = 256

// logLinesRead is how many of a job's newest log lines its page reads: each takes at least
// logLineMarkup of blockBudget, so no more fit.
const logLinesRead = blockBudget / logLineMarkup

// logLines are the newest of a job's log lines (logs, after earlier others) that fit
// blockBudget together, oldest first; how many earlier lines that leaves out; and where the
// newest line was cut, if it alone is longer than the page holds. The others are shown whole or
// not at all: a running job's page, polled every 2 seconds, must show the lines it writes.
func (s *Server) logLines(c echo.Context, id int64, logs []models.JobLog, earlier int64) ([]pages.LogLine, int64, *components.Cut) {
	w := pageText{room: blockBudget}
	var out []pages.LogLine
	var cut *components.Cut
	i := len(logs)
	for ; i > 0; i-- {
		l := logs[i-1]
		if !w.reserve(logLineMarkup) || (len(out) > 0 && !w.fits(l.Message)) {
			break
		}
		b := w.text(l.Message, jobFileURL(id, "log.txt"))
		out = append(out, pages.LogLine{At: s.moment(c, l.At), Attempt: l.Attempt, Message: b.Text})
		if b.Cut != nil {
			cut = b.Cut
		}
	}
	slices.Reverse(out)
	return out, earlier + int64(i), cut
}

// historyShown is how many runs (the attempts table) and timeline entries a job's page shows,
// the newest: each costs about 1 KB of page, and a job requeued 400 times made a page (polled
// every 2 seconds while it runs) of 1.35 MB. The whole history is history.txt (jobraw.go).
const historyShown = 50

// jobHistory is what a job's page shows of its events.
type jobHistory struct {
	timeline []pages.TimelineEntry
	attempts []pages.AttemptRow
	// olderEntries and olderRuns count those not shown.
	olderEntries, olderRuns int
}

// history turns a job's events into its timeline (with the time spent in each state) and its
// attempts (each run from claim to outcome), the newest historyShown of each.
func (s *Server) history(c echo.Context, j *models.Job, events []models.JobEvent) jobHistory {
	now := s.cfg.Now()
	var h jobHistory
	h.olderEntries = max(0, len(events)-historyShown)
	for _, e := range events {
		if e.To == models.JobProcessing {
			h.olderRuns++
		}
	}
	h.olderRuns = max(0, h.olderRuns-historyShown)
	run := 0
	errs := pageText{room: blockBudget} // the errors of the history shown share one budget
	for i, e := range events {
		if i >= h.olderEntries {
			entry := pages.TimelineEntry{
				From: string(e.From), To: string(e.To), At: s.moment(c, e.At), Reason: e.Reason, Server: e.ServerID, Attempt: e.Attempt,
			}
			if e.Error != "" {
				entry.Error = errs.text(e.Error, jobFileURL(j.ID, "history.txt"))
				entry.ErrorLine = truncateRunes(models.FirstLine(e.Error), errorLineShown)
			}
			switch {
			case i+1 < len(events):
				entry.For = formatDuration(events[i+1].At.Sub(e.At))
			case !e.To.Final():
				entry.For, entry.Current = formatDuration(now.Sub(e.At))+" so far", true
			}
			h.timeline = append(h.timeline, entry)
		}
		if e.To != models.JobProcessing {
			continue
		}
		if run++; run <= h.olderRuns {
			continue
		}
		a := pages.AttemptRow{Number: e.Attempt, Server: e.ServerID, Started: s.moment(c, e.At), Outcome: "running", Duration: formatDuration(now.Sub(e.At)) + " so far"}
		if i+1 < len(events) {
			end := events[i+1]
			a.Outcome, a.Error = attemptOutcome(end), truncateRunes(models.FirstLine(end.Error), errorLineShown)
			a.Duration = formatDuration(end.At.Sub(e.At))
			if end.Duration > 0 {
				a.Duration = formatDuration(end.Duration)
			}
			switch {
			case end.IsRescue() && i+2 < len(events) && events[i+2].IsLateOutcome():
				// Its server was cut off, not dead: the run's own outcome came after the rescue.
				late := events[i+2]
				a.Outcome, a.Error = string(late.To), truncateRunes(models.FirstLine(late.Error), errorLineShown)
				a.Duration = formatDuration(late.Duration) + ", reported late"
			case end.IsRescue():
				// From the claim to the rescue is not how long it ran: nobody knows that.
				a.Duration = "unknown (rescued " + formatDuration(end.Duration) + " after it started)"
			case end.IsTakeBack():
				a.Duration = "none"
			}
		}
		h.attempts = append(h.attempts, a)
	}
	return h
}

// attemptOutcome names how a run ended, from the event that ended it: its new state, except
// that a run put back in its queue was rescued (its server died), taken back (its claim never
// reached its server) or released (its server shut down).
func attemptOutcome(end models.JobEvent) string {
	switch {
	case end.IsRescue():
		return "rescued"
	case end.IsTakeBack():
		return "never ran"
	case end.From == models.JobProcessing && end.To == models.JobEnqueued:
		return "released"
	}
	return string(end.To)
}

// contentTypeShown is the most characters of a response's Content-Type the job page shows; a
// real one is a few dozen.
const contentTypeShown = 200

// httpResponseView reads an http.request job's response from its result; nil for other kinds
// and jobs without one.
func httpResponseView(j *models.Job) *pages.HTTPResponseView {
	if j.Kind != builtin.KindHTTPRequest || j.Result == "" {
		return nil
	}
	var r builtin.HTTPResponse
	if err := json.Unmarshal([]byte(j.Result), &r); err != nil || r.Status == 0 {
		return nil
	}
	contentType := r.Headers["Content-Type"]
	// Cut for the page: a server's 200 KB type (kept whole before results were cut) made a 1 MB page.
	v := &pages.HTTPResponseView{Status: r.Status, Class: "succeeded", ContentType: truncateRunes(contentType, contentTypeShown),
		Bytes: r.BodyBytes, Truncated: r.BodyTruncated, Duration: (time.Duration(r.DurationMS * float64(time.Millisecond))).Round(time.Millisecond).String()}
	if r.Status >= 400 {
		v.Class = "failed"
	}
	rawURL := jobFileURL(j.ID, "response-body")
	switch {
	case r.BodyEncoding == "base64":
		v.Body = textBlock("(binary, base64) "+r.Body, rawURL)
	case strings.Contains(contentType, "json"):
		v.Body = jsonBlock(r.Body, rawURL)
	default:
		v.Body = textBlock(r.Body, rawURL)
	}
	return v
}

// traceID is the trace-id field of a W3C traceparent (version-traceid-parentid-flags), or the
// whole value when it doesn't have that shape.
func traceID(traceParent string) string {
	if parts := strings.Split(traceParent, "-"); len(parts) == 4 && len(parts[1]) == 32 {
		return parts[1]
	}
	return traceParent
}
