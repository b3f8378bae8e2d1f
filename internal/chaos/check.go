package chaos

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/kilnhq/kiln/models"
)

// nextRun is the run recorded after run a of a job: the next number, or a later one when a
// claim's run was never recorded (its node killed between the claim and the probe's insert).
const nextRun = "(SELECT MIN(c.run) FROM " + RunsTable + " c WHERE c.job_id = a.job_id AND c.run > a.run)"

// outcomeWindow is how long after a run ends its outcome may still be unwritten (the completer
// gathers outcomes for milliseconds; a loaded machine, or a retried write, takes longer): a kill
// within it may make the job run again.
const outcomeWindow = 3 * time.Second

// errNoRuns means the probes recorded nothing: the run, not Kiln, went wrong.
var errNoRuns = errors.New("chaos: no probe recorded a run")

// probeKinds are the kinds of the jobs enqueued (the nodes' own jobs, such as the overdue
// sweep each start enqueues, are not counted, but must succeed too).
var probeKinds = []string{KindProbe, KindFlaky, KindParent, KindChild}

// check looks at what the run left and adds what Kiln got wrong to r.Violations.
func check(ctx context.Context, store *models.Store, cfg Config, r *Report) error {
	db := store.ToolDB().WithContext(ctx)
	bad := func(format string, args ...any) { r.Violations = append(r.Violations, fmt.Sprintf(format, args...)) }
	count := func(q string, args ...any) (int64, error) {
		var n int64
		err := db.Raw(q, args...).Scan(&n).Error
		return n, err
	}
	var err error

	// Every job, and exactly the jobs asked for, each in a final state and succeeded.
	if r.Jobs, err = count("SELECT COUNT(*) FROM jobs WHERE kind IN ?", probeKinds); err != nil {
		return err
	}
	if r.Jobs != int64(cfg.Jobs) {
		bad("%d probe jobs in the database, %d enqueued (a job lost or made twice)", r.Jobs, cfg.Jobs)
	}
	var states []struct {
		State string
		N     int64
	}
	if err := db.Raw("SELECT state, COUNT(*) AS n FROM jobs WHERE kind <> ? GROUP BY state", KindTick).Scan(&states).Error; err != nil {
		return err
	}
	for _, s := range states {
		if s.State != string(models.JobSucceeded) {
			bad("%d jobs ended %s, not succeeded", s.N, s.State)
		}
	}
	// The last ticks may not have run when the nodes stopped, and one a last kill caught may
	// still wait for its rescue; none may have failed.
	if n, err := count("SELECT COUNT(*) FROM jobs WHERE kind = ? AND state NOT IN ('succeeded', 'enqueued', 'scheduled') AND NOT (state = 'processing' AND server_id IN (SELECT server FROM "+KillsTable+"))", KindTick); err != nil {
		return err
	} else if n > 0 {
		bad("%d recurring ticks neither succeeded nor wait to run", n)
	}
	if r.Runs, err = count("SELECT COUNT(*) FROM " + RunsTable); err != nil {
		return err
	}
	if r.Runs == 0 {
		return errNoRuns
	}
	if n, err := count("SELECT COUNT(*) FROM jobs j WHERE kind IN ? AND NOT EXISTS (SELECT 1 FROM "+RunsTable+" r WHERE r.job_id = j.id)", probeKinds); err != nil {
		return err
	} else if n > 0 {
		bad("%d succeeded jobs recorded no run", n)
	}

	// One claim ran once: two runs with one run number are one claim handed out twice.
	if n, err := count("SELECT COUNT(*) FROM (SELECT job_id, run FROM " + RunsTable + " GROUP BY job_id, run HAVING COUNT(*) > 1) d"); err != nil {
		return err
	} else if n > 0 {
		bad("%d claims ran more than once", n)
	}
	// No probe but the flaky ones failed an attempt (a failure would hide a run gone wrong).
	if n, err := count("SELECT COUNT(*) FROM jobs WHERE kind IN ? AND kind <> ? AND attempt > 1", probeKinds, KindFlaky); err != nil {
		return err
	} else if n > 0 {
		bad("%d probe jobs needed more than one attempt", n)
	}
	// No job ran on two servers at once: a later run of a job starts only after the earlier
	// one ended, or after the node that held it was killed.
	overlaps, err := count(`SELECT COUNT(*) FROM ` + RunsTable + ` a JOIN ` + RunsTable + ` b ON a.job_id = b.job_id AND a.run < b.run
		LEFT JOIN ` + KillsTable + ` k ON k.server = a.server
		WHERE b.started_us < COALESCE(a.finished_us, k.killed_us, b.started_us + 1)`)
	if err != nil {
		return err
	}
	if overlaps > 0 {
		bad("%d times a job's run started while an earlier run of it went on (two servers at once)", overlaps)
	}
	// Only jobs whose run a killed node held ran again: a run of the same attempt as the run
	// before it follows a run on a node killed while it held it (killed after that run started,
	// before this one started, and while the run went on or just after it ended, its outcome
	// not yet written), and is a re-run; a run of a later attempt follows a failure (a retry).
	if r.Reruns, err = count(`SELECT COUNT(*) FROM ` + RunsTable + ` a JOIN ` + RunsTable + ` b ON a.job_id = b.job_id AND b.run = ` + nextRun + `
		WHERE b.attempt = a.attempt`); err != nil {
		return err
	}
	strayPairs := `FROM ` + RunsTable + ` a JOIN ` + RunsTable + ` b ON a.job_id = b.job_id AND b.run = ` + nextRun + `
		WHERE b.attempt = a.attempt AND NOT EXISTS (SELECT 1 FROM ` + KillsTable + ` k WHERE k.server = a.server
			AND k.killed_us >= a.started_us AND b.started_us >= k.killed_us
			AND (a.finished_us IS NULL OR a.finished_us >= k.killed_us - ?))`
	strays, err := count(`SELECT COUNT(*) `+strayPairs, outcomeWindow.Microseconds())
	if err != nil {
		return err
	}
	if strays > 0 {
		detail, err := describeStrays(ctx, store, strayPairs)
		if err != nil {
			return err
		}
		bad("%d jobs ran their attempt again although the node that ran it was not killed%s", strays, detail)
	}
	if r.Retries, err = count(`SELECT COUNT(*) FROM ` + RunsTable + ` a JOIN ` + RunsTable + ` b ON a.job_id = b.job_id AND b.run = ` + nextRun + `
		WHERE b.attempt > a.attempt`); err != nil {
		return err
	}
	if n, err := count(`SELECT COUNT(*) FROM jobs WHERE kind = ? AND attempt <> 3`, KindFlaky); err != nil {
		return err
	} else if n > 0 {
		bad("%d flaky jobs did not succeed at their third attempt", n)
	}
	// A continuation ran only after its parent succeeded.
	if n, err := count(`SELECT COUNT(*) FROM jobs c JOIN jobs p ON p.id = c.parent_id JOIN ` + RunsTable + ` cr ON cr.job_id = c.id
		WHERE c.kind = '` + KindChild + `' AND cr.started_us < (SELECT MAX(pr.finished_us) FROM ` + RunsTable + ` pr WHERE pr.job_id = p.id)`); err != nil {
		return err
	} else if n > 0 {
		bad("%d continuations started before their parent finished", n)
	}
	// Every probe was made once: each one's arguments are its own (a duplicate enqueued twice
	// under one unique key, or a batch retried on another node, would show twice).
	if n, err := count(`SELECT COUNT(*) FROM (SELECT kind, args FROM jobs WHERE kind IN ? GROUP BY kind, args HAVING COUNT(*) > 1) d`, probeKinds); err != nil {
		return err
	} else if n > 0 {
		bad("%d probes were made more than once", n)
	}

	// Each recurring occurrence made one job (each has its own run_at), and no more ticks were
	// made than seconds passed from the first to the last.
	var made []time.Time
	if err := db.Model(&models.Job{}).Where("kind = ?", KindTick).Order("created_at").Pluck("created_at", &made).Error; err != nil {
		return err
	}
	r.Ticks = int64(len(made))
	if n, err := count("SELECT COUNT(DISTINCT run_at) FROM jobs WHERE kind = ?", KindTick); err != nil {
		return err
	} else if n < r.Ticks {
		bad("%d recurring ticks for %d occurrences: an occurrence made more than one job", r.Ticks, n)
	}
	if len(made) > 0 {
		seconds := int64(made[len(made)-1].Sub(made[0])/time.Second) + 2
		if r.Ticks > seconds {
			bad("%d recurring ticks in %d seconds: an occurrence made more than one job", r.Ticks, seconds)
		}
	}

	// Every workflow succeeded, with every step run; no step started before each of its
	// dependencies' last run ended.
	if n, err := count("SELECT COUNT(*) FROM workflows WHERE state = ? AND steps_left = 0", models.WorkflowSucceeded); err != nil {
		return err
	} else if want := int64(workflowsOf(cfg)); n != want {
		bad("%d workflows succeeded with every step done, of %d started", n, want)
	}
	if n, err := count(`SELECT COUNT(*) FROM job_deps d WHERE EXISTS (SELECT 1 FROM ` + RunsTable + ` c WHERE c.job_id = d.job_id
		AND c.started_us < (SELECT MAX(p.finished_us) FROM ` + RunsTable + ` p WHERE p.job_id = d.parent_id))`); err != nil {
		return err
	} else if n > 0 {
		bad("%d workflow steps started before a step they depend on ended", n)
	}

	// Each job's events form a valid path to its state.
	if err := checkPaths(ctx, store, bad); err != nil {
		return err
	}

	// The counters equal a count of the jobs.
	counted, err := store.JobQueries.CountJobsByQueue(ctx)
	if err != nil {
		return err
	}
	var rows []struct {
		Queue, State string
		N            int64
	}
	if err := db.Raw("SELECT queue, state, COUNT(*) AS n FROM jobs GROUP BY queue, state").Scan(&rows).Error; err != nil {
		return err
	}
	scanned := map[string]map[models.JobState]int64{}
	for _, row := range rows {
		if scanned[row.Queue] == nil {
			scanned[row.Queue] = map[models.JobState]int64{}
		}
		scanned[row.Queue][models.JobState(row.State)] = row.N
	}
	if !reflect.DeepEqual(counted, scanned) {
		bad("the counters say %v, the jobs %v", counted, scanned)
	}

	// No log says "database is locked", and none shows a panic.
	logs, err := filepath.Glob(filepath.Join(cfg.Dir, "*.log"))
	if err != nil {
		return err
	}
	for _, path := range logs {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, "database is locked") {
				r.LockedLines++
				if r.LockedLines == 1 {
					bad("%s: %s", filepath.Base(path), line)
				}
			}
			if strings.Contains(line, "panic") || strings.Contains(line, "DATA RACE") || strings.Contains(line, "fatal error:") {
				r.PanicLines++
				if r.PanicLines == 1 {
					bad("%s: %s", filepath.Base(path), line)
				}
			}
		}
		_ = f.Close()
	}
	return nil
}

// checkPaths reads every job's state and events and reports the jobs whose events do not form
// a valid path to their state. The row tells the happy path (made, claimed, succeeded): no
// event records an enqueue into enqueued, a claim, or a success, so between two events, and
// after the last, a job may have been claimed (enqueued to processing) and may have succeeded
// (processing to succeeded) without one.
func checkPaths(ctx context.Context, store *models.Store, bad func(string, ...any)) error {
	db := store.ToolDB().WithContext(ctx)
	var jobs []struct {
		ID       int64
		State    string
		ParentID *int64
	}
	if err := db.Raw("SELECT id, state, parent_id FROM jobs ORDER BY id").Scan(&jobs).Error; err != nil {
		return err
	}
	var events []struct {
		JobID     int64
		FromState string
		ToState   string
	}
	if err := db.Raw("SELECT job_id, from_state, to_state FROM job_events ORDER BY job_id, id").Scan(&events).Error; err != nil {
		return err
	}
	byJob := make(map[int64][][2]string, len(jobs))
	for _, e := range events {
		byJob[e.JobID] = append(byJob[e.JobID], [2]string{e.FromState, e.ToState})
	}
	// A workflow's step that waits for others is made awaiting, with no event (the row tells
	// it, as an enqueue's): one with an edge in, but for a fan-out's items made when it was
	// expanded (item 1 on), which are made enqueued.
	var waiting []int64
	if err := db.Raw(`SELECT DISTINCT jd.job_id FROM job_deps jd JOIN workflow_steps ws ON ws.job_id = jd.job_id
		WHERE ws.item IS NULL OR ws.item = 0`).Scan(&waiting).Error; err != nil {
		return err
	}
	step := make(map[int64]bool, len(waiting))
	for _, id := range waiting {
		step[id] = true
	}
	invalid := 0
	for _, j := range jobs {
		start := "enqueued"
		if j.ParentID != nil || step[j.ID] {
			start = "awaiting"
		}
		if why := validPath(start, byJob[j.ID], j.State); why != "" {
			invalid++
			if invalid <= 5 {
				bad("job %d: %s (events %v, state %s)", j.ID, why, byJob[j.ID], j.State)
			}
		}
	}
	if invalid > 5 {
		bad("%d more jobs with an invalid path", invalid-5)
	}
	return nil
}

// transitions are the state changes events may record.
var transitions = map[[2]string]bool{
	{"", "enqueued"}: true, {"", "scheduled"}: true, {"", "awaiting"}: true, {"", "processing"}: true,
	{"processing", "succeeded"}: true, {"processing", "failed"}: true, {"processing", "scheduled"}: true,
	{"processing", "enqueued"}: true, {"processing", "cancelled"}: true, {"scheduled", "enqueued"}: true,
	{"awaiting", "enqueued"}: true, {"awaiting", "cancelled"}: true, {"awaiting", "skipped"}: true, {"enqueued", "cancelled"}: true,
	{"scheduled", "cancelled"}: true, {"failed", "enqueued"}: true, {"cancelled", "enqueued"}: true,
	{"succeeded", "enqueued"}: true,
}

// silent are the steps the row tells, that no event records.
var silent = map[string][]string{"enqueued": {"processing"}, "processing": {"succeeded"}}

// reach reports whether state to follows from without an event (itself, or by silent steps).
func reach(from, to string) bool {
	seen := map[string]bool{}
	next := []string{from}
	for len(next) > 0 {
		s := next[0]
		next = next[1:]
		if s == to {
			return true
		}
		if seen[s] {
			continue
		}
		seen[s] = true
		next = append(next, silent[s]...)
	}
	return false
}

// validPath says what is wrong with a job's events from its first state to its last ("" when
// nothing is).
func validPath(start string, events [][2]string, final string) string {
	at := start
	for i, e := range events {
		if !transitions[e] {
			return fmt.Sprintf("event %d: %s to %s is no state change Kiln makes", i+1, e[0], e[1])
		}
		if e[0] == "" {
			if i > 0 {
				return fmt.Sprintf("event %d makes the job again", i+1)
			}
			at = e[1]
			continue
		}
		if !reach(at, e[0]) {
			return fmt.Sprintf("event %d leaves %s, but the job was %s", i+1, e[0], at)
		}
		at = e[1]
	}
	if !reach(at, final) {
		return fmt.Sprintf("its events end in %s, its row says %s", at, final)
	}
	return ""
}

// describeStrays tells what happened to the first few jobs re-run without a kill that explains
// it: their two runs, whether and when the first run's node was killed, and the job's events
// (a rescue says why), in milliseconds from the first run's start. A failure in CI then
// explains itself.
func describeStrays(ctx context.Context, store *models.Store, pairs string) (string, error) {
	db := store.ToolDB().WithContext(ctx)
	var rows []struct {
		JobID              int64
		ARun, BRun         int
		AServer, BServer   string
		AStarted, BStarted int64
		AFinished, Killed  *int64
	}
	q := `SELECT a.job_id, a.run AS a_run, b.run AS b_run, a.server AS a_server, b.server AS b_server,
		a.started_us AS a_started, b.started_us AS b_started, a.finished_us AS a_finished,
		(SELECT killed_us FROM ` + KillsTable + ` k WHERE k.server = a.server) AS killed ` + pairs + ` ORDER BY a.job_id LIMIT 5`
	if err := db.Raw(q, outcomeWindow.Microseconds()).Scan(&rows).Error; err != nil {
		return "", err
	}
	var b strings.Builder
	ms := func(us, from int64) string { return fmt.Sprintf("%+.1f ms", float64(us-from)/1000) }
	for _, r := range rows {
		finished := "never"
		if r.AFinished != nil {
			finished = ms(*r.AFinished, r.AStarted)
		}
		fmt.Fprintf(&b, "\n    job %d: run %d on %s, finished %s", r.JobID, r.ARun, r.AServer, finished)
		if r.Killed != nil {
			fmt.Fprintf(&b, ", its node killed at %s", ms(*r.Killed, r.AStarted))
		} else {
			b.WriteString(", its node never killed")
		}
		fmt.Fprintf(&b, "; run %d on %s started %s", r.BRun, r.BServer, ms(r.BStarted, r.AStarted))
		events, err := store.JobQueries.JobEvents(ctx, r.JobID)
		if err != nil {
			return "", err
		}
		for _, e := range events {
			fmt.Fprintf(&b, "\n      %s %s>%s by %q: %s", ms(e.At.UnixMicro(), r.AStarted), e.From, e.To, e.ServerID, e.Reason)
		}
	}
	return b.String(), nil
}
