package web

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/views/components"
	"github.com/kilnhq/kiln/views/layout"
	"github.com/kilnhq/kiln/views/pages"
)

// The kinds page and each kind's page read the counters, the kinds' hourly stats and the
// limits: a few hundred rows, never the jobs table (but for a kind's newest failed jobs,
// through an index that holds failed jobs only).

// kindDay is how far back the kinds pages look: 24 hourly buckets, the current one included.
const kindDay = 24

// kindFailureScan is how many of a kind's newest failed jobs its page groups by message.
const kindFailureScan = 500

// kindStates are the states with a card on a kind's page, in order.
var kindStates = []models.JobState{models.JobEnqueued, models.JobScheduled, models.JobProcessing, models.JobAwaiting, models.JobSucceeded, models.JobFailed, models.JobCancelled}

// kindsData is what both kinds pages read.
type kindsData struct {
	registered map[string]jobs.KindInfo
	counts     map[string]map[models.JobState]int64
	stats      map[string][]models.KindStat
	limits     map[string]models.KindLimit
	hours      []time.Time // the starts of the day's hours, oldest first, UTC
}

// loadKinds reads the counters, the limits and the last day's stats of one kind, or ("") of
// every kind.
func (s *Server) loadKinds(ctx context.Context, kind string) (kindsData, error) {
	d := kindsData{registered: map[string]jobs.KindInfo{}, stats: map[string][]models.KindStat{}}
	for _, k := range s.engine.Kinds() {
		d.registered[k.Name] = k
	}
	var err error
	if d.counts, err = s.store.JobQueries.CountJobsByKind(ctx); err != nil {
		return d, err
	}
	if d.limits, err = s.store.Kinds.KindLimits(ctx); err != nil {
		return d, err
	}
	now := s.cfg.Now().UTC().Truncate(time.Hour)
	for h := kindDay - 1; h >= 0; h-- {
		d.hours = append(d.hours, now.Add(-time.Duration(h)*time.Hour))
	}
	rows, err := s.store.JobQueries.KindStats(ctx, kind, d.hours[0])
	if err != nil {
		return d, err
	}
	for _, r := range rows {
		d.stats[r.Kind] = append(d.stats[r.Kind], r)
	}
	return d, nil
}

// names are the kinds to list: registered here, with jobs, with runs in the day, or limited.
func (d kindsData) names() []string {
	set := map[string]bool{}
	for _, m := range []map[string]bool{keys(d.registered), keys(d.counts), keys(d.stats), keys(d.limits)} {
		maps.Copy(set, m)
	}
	delete(set, "") // counted by a node of an older version, which did not say the kind
	return slices.Sorted(maps.Keys(set))
}

func keys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// row builds a kind's row: its defaults, limits, counts, and its day per hour.
func (d kindsData) row(name string) pages.KindRow {
	r := pages.KindRow{Name: name}
	if k, ok := d.registered[name]; ok {
		r.Registered, r.Queue, r.Attempts = true, k.Queue, k.MaxAttempts
		if k.Timeout > 0 {
			r.Timeout = k.Timeout.String()
		}
	}
	r.Limits = limitsText(d.limits[name])
	c := d.counts[name]
	r.Waiting, r.Running, r.Scheduled, r.FailedAll = c[models.JobEnqueued], c[models.JobProcessing], c[models.JobScheduled], c[models.JobFailed]
	r.Spark.Succeeded, r.Spark.Failed = make([]int64, len(d.hours)), make([]int64, len(d.hours))
	for _, st := range d.stats[name] {
		if i := slices.IndexFunc(d.hours, st.Bucket.Equal); i >= 0 {
			r.Spark.Succeeded[i] += st.Succeeded
			r.Spark.Failed[i] += st.Failed
		}
	}
	sum := models.SummarizeKindStats(d.stats[name])
	r.Succeeded, r.Failed = sum.Succeeded, sum.Failed
	r.Spark.Label = fmt.Sprintf("%d succeeded and %d failed in the last 24 hours", sum.Succeeded, sum.Failed)
	r.Durations = durationsText(sum)
	return r
}

func durationsText(sum models.DurationSummary) pages.KindDurations {
	if sum.Succeeded+sum.Failed == 0 {
		return pages.KindDurations{}
	}
	return pages.KindDurations{P50: components.FormatDuration(sum.P50), P95: components.FormatDuration(sum.P95),
		Max: components.FormatDuration(sum.Max), Mean: components.FormatDuration(sum.Mean)}
}

// limitsText says a kind's limits briefly: "at most 5 at once · 100 per 1m0s".
func limitsText(l models.KindLimit) string {
	var parts []string
	if l.MaxRunning > 0 {
		parts = append(parts, fmt.Sprintf("at most %d at once", l.MaxRunning))
	}
	if rate := rateText(l); rate != "" {
		parts = append(parts, rate)
	}
	return strings.Join(parts, " · ")
}

func rateText(l models.KindLimit) string {
	if l.RateN <= 0 || l.RatePerSeconds <= 0 {
		return ""
	}
	return fmt.Sprintf("%d per %s", l.RateN, shortDuration(time.Duration(l.RatePerSeconds)*time.Second))
}

// shortDuration writes whole durations without zero units: 1m, 1h, 90s, 1h30m.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// handleKinds lists every kind.
func (s *Server) handleKinds(c echo.Context) error {
	d, err := s.loadKinds(c.Request().Context(), "")
	if err != nil {
		return err
	}
	v := pages.KindsView{Layout: s.layoutProps(c, "Kinds", layout.SectionJobs)}
	for _, name := range d.names() {
		v.Rows = append(v.Rows, d.row(name))
	}
	return render(c, http.StatusOK, pages.KindsPage(v))
}

// kindParam is the kind named in the path.
func kindParam(c echo.Context) (string, error) {
	name, err := pathParam(c, "kind")
	if err != nil || !models.KindName.Valid(name) {
		return "", echo.ErrNotFound
	}
	return name, nil
}

// handleKind shows one kind.
func (s *Server) handleKind(c echo.Context) error {
	name, err := kindParam(c)
	if err != nil {
		return err
	}
	v, err := s.kindView(c, name)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, pages.KindPage(v))
}

// kindView is a kind's page, its limits form filled with the limits in force.
func (s *Server) kindView(c echo.Context, name string) (pages.KindView, error) {
	ctx := c.Request().Context()
	d, err := s.loadKinds(ctx, name)
	if err != nil {
		return pages.KindView{}, err
	}
	if !slices.Contains(d.names(), name) {
		return pages.KindView{}, models.Errorf(models.ENOTFOUND, "No kind %q: no server here has its code, and no job of it is kept.", name)
	}
	limit := d.limits[name]
	v := pages.KindView{Layout: s.layoutProps(c, name+" · Kinds", layout.SectionJobs), Row: d.row(name),
		CSRF: csrfToken(c), Cap: limit.MaxRunning, Rate: rateText(limit), Form: kindLimitsForm(limit)}
	if v.RateUsed, err = s.store.Kinds.KindRateUsed(ctx, limit, s.cfg.Now()); err != nil {
		return v, err
	}
	v.CodeNote = "Limits set here hold on every node, and last until the code's own limits for this kind change."
	if k, ok := d.registered[name]; ok {
		v.Priority = k.Priority
	}
	for _, st := range kindStates {
		v.Counts = append(v.Counts, pages.KindCount{State: string(st), Label: stateLabel(st), N: d.counts[name][st]})
	}
	v.Outcomes, v.Times = kindCharts(d, name, viewerZone(c))
	groups, err := s.store.JobQueries.KindFailures(ctx, name, kindFailureScan)
	if err != nil {
		return v, err
	}
	v.FailScan = kindFailureScan
	if v.Audit, err = s.kindAudit(c, name); err != nil {
		return v, err
	}
	for _, g := range groups {
		f := pages.FailureRow{Message: truncateRunes(g.Message, 300), Count: g.Count, LastJobID: g.LastJobID}
		if g.LastAt != nil {
			m := s.moment(c, *g.LastAt)
			f.LastAt = &m
		}
		v.Failures = append(v.Failures, f)
	}
	return v, nil
}

// kindCharts draws a kind's day: outcomes per hour (bars), and the median and 95th percentile
// run times per hour (lines, in microseconds).
func kindCharts(d kindsData, name string, loc *time.Location) (outcomes, times components.Chart) {
	n := len(d.hours)
	labels := make([]string, n)
	for i, h := range d.hours {
		if (n-1-i)%4 == 0 {
			labels[i] = h.In(loc).Format("15:04")
		}
	}
	byHour := make([][]models.KindStat, n)
	for _, st := range d.stats[name] {
		if i := slices.IndexFunc(d.hours, st.Bucket.Equal); i >= 0 {
			byHour[i] = append(byHour[i], st)
		}
	}
	ok := components.ChartSeries{Name: "Succeeded", Class: "series-succeeded", Values: make([]int64, n)}
	bad := components.ChartSeries{Name: "Failed", Class: "series-failed", Values: make([]int64, n)}
	p50 := components.ChartSeries{Name: "Median", Class: "series-p50", Values: make([]int64, n)}
	p95 := components.ChartSeries{Name: "95th percentile", Class: "series-p95", Values: make([]int64, n)}
	for i, rows := range byHour {
		sum := models.SummarizeKindStats(rows)
		ok.Values[i], bad.Values[i] = sum.Succeeded, sum.Failed
		p50.Values[i], p95.Values[i] = -1, -1 // nothing ran: a gap, not a zero
		if sum.Succeeded+sum.Failed > 0 {
			p50.Values[i], p95.Values[i] = sum.P50.Microseconds(), sum.P95.Microseconds()
		}
	}
	outcomes = components.Chart{ID: "kind-outcomes", Title: "Jobs of " + name + " that succeeded and failed per hour, last 24 hours",
		Bars: true, XLabels: labels, Series: []components.ChartSeries{ok, bad}}
	times = components.Chart{ID: "kind-times", Title: "Run times of " + name + " per hour, last 24 hours",
		XLabels: labels, Durations: true, Series: []components.ChartSeries{p50, p95}}
	return outcomes, times
}

// kindLimitsForm is the limits form filled with a kind's current limits.
func kindLimitsForm(l models.KindLimit) pages.KindLimitsForm {
	f := pages.KindLimitsForm{
		MaxRunning: components.Field{Name: "max_running", Label: "Running at once, at most", Type: "number", Value: strconv.Itoa(l.MaxRunning), Required: true,
			Hint: "Across every node; 0 for no cap.", Attrs: templ.Attributes{"min": "0", "inputmode": "numeric"}},
		RateN: components.Field{Name: "rate_n", Label: "Started per period, at most", Type: "number", Value: strconv.Itoa(l.RateN), Required: true,
			Hint: "0 for no rate limit.", Attrs: templ.Attributes{"min": "0", "inputmode": "numeric"}},
		RatePer: components.Field{Name: "rate_per", Label: "Period", Value: "1m",
			Hint: "A duration of whole seconds: 1s, 1m, 1h."},
	}
	if l.RatePerSeconds > 0 {
		f.RatePer.Value = shortDuration(time.Duration(l.RatePerSeconds) * time.Second)
	}
	return f
}

// ratePer reads a rate's period: whole seconds, from 1s to 31 days, when n > 0 (else none is
// needed). It returns the seconds, or what is wrong.
func ratePer(text string, n int) (int64, string) {
	if n <= 0 {
		return 0, ""
	}
	per, err := time.ParseDuration(text)
	switch {
	case err != nil:
		return 0, "A duration such as 1s, 1m or 1h."
	case per < time.Second || per%time.Second != 0 || per > 31*24*time.Hour:
		return 0, "Whole seconds, from 1s to 744h (31 days)."
	}
	return int64(per / time.Second), ""
}

// handleKindLimits saves the cap and rate of a kind from its page; a bad field re-renders the
// page with its error, and nothing is changed. The page is built only then: a save redirects.
func (s *Server) handleKindLimits(c echo.Context) error {
	name, err := kindParam(c)
	if err != nil {
		return err
	}
	form := kindLimitsForm(models.KindLimit{})
	form.MaxRunning.Value = strings.TrimSpace(c.FormValue("max_running"))
	form.RateN.Value = strings.TrimSpace(c.FormValue("rate_n"))
	form.RatePer.Value = strings.TrimSpace(c.FormValue("rate_per"))
	maxRunning, err := strconv.Atoi(form.MaxRunning.Value)
	if err != nil || maxRunning < 0 || maxRunning > 1_000_000 {
		form.MaxRunning.Error = "A whole number from 0 (no cap) to 1,000,000."
	}
	rateN, err := strconv.Atoi(form.RateN.Value)
	if err != nil || rateN < 0 || rateN > 1_000_000_000 {
		form.RateN.Error = "A whole number from 0 (no rate limit) to 1,000,000,000."
	}
	perSeconds, perErr := ratePer(form.RatePer.Value, rateN)
	form.RatePer.Error = perErr
	if form.MaxRunning.Error != "" || form.RateN.Error != "" || form.RatePer.Error != "" {
		v, err := s.kindView(c, name)
		if err != nil {
			return err
		}
		v.Form, v.FormErrors = form, true
		return render(c, http.StatusUnprocessableEntity, pages.KindPage(v))
	}
	limit := models.KindLimit{MaxRunning: maxRunning, RateN: rateN, RatePerSeconds: perSeconds}
	if err := s.store.Kinds.SetKindLimits(c.Request().Context(), name, limit); err != nil {
		return err
	}
	s.log.Info("web: kind limits set", "kind", name, "max_running", maxRunning, "rate_n", rateN, "rate_per_seconds", perSeconds, "user", currentUser(c).Username)
	msg := fmt.Sprintf("Limits of %s saved: %s.", name, limitsText(limit))
	if maxRunning == 0 && rateN == 0 {
		msg = fmt.Sprintf("Limits of %s removed: its jobs run as workers are free.", name)
	}
	setFlash(c, "success", msg)
	return redirect(c, "/dashboard/kinds/"+url.PathEscape(name))
}
