package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/views/components"
	"github.com/kilnhq/kiln/views/layout"
	"github.com/kilnhq/kiln/views/pages"
)

// suggestions caches the kinds and queues offered in the jobs filter: the kinds are read from
// an index over every job, and they rarely change, so they are read at most every 30 seconds.
type suggestions struct {
	mu            sync.Mutex
	at            time.Time
	kinds, queues []string
}

func (sg *suggestions) get(ctx context.Context, store models.JobQueries) (kinds, queues []string, err error) {
	sg.mu.Lock()
	defer sg.mu.Unlock()
	if time.Since(sg.at) < 30*time.Second {
		return sg.kinds, sg.queues, nil
	}
	if kinds, err = store.Distinct(ctx, "kind"); err != nil {
		return nil, nil, err
	}
	if queues, err = store.Distinct(ctx, "queue"); err != nil {
		return nil, nil, err
	}
	sg.at, sg.kinds, sg.queues = time.Now(), kinds, queues
	return kinds, queues, nil
}

// pageSizes are the lengths a jobs page may have.
var pageSizes = []int{20, 50, 100}

// bulkLimit bounds one "all matching" action.
const bulkLimit = 100_000

// jobsQuery is the jobs list's query string, parsed and checked.
type jobsQuery struct {
	filter        models.JobFilter
	housekeeping  bool // the toggle: show housekeeping jobs
	before, after int64
	limit         int
}

// searchTag takes a "tag:NAME" word out of the search box's text into the tag filter, unless
// the tag field is set: "tag:billing failed" searches "failed" among jobs tagged billing.
func searchTag(search, tag string) (string, string) {
	if tag != "" || !strings.Contains(search, "tag:") {
		return search, tag
	}
	words := strings.Fields(search)
	for i, w := range words {
		if name, ok := strings.CutPrefix(w, "tag:"); ok && name != "" {
			return strings.Join(append(words[:i:i], words[i+1:]...), " "), name
		}
	}
	return search, tag
}

// jobFilter reads the jobs filter from a query string or a form (value), leaving out the kinds
// the dashboard hides: the list and its bulk actions read the same jobs.
func (s *Server) jobFilter(value func(string) string) (f models.JobFilter, showHousekeeping bool, err error) {
	search, tag := searchTag(value("q"), value("tag"))
	f = models.JobFilter{State: models.JobState(value("state")), Kind: value("kind"), Queue: value("queue"), Search: search, Tag: tag}
	if showHousekeeping, err = parseHousekeeping(value(housekeepingParam)); err != nil {
		return f, false, err
	}
	f.ExceptKinds = s.hiddenKinds(f, showHousekeeping)
	return f, showHousekeeping, f.Validate()
}

func (s *Server) parseJobsQuery(c echo.Context) (jobsQuery, error) {
	q := jobsQuery{limit: pageSizes[0]}
	var err error
	if q.filter, q.housekeeping, err = s.jobFilter(c.QueryParam); err != nil {
		return q, err
	}
	for name, dst := range map[string]*int64{"before": &q.before, "after": &q.after} {
		if raw := c.QueryParam(name); raw != "" {
			n, err := strconv.ParseInt(raw, 10, 64)
			if err != nil || n < 1 {
				return q, models.Errorf(models.EINVALID, "%q must be a job number, not %q.", name, raw)
			}
			*dst = n
		}
	}
	if raw := c.QueryParam("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || !slices.Contains(pageSizes, n) {
			return q, models.Errorf(models.EINVALID, "Page size must be 20, 50 or 100, not %q.", raw)
		}
		q.limit = n
	}
	return q, nil
}

// url is the list's URL for this filter with the given page bounds and size (left out when it
// is the default).
func (q jobsQuery) url(before, after int64, limit int) string {
	f := filterView(q.filter, q.housekeeping)
	f.Before, f.After = before, after
	if limit != pageSizes[0] {
		f.Limit = limit
	}
	return f.URL()
}

// filterView is a filter as the jobs list shows it, with the housekeeping toggle.
func filterView(f models.JobFilter, showHousekeeping bool) pages.JobsFilter {
	return pages.JobsFilter{State: string(f.State), Kind: f.Kind, Queue: f.Queue, Query: f.Search, Tag: f.Tag, Housekeeping: showHousekeeping}
}

// handleJobs lists jobs: a tab per state, filters, keyset pages, bulk actions.
func (s *Server) handleJobs(c echo.Context) error {
	if raw := c.QueryParam("id"); raw != "" { // "go to job #"
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id < 1 {
			return models.Errorf(models.EINVALID, "%q is not a job number.", raw)
		}
		return redirect(c, "/dashboard/jobs/"+strconv.FormatInt(id, 10))
	}
	q, err := s.parseJobsQuery(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	counts, err := s.tabCounts(ctx, q.filter)
	if err != nil {
		return err
	}
	page, err := s.store.JobQueries.ListJobs(ctx, q.filter, q.before, q.after, q.limit)
	if err != nil {
		return err
	}
	kinds, queues, err := s.suggest.get(ctx, s.store.JobQueries)
	if err != nil {
		return err
	}
	v := pages.JobsView{
		Layout: s.layoutProps(c, "Jobs", layout.SectionJobs),
		Filter: filterView(q.filter, q.housekeeping),
		Kinds:  kinds, Queues: queues, BulkActions: bulkJobActions(), CSRF: csrfToken(c), ReturnTo: c.Request().URL.RequestURI(),
	}
	v.Filter.Limit = q.limit // the form sends it back
	v.Housekeeping = s.housekeepingKinds()
	if len(q.filter.ExceptKinds) > 0 {
		shown := q
		shown.housekeeping = true
		v.ShowHousekeepingURL = shown.url(0, 0, q.limit)
		if v.HiddenCount, err = s.hiddenCount(ctx, q.filter); err != nil {
			return err
		}
	}
	all := q
	all.filter.State = ""
	var total int64
	for _, n := range counts {
		total += n
	}
	v.Tabs = append(v.Tabs, components.Tab{Label: "All", Href: all.url(0, 0, q.limit), Count: total, Active: q.filter.State == ""})
	for _, st := range models.JobStates {
		if (st == models.JobAwaiting || st == models.JobSkipped) && counts[st] == 0 && q.filter.State != st {
			continue // the states of continuations and workflows only: no tab while no job is in them
		}
		tab := q
		tab.filter.State = st
		v.Tabs = append(v.Tabs, components.Tab{Label: stateLabel(st), Href: tab.url(0, 0, q.limit), Count: counts[st], Active: q.filter.State == st})
	}
	for i := range page.Jobs {
		v.Rows = append(v.Rows, s.jobRow(c, &page.Jobs[i]))
	}
	if len(page.Jobs) > 0 {
		if page.HasNewer {
			v.NewerURL = q.url(0, page.Jobs[0].ID, q.limit)
		}
		if page.HasOlder {
			v.OlderURL = q.url(page.Jobs[len(page.Jobs)-1].ID, 0, q.limit)
		}
	}
	if page.SearchedFrom > 0 && !page.HasOlder {
		// The search looked at the newest jobs only: offer the next, older window.
		v.SearchedFrom, v.SearchOlderURL = page.SearchedFrom, q.url(page.SearchedFrom, 0, q.limit)
	}
	for _, n := range pageSizes {
		v.PageSize = append(v.PageSize, pages.PageSizeLink{Size: n, Href: q.url(q.before, q.after, n), Active: n == q.limit})
	}
	return render(c, http.StatusOK, pages.JobsPage(v))
}

// tabCounts are the counts the state tabs show: those of the filtered queue when a queue is
// chosen, else of every job. Both come from the counters, never from a scan.
func (s *Server) tabCounts(ctx context.Context, f models.JobFilter) (map[models.JobState]int64, error) {
	if f.Queue == "" {
		return s.store.JobQueries.CountJobsByState(ctx)
	}
	byQueue, err := s.store.JobQueries.CountJobsByQueue(ctx)
	if err != nil {
		return nil, err
	}
	return byQueue[f.Queue], nil // nil: a queue without jobs
}

func stateLabel(s models.JobState) string {
	return string(s[0]-'a'+'A') + string(s[1:])
}

// handleJobAction does one of jobActions to one job, recording who did it.
func (s *Server) handleJobAction(c echo.Context) error {
	id, err := jobID(c)
	if err != nil {
		return err
	}
	name := c.Param("action")
	if alias, ok := jobActionAliases[name]; ok {
		name = alias
	}
	action, ok := jobActionNamed(name)
	if !ok {
		return echo.ErrNotFound
	}
	err = s.doJobAction(actorContext(c), action, id)
	switch models.ErrorCode(err) {
	case "":
		setFlash(c, "success", fmt.Sprintf("Job #%d %s.", id, action.past))
	case models.ECONFLICT:
		auditFailed(c.Request().Context(), http.StatusConflict)
		setFlash(c, "error", models.ErrorMessage(err))
	default:
		return err
	}
	return redirect(c, "/dashboard/jobs/"+strconv.FormatInt(id, 10))
}

// handleJobsBulk applies an action to the selected jobs, or, after a confirmation stating how
// many, to every job matching the filter.
func (s *Server) handleJobsBulk(c echo.Context) error {
	name := c.FormValue("action")
	action, ok := jobActionNamed(name)
	if !ok || !action.bulk {
		return models.Errorf(models.EINVALID, "Choose %s.", bulkJobActionNames())
	}
	if err := s.require(c, action.action); err != nil { // the route needs jobs.bulk; each job, the action's own
		return err
	}
	back := localPath(c.FormValue("return_to"))
	ctx := actorContext(c)
	deferAudit(ctx) // one entry for the whole action, with its counts, once it is done
	filter, showHousekeeping, err := s.jobFilter(c.FormValue)
	if err != nil {
		return err
	}
	var ids []int64
	if c.FormValue("scope") == "all" {
		n, err := s.store.JobQueries.CountJobs(ctx, filter)
		if err != nil {
			return err
		}
		if c.FormValue("confirm") == "" {
			skipAudit(ctx) // asks to confirm: nothing changes yet
			return render(c, http.StatusOK, pages.BulkConfirmPage(pages.BulkConfirmView{
				Layout: s.layoutProps(c, "Confirm", layout.SectionJobs), Action: name, Count: n, CSRF: csrfToken(c), ReturnTo: back,
				Filter: filterView(filter, showHousekeeping), HousekeepingHidden: len(filter.ExceptKinds) > 0,
			}))
		}
		for below := int64(0); len(ids) < bulkLimit; {
			batch, err := s.store.JobQueries.JobIDs(ctx, filter, below, 1000)
			if err != nil {
				return err
			}
			ids = append(ids, batch...)
			if len(batch) < 1000 {
				break
			}
			below = batch[len(batch)-1]
		}
	} else {
		for _, raw := range c.Request().Form["ids"] {
			id, err := strconv.ParseInt(raw, 10, 64)
			if err != nil || id < 1 {
				return models.Errorf(models.EINVALID, "%q is not a job number.", raw)
			}
			ids = append(ids, id)
		}
		if len(ids) == 0 {
			setFlash(c, "error", "Select some jobs first, or tick “apply to all jobs matching this filter”.")
			return redirect(c, back)
		}
	}
	start := time.Now()
	done, skipped := 0, 0
	for _, id := range ids {
		switch err := s.doJobAction(ctx, action, id); models.ErrorCode(err) {
		case "":
			done++
		case models.ECONFLICT, models.ENOTFOUND:
			skipped++
		default:
			return err
		}
	}
	msg := fmt.Sprintf("%s %s.", components.Plural(done, "job", "jobs"), action.past)
	if skipped > 0 {
		msg += fmt.Sprintf(" %d skipped: %s doesn't allow it.", skipped, components.Noun(skipped, "its state", "their state"))
	}
	scope := "selected"
	if c.FormValue("scope") == "all" {
		scope = "all"
	}
	noteAudit(ctx, "", map[string]any{"action": name, "scope": scope, "filter": filterView(filter, showHousekeeping).URL(), "done": done, "skipped": skipped})
	s.log.Info("web: bulk job action", "action", name, "done", done, "skipped", skipped, "user", currentUser(c).Username, "took", time.Since(start))
	setFlash(c, "success", msg)
	return redirect(c, back)
}

func (s *Server) jobRow(c echo.Context, j *models.Job) pages.JobRow {
	r := pages.JobRow{
		ID: j.ID, Kind: j.Kind, Queue: j.Queue, Args: truncateRunes(j.Args, 80), Result: truncateRunes(j.Result, 80),
		State: string(j.State), Attempt: j.Attempt, Max: j.MaxAttempts,
		Created: s.moment(c, j.CreatedAt), Progress: j.Progress, Tags: j.TagList(),
	}
	verb, at := jobWhen(j)
	r.WhenVerb, r.When = verb, s.moment(c, at)
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
	if first := models.FirstLine(j.LastError); first != "" {
		r.Error = truncateRunes(first, errorLineShown)
	}
	return r
}

// errorLineShown is the most characters of an error's first line that a list (the jobs list, a
// job's attempts and history) shows; the job page shows the whole error once, under Last error.
const errorLineShown = 160

// jobWhen is the moment the jobs list shows for a job, and what happens then: when it finished
// or started, when a scheduled job (new or retrying) runs, else when it was made.
func jobWhen(j *models.Job) (verb string, at time.Time) {
	switch {
	case j.State.Final() && j.FinishedAt != nil:
		return "finished", *j.FinishedAt
	case j.State == models.JobProcessing && j.StartedAt != nil:
		return "started", *j.StartedAt
	case j.State == models.JobScheduled:
		return "runs", j.RunAt
	}
	return "made", j.CreatedAt
}

// formatDuration rounds a duration for reading (components.FormatDuration).
func formatDuration(d time.Duration) string { return components.FormatDuration(d) }

// truncateRunes cuts s to n characters, the last an ellipsis, reading no further than that:
// a list of 100 jobs with a megabyte of arguments each needn't copy them.
func truncateRunes(s string, n int) string {
	count, cut := 0, 0
	for pos := range s {
		if count == n-1 {
			cut = pos
		} else if count == n {
			return s[:cut] + "…"
		}
		count++
	}
	return s
}
