package models

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"
)

// JobFilter selects jobs for the dashboard's lists and bulk actions.
type JobFilter struct {
	State  JobState // "" for every state
	Kind   string   // exact kind, or ""
	Queue  string   // exact queue, or ""
	Search string   // text found in the arguments or the last error (case-insensitive), or ""
	Tag    string   // jobs with this tag, or ""
	// ExceptKinds leaves out the jobs of these kinds (kind NOT IN): the dashboard's
	// housekeeping kinds, while they are hidden. Empty leaves none out.
	ExceptKinds []string
}

// Validate checks a filter that came from a user.
func (f JobFilter) Validate() error {
	if f.State != "" && !slices.Contains(JobStates, f.State) {
		return Errorf(EINVALID, "Unknown job state %q.", f.State)
	}
	if tooLong(f.Search, 200) || tooLong(f.Kind, jobKindMax) || tooLong(f.Queue, jobQueueMax) || tooLong(f.Tag, 50) {
		return Errorf(EINVALID, "The filter is too long.")
	}
	for _, v := range append([]string{f.Search, f.Kind, f.Queue, f.Tag}, f.ExceptKinds...) {
		if !storableText(v) {
			// No job holds such text, and PostgreSQL refuses to compare with it.
			return Errorf(EINVALID, "The filter holds characters no job can have (a NUL byte or invalid UTF-8).")
		}
	}
	return nil
}

// tooLong reports whether s holds more than n characters, as names are counted (NameRule.Max).
func tooLong(s string, n int) bool { return utf8.RuneCountInString(s) > n }

func (f JobFilter) scope(db *gorm.DB, ilike string) *gorm.DB {
	q := db.Model(&Job{})
	if f.State != "" {
		q = q.Where("state = ?", f.State)
	}
	if f.Kind != "" {
		q = q.Where("kind = ?", f.Kind)
	}
	if f.Queue != "" {
		q = q.Where("queue = ?", f.Queue)
	}
	if f.Tag != "" {
		q = q.Where("id IN (SELECT job_id FROM job_tags WHERE tag = ?)", f.Tag)
	}
	if len(f.ExceptKinds) > 0 {
		q = q.Where("kind NOT IN ?", f.ExceptKinds)
	}
	if f.Search != "" {
		// Case-insensitive without LOWER() on every row: SQLite's LIKE already ignores ASCII case,
		// and PostgreSQL has ILIKE. Most jobs have no error, and an empty one can't hold the
		// text: PostgreSQL's ILIKE of it costs a third of a row's (0.2 of 0.68 µs, 212k rows).
		op := ilike
		like := "%" + escapeLike(f.Search) + "%"
		q = q.Where("(args "+op+" ? ESCAPE '\\' OR (last_error <> '' AND last_error "+op+" ? ESCAPE '\\'))", like, like)
	}
	return q
}

// byStateOrder is f's scope and the order of a page of it (a format of the direction). A list of
// one state (and no kind) is read through the state index, in the order it keeps: asked for
// "state = ? ORDER BY id DESC", PostgreSQL, whose statistics last saw many jobs of that state,
// walked the primary key backwards through every job of the others. During a burn-down of
// 200,000 jobs over 1,000,000 in history, the list of enqueued jobs took 314 ms p95, and that
// of succeeded ones 108 ms, the newest ids being jobs still to run (kiln bench --dashboard
// --history 1000000). The state is given as a range of one value, so that the database can't
// drop it from the order as a constant: only that index then gives the rows in order without
// sorting them all. With a kind, the kind's index leads, as before.
func byStateOrder(f JobFilter, db *gorm.DB, ilike string) (*gorm.DB, string) {
	if f.State == "" || f.Kind != "" {
		return f.scope(db, ilike), "id %s"
	}
	state := f.State
	f.State = ""
	return f.scope(db, ilike).Where(stateRange, state, state), stateOrder
}

// stateRange and stateOrder read the jobs of one state (both ? the state) in the order of
// idx_jobs_state_id, the index the planner must take (see byStateOrder); stateOrder is a
// format of the direction.
const (
	stateRange = "state >= ? AND state <= ?"
	stateOrder = "state %[1]s, id %[1]s"
)

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// JobPage is one page of a keyset-paginated job list, newest first.
type JobPage struct {
	Jobs     []Job
	HasNewer bool // a page before this one exists
	HasOlder bool // a page after this one exists
	// SearchedFrom, when not 0, is the lowest job id a text search looked at: older jobs were
	// not searched yet (see DefaultSearchWindow).
	SearchedFrom int64
}

// DefaultSearchWindow is how many job ids one page of a text search looks through at most. A search reads every row it looks at: an unbounded one
// over a million jobs takes about 200 ms when nothing matches, a window of 50,000 about 10 ms,
// and the next window is one click away.
const DefaultSearchWindow = 50_000

// searchSlice is how many ids a text search reads first; each next slice of the window is twice
// the last. A page of a search that matches often is in the newest rows: one query over the
// whole window had PostgreSQL's planner, which can't tell how often text matches, read all of
// the window's rows and sort them (127.7 ms p95 at 1M jobs under a burn-down, against 29 ms on
// SQLite, which walks the ids down and stops at the page's end).
const searchSlice = 1_000

// ListJobs returns up to limit jobs matching f, newest first: those older than before (when
// before > 0), or the newest ones newer than after (when after > 0), or the newest. Pages
// follow ids, so they stay put while jobs arrive.
func (s jobQueries) ListJobs(ctx context.Context, f JobFilter, before, after int64, limit int) (JobPage, error) {
	var page JobPage
	if err := f.Validate(); err != nil {
		return page, err
	}
	db := s.rdb.WithContext(ctx)
	if f.Search != "" {
		hi := before
		if hi == 0 {
			var top *int64
			if err := db.Model(&Job{}).Select("MAX(id)").Scan(&top).Error; err != nil {
				return page, fmt.Errorf("models: list jobs: %w", err)
			}
			if top != nil {
				hi = *top + 1
			}
		}
		var err error
		if after > 0 {
			page.Jobs, err = s.searchSlices(db, f, after+1, hi, true, limit+1)
		} else { // text has no index: bound the rows read
			lo := max(hi-s.searchWindow, 0)
			if lo > 1 {
				page.SearchedFrom = lo
			}
			page.Jobs, err = s.searchSlices(db, f, lo, hi, false, limit+1)
		}
		if err != nil {
			return page, fmt.Errorf("models: list jobs: %w", err)
		}
	} else {
		q, order := byStateOrder(f, db, s.drv.ILike())
		switch {
		case after > 0:
			q = q.Where("id > ?", after).Order(fmt.Sprintf(order, "ASC"))
		case before > 0:
			q = q.Where("id < ?", before).Order(fmt.Sprintf(order, "DESC"))
		default:
			q = q.Order(fmt.Sprintf(order, "DESC"))
		}
		if err := q.Limit(limit + 1).Find(&page.Jobs).Error; err != nil {
			return page, fmt.Errorf("models: list jobs: %w", err)
		}
	}
	more := len(page.Jobs) > limit
	if more {
		page.Jobs = page.Jobs[:limit]
	}
	if after > 0 {
		slices.Reverse(page.Jobs)
		page.HasNewer, page.HasOlder = more, true
	} else {
		page.HasOlder, page.HasNewer = more, before > 0
	}
	if after > 0 && len(page.Jobs) == 0 {
		page.HasOlder = false
	}
	return page, nil
}

// searchSlices reads up to want jobs matching f (a text search) with ids from lo to below hi,
// newest first (oldest first when up), a slice of ids at a time: searchSlice, then twice the
// last, so that a page found among the first rows reads no more of them.
func (s jobQueries) searchSlices(db *gorm.DB, f JobFilter, lo, hi int64, up bool, want int) ([]Job, error) {
	var out []Job
	for n := int64(searchSlice); lo < hi && len(out) < want; n *= 2 {
		q := f.scope(db, s.drv.ILike())
		if up {
			top := min(hi, lo+n)
			q = q.Where("id >= ? AND id < ?", lo, top).Order("id ASC")
			lo = top
		} else {
			bottom := max(lo, hi-n)
			q = q.Where("id >= ? AND id < ?", bottom, hi).Order("id DESC")
			hi = bottom
		}
		var found []Job
		if err := q.Limit(want - len(out)).Find(&found).Error; err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	return out, nil
}

// ActivityPerState is how many of the newest jobs of each final state LatestActivity looks
// through for the ones that finished last, read through the state index. An index on
// finished_at would make every finish write one more index entry: it cost 13% of PostgreSQL's
// burn-down (kiln bench, 2,000 workers, 4 rounds). The newest 10,000 jobs, read and sorted by
// finish, took 7.5 ms at 1,000,000 jobs on PostgreSQL (40 ms p95 for the overview under a
// burn-down), and found no finish at all while a backlog longer than that waited: the newest
// jobs were the ones still to run.
const ActivityPerState = 500

// activityStates are the states whose jobs LatestActivity shows by finish.
var activityStates = []JobState{JobSucceeded, JobFailed, JobCancelled, JobSkipped}

// LatestActivity returns the n jobs that started or finished last, latest first, but those of
// exceptKinds: the running jobs by start (they are few: one per busy worker), and the finished
// ones (but deleted) by finish, among the newest ActivityPerState of each final state.
func (s jobQueries) LatestActivity(ctx context.Context, n int, exceptKinds []string) ([]Job, error) {
	if n <= 0 {
		return nil, nil
	}
	db := s.rdb.WithContext(ctx)
	var running, finished []Job
	if err := (JobFilter{State: JobProcessing, ExceptKinds: exceptKinds}).scope(db, "").Order("started_at DESC, id DESC").Limit(n).
		Find(&running).Error; err != nil {
		return nil, fmt.Errorf("models: latest running jobs: %w", err)
	}
	// Each state's newest, through the state index in its order (byStateOrder), then the n
	// latest finishes among them, then those n rows whole.
	newest := make([]any, len(activityStates))
	for i, st := range activityStates {
		newest[i] = JobFilter{ExceptKinds: exceptKinds}.scope(db.Session(&gorm.Session{NewDB: true}), "").Select("id", "finished_at").
			Where(stateRange, st, st).Order(fmt.Sprintf(stateOrder, "DESC")).Limit(ActivityPerState)
	}
	union := strings.TrimSuffix(strings.Repeat("SELECT * FROM (?) AS s UNION ALL ", len(newest)), " UNION ALL ")
	var latest []int64
	if err := db.Raw("SELECT id FROM ("+union+") AS f ORDER BY finished_at DESC, id DESC LIMIT ?", append(newest, n)...).
		Scan(&latest).Error; err != nil {
		return nil, fmt.Errorf("models: latest finished jobs: %w", err)
	}
	if len(latest) > 0 {
		if err := db.Where("id IN ?", latest).Order("finished_at DESC, id DESC").Find(&finished).Error; err != nil {
			return nil, fmt.Errorf("models: latest finished jobs: %w", err)
		}
	}
	// The two reads are not one snapshot: a job that finished between them is in both.
	all := finished
	for _, j := range running {
		if !slices.ContainsFunc(finished, func(f Job) bool { return f.ID == j.ID }) {
			all = append(all, j)
		}
	}
	slices.SortFunc(all, func(a, b Job) int {
		if c := b.LastActivity().Compare(a.LastActivity()); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return all[:min(n, len(all))], nil
}

// RunningByQueue counts, per queue, the jobs running on the given servers (one per busy
// worker: few rows, from the (state, id) index).
func (s jobQueries) RunningByQueue(ctx context.Context, servers []string) (map[string]int64, error) {
	out := map[string]int64{}
	if len(servers) == 0 {
		return out, nil
	}
	var rows []struct {
		Queue string
		N     int64
	}
	err := s.rdb.WithContext(ctx).Model(&Job{}).Select("queue, COUNT(*) AS n").
		Where("state = ? AND server_id IN ?", JobProcessing, servers).Group("queue").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("models: running jobs by queue: %w", err)
	}
	for _, r := range rows {
		out[r.Queue] = r.N
	}
	return out, nil
}

// CountJobs counts the jobs matching f.
func (s jobQueries) CountJobs(ctx context.Context, f JobFilter) (int64, error) {
	var n int64
	if err := f.Validate(); err != nil {
		return 0, err
	}
	if err := f.scope(s.rdb.WithContext(ctx), s.drv.ILike()).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("models: count jobs: %w", err)
	}
	return n, nil
}

// JobIDs returns up to limit ids of jobs matching f, below `below` (0 for no bound), highest
// first: a bulk action walks them batch by batch.
func (s jobQueries) JobIDs(ctx context.Context, f JobFilter, below int64, limit int) ([]int64, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	q := f.scope(s.rdb.WithContext(ctx), s.drv.ILike())
	if below > 0 {
		q = q.Where("id < ?", below)
	}
	var ids []int64
	if err := q.Order("id DESC").Limit(limit).Pluck("id", &ids).Error; err != nil {
		return nil, fmt.Errorf("models: job ids: %w", err)
	}
	return ids, nil
}

// Continuations returns the jobs that continue the given job.
func (s jobQueries) Continuations(ctx context.Context, parentID int64) ([]Job, error) {
	var out []Job
	if err := s.rdb.WithContext(ctx).Where("parent_id = ?", parentID).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: continuations of job %d: %w", parentID, err)
	}
	return out, nil
}

// Distinct returns the distinct values of a job column ("kind" or "queue"), for filter suggestions.
func (s jobQueries) Distinct(ctx context.Context, column string) ([]string, error) {
	if column != "kind" && column != "queue" {
		return nil, Errorf(EINVALID, "no suggestions for %q", column)
	}
	var out []string
	db := s.rdb.WithContext(ctx)
	// The counters know every queue and kind that has jobs, without a scan: DISTINCT over jobs
	// read a whole index, 1,000,000 entries for the kinds at 1M jobs (PostgreSQL has no skip
	// scan), at every view of the jobs page. A kind is listed while it has jobs counted.
	q := "SELECT queue FROM job_queue_counts UNION SELECT queue FROM job_queue_count_deltas ORDER BY 1 LIMIT 500"
	if column == "kind" {
		q = "SELECT kind FROM job_queue_counts WHERE n > 0 UNION SELECT kind FROM job_queue_count_deltas WHERE delta > 0 AND kind <> '' ORDER BY 1 LIMIT 500"
	}
	if err := db.Raw(q).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("models: distinct %s: %w", column, err)
	}
	return out, nil
}

// GetRecurringByID returns a recurring job by id, or an ENOTFOUND error.
func (s recurringStore) GetRecurringByID(ctx context.Context, id int64) (*RecurringJob, error) {
	var rj RecurringJob
	err := s.rdb.WithContext(ctx).Take(&rj, id).Error
	if err == gorm.ErrRecordNotFound {
		return nil, Errorf(ENOTFOUND, "There is no recurring job %d.", id)
	}
	if err != nil {
		return nil, fmt.Errorf("models: get recurring job %d: %w", id, err)
	}
	return &rj, nil
}

// GetJob returns the job with the given id, or an ENOTFOUND error.
func (s jobQueries) GetJob(ctx context.Context, id int64) (*Job, error) {
	var j Job
	err := s.rdb.WithContext(ctx).Take(&j, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENOTFOUND, "Job %d does not exist (it may have been cleaned up).", id)
	}
	if err != nil {
		return nil, fmt.Errorf("models: get job %d: %w", id, err)
	}
	return &j, nil
}

// JobEvents returns a job's history, oldest first: its stored events and the ones its row
// implies (see History). A job that no longer exists has none.
func (s jobQueries) JobEvents(ctx context.Context, jobID int64) ([]JobEvent, error) {
	// The row first: events stored after it was read (a run's end) only add what it lacks.
	var j Job
	err := s.rdb.WithContext(ctx).Take(&j, jobID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("models: job %d: %w", jobID, err)
	}
	var events []JobEvent
	if err := s.rdb.WithContext(ctx).Where("job_id = ?", jobID).Order("id").Find(&events).Error; err != nil {
		return nil, fmt.Errorf("models: job %d events: %w", jobID, err)
	}
	return History(&j, events), nil
}
