package models_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// argStep is a step whose job has these arguments (JSON).
func argStep(name, args string, deps ...string) models.NewStep {
	st := step(name, deps...)
	st.Job.Args = args
	return st
}

// items is a fan-out's list.
func items(t *testing.T, list string) []json.RawMessage {
	t.Helper()
	out, err := models.ItemsOf(list)
	require.NoError(t, err)
	return out
}

// stepJobsOf are the jobs of the named step (one per item for a fan-out), in item order.
func stepJobsOf(t *testing.T, s *models.Store, id int64, name string) []*models.Job {
	t.Helper()
	steps, err := s.Workflows.WorkflowSteps(ctx, id)
	require.NoError(t, err)
	var out []*models.Job
	var order []int
	for _, st := range steps {
		if st.Step != name {
			continue
		}
		j, err := s.JobQueries.GetJob(ctx, st.JobID)
		require.NoError(t, err)
		out = append(out, j)
		n := 0
		if st.Item != nil {
			n = *st.Item
		}
		order = append(order, n)
	}
	sort.Sort(byItem{out, order})
	return out
}

type byItem struct {
	jobs  []*models.Job
	items []int
}

func (b byItem) Len() int           { return len(b.jobs) }
func (b byItem) Less(i, j int) bool { return b.items[i] < b.items[j] }
func (b byItem) Swap(i, j int) {
	b.jobs[i], b.jobs[j] = b.jobs[j], b.jobs[i]
	b.items[i], b.items[j] = b.items[j], b.items[i]
}

// runAll claims what is enqueued and finishes each job of the named step with the result
// result gives it (succeeded, or failed when it gives "!"); the others go back.
func runAll(t *testing.T, s *models.Store, id int64, name string, result func(j *models.Job) string) {
	t.Helper()
	mine := map[int64]bool{}
	for _, j := range stepJobsOf(t, s, id, name) {
		mine[j.ID] = true
	}
	for _, j := range claim(t, s, "n1", 1000) {
		switch {
		case !mine[j.ID]:
			finish(t, s, j, models.JobFinish{State: models.JobEnqueued, RefundAttempt: true})
		case result(j) == "!":
			finish(t, s, j, models.JobFinish{State: models.JobFailed, Error: "boom"})
		default:
			finish(t, s, j, models.JobFinish{State: models.JobSucceeded, Result: result(j)})
		}
	}
}

func noResult(*models.Job) string { return "" }

// A fan-out over a list given when the run is made: one job per item, the item filled into
// each one's arguments as a value of its own type; the step after it waits for every item. One
// that waits for a dependency is one job until it ends (then expanded, as cheaply as an
// enqueue), counted as its items; one that waits for none is its items at once.
func TestWorkflowFanOutOverAList(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		fan := argStep("render", `{"page":"${item.n}","label":"page ${item.n} of ${item.doc}"}`, "start")
		fan.Items = items(t, `[{"n":1,"doc":"a"},{"n":2,"doc":"a"},{"n":3,"doc":"b"}]`)
		wf := workflow(t, s, step("start"), fan, step("zip", "render"))
		require.Equal(t, 5, wf.StepsTotal, "a fan-out is a job per item")
		require.Len(t, stepJobsOf(t, s, wf.ID, "render"), 1, "one job until start ends")
		nodes, err := s.Workflows.WorkflowGraph(ctx, wf.ID)
		require.NoError(t, err)
		require.Equal(t, 3, nodes[1].Jobs, "drawn as its items, awaiting")
		require.Equal(t, 3, nodes[1].States[models.JobAwaiting])

		runAll(t, s, wf.ID, "start", noResult)
		jobs := stepJobsOf(t, s, wf.ID, "render")
		require.Len(t, jobs, 3)
		require.JSONEq(t, `{"page":1,"label":"page 1 of a"}`, jobs[0].Args)
		require.JSONEq(t, `{"page":3,"label":"page 3 of b"}`, jobs[2].Args)
		for _, j := range jobs {
			require.Equal(t, models.JobEnqueued, j.State)
		}
		got, err := s.Workflows.GetWorkflow(ctx, wf.ID)
		require.NoError(t, err)
		require.Equal(t, 5, got.StepsTotal, "counted once")
		require.Equal(t, 4, got.StepsLeft)

		runAll(t, s, wf.ID, "render", func(j *models.Job) string {
			if strings.Contains(j.Args, `"page":2`) {
				return "" // no result: the step after gets null for it
			}
			return `{"ok":true}`
		})
		require.Equal(t, models.JobSucceeded, stepStates(t, s, wf.ID)["render"])
		require.Equal(t, models.JobEnqueued, stepStates(t, s, wf.ID)["zip"])
		runAll(t, s, wf.ID, "zip", noResult)
		got, err = s.Workflows.GetWorkflow(ctx, wf.ID)
		require.NoError(t, err)
		require.Equal(t, models.WorkflowSucceeded, got.State)

		root := argStep("each", `{"x":"${item}"}`)
		root.Items = items(t, `[1,2]`)
		wf = workflow(t, s, root, step("after", "each"))
		jobs = stepJobsOf(t, s, wf.ID, "each")
		require.Len(t, jobs, 2, "no dependency: its items at once")
		require.Equal(t, models.JobEnqueued, jobs[1].State)
		require.JSONEq(t, `{"x":2}`, jobs[1].Args)
	})
}

// A fan-out over a list whose dependency failed is skipped as its items: the run ends.
func TestWorkflowFanOutOverAListSkipped(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		fan := argStep("render", `{"x":"${item}"}`, "start")
		fan.Items = items(t, `[1,2,3,4]`)
		wf := workflow(t, s, step("start"), fan)
		require.Equal(t, 5, wf.StepsTotal)
		runAll(t, s, wf.ID, "start", func(*models.Job) string { return "!" })
		got, err := s.Workflows.GetWorkflow(ctx, wf.ID)
		require.NoError(t, err)
		require.Equal(t, models.WorkflowFailed, got.State)
		require.Equal(t, 0, got.StepsLeft)

		require.NoError(t, retryRun(s, wf.ID))
		got, err = s.Workflows.GetWorkflow(ctx, wf.ID)
		require.NoError(t, err)
		require.Equal(t, 5, got.StepsLeft, "start, and render as its four items")
		runAll(t, s, wf.ID, "start", noResult)
		require.Len(t, stepJobsOf(t, s, wf.ID, "render"), 4)
		runAll(t, s, wf.ID, "render", noResult)
		got, err = s.Workflows.GetWorkflow(ctx, wf.ID)
		require.NoError(t, err)
		require.Equal(t, models.WorkflowSucceeded, got.State)
	})
}

// Results pass to the steps after: a fan-out over a list in a dependency's result, a step that
// uses the fan-out's results (a list, in item order) and a value inside a longer string.
func TestWorkflowResultsFillTemplatesAndFanOut(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		fan := argStep("upload", `{"file":"${item}","bucket":"${steps.list.result.bucket}"}`, "list")
		fan.ForEach = "${steps.list.result.files}"
		tell := argStep("tell", `{"sizes":"${steps.upload.result}","text":"uploaded ${steps.upload.result.1.size} bytes to ${steps.list.result.bucket}"}`, "upload", "list")
		wf := workflow(t, s, step("list"), fan, tell)
		require.Equal(t, 3, wf.StepsTotal)

		runAll(t, s, wf.ID, "list", func(*models.Job) string { return `{"files":["a.pdf","b.pdf","c.pdf"],"bucket":"bk"}` })
		jobs := stepJobsOf(t, s, wf.ID, "upload")
		require.Len(t, jobs, 3, "expanded into one job per file")
		for i, j := range jobs {
			require.JSONEq(t, fmt.Sprintf(`{"file":"%c.pdf","bucket":"bk"}`, 'a'+i), j.Args)
			require.Equal(t, models.JobEnqueued, j.State)
		}
		all, err := s.Workflows.WorkflowSteps(ctx, wf.ID)
		require.NoError(t, err)
		for _, st := range all {
			if st.Step == "upload" {
				require.Equal(t, []string{"list"}, st.DependsOn, "each item waited for what the step waited for")
			}
		}
		got, err := s.Workflows.GetWorkflow(ctx, wf.ID)
		require.NoError(t, err)
		require.Equal(t, 5, got.StepsTotal)
		require.Equal(t, 4, got.StepsLeft)

		runAll(t, s, wf.ID, "upload", func(j *models.Job) string {
			var a struct{ File string }
			require.NoError(t, json.Unmarshal([]byte(j.Args), &a))
			return fmt.Sprintf(`{"size":%d}`, 100+int(a.File[0]-'a'))
		})
		tj := stepJobsOf(t, s, wf.ID, "tell")[0]
		require.Equal(t, models.JobEnqueued, tj.State)
		require.JSONEq(t, `{"sizes":[{"size":100},{"size":101},{"size":102}],"text":"uploaded 101 bytes to bk"}`, tj.Args)

		res, err := s.Workflows.StepResult(ctx, tj.ID, "upload")
		require.NoError(t, err)
		require.JSONEq(t, `[{"size":100},{"size":101},{"size":102}]`, res)
		_, err = s.Workflows.StepResult(ctx, tj.ID, "nope")
		require.True(t, models.ErrorCode(err) == models.ENOTFOUND, "%v", err)
	})
}

// A template that can't be filled fails its step before it runs, saying why; the steps that
// need it are skipped. A fan-out over an empty list has nothing to do: it succeeds.
func TestWorkflowTemplateThatCantBeFilled(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		use := argStep("use", `{"path":"${steps.dump.result.path}"}`, "dump")
		empty := argStep("each", `{"x":"${item}"}`, "dump")
		empty.ForEach = "${steps.dump.result.none}"
		wf := workflow(t, s, step("dump"), use, step("after", "use"), empty, step("last", "each"))
		runAll(t, s, wf.ID, "dump", func(*models.Job) string { return `{"paths":["/x"],"none":[]}` })

		states := stepStates(t, s, wf.ID)
		require.Equal(t, models.JobFailed, states["use"])
		require.Equal(t, models.JobSkipped, states["after"])
		require.Equal(t, models.JobSucceeded, states["each"], "an empty list: nothing to do")
		require.Equal(t, models.JobEnqueued, states["last"])
		j := stepJobsOf(t, s, wf.ID, "use")[0]
		require.Contains(t, j.LastError, `${steps.dump.result.path}: dump's result has no "path"`)
		runAll(t, s, wf.ID, "last", noResult)
		got, err := s.Workflows.GetWorkflow(ctx, wf.ID)
		require.NoError(t, err)
		require.Equal(t, models.WorkflowFailed, got.State)
	})
}

// Retrying a run whose producer failed runs it again, then fills the steps that were skipped
// from its new result.
func TestWorkflowRetryFillsSkippedTemplates(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		fan := argStep("each", `{"x":"${item}"}`, "list")
		fan.ForEach = "${steps.list.result}"
		wf := workflow(t, s, step("list"), fan, argStep("n", `{"first":"${steps.each.result.0}"}`, "each"))
		runAll(t, s, wf.ID, "list", func(*models.Job) string { return "!" })
		require.Equal(t, models.JobSkipped, stepStates(t, s, wf.ID)["each"])

		require.NoError(t, retryRun(s, wf.ID))
		runAll(t, s, wf.ID, "list", func(*models.Job) string { return `[7,8]` })
		jobs := stepJobsOf(t, s, wf.ID, "each")
		require.Len(t, jobs, 2)
		require.JSONEq(t, `{"x":8}`, jobs[1].Args)
		runAll(t, s, wf.ID, "each", func(j *models.Job) string { return j.Args })
		require.JSONEq(t, `{"first":{"x":7}}`, stepJobsOf(t, s, wf.ID, "n")[0].Args)
	})
}

func retryRun(s *models.Store, id int64) error {
	_, err := s.Workflows.RetryWorkflow(ctx, id, "test")
	return err
}

// Templates and fan-outs are checked when the run is made, naming the step.
func TestWorkflowTemplatesAreChecked(t *testing.T) {
	fan := func(list string) models.NewStep {
		st := argStep("f", `{"x":"${item}"}`, "a")
		st.ForEach = list
		return st
	}
	lit := argStep("f", `{}`, "a")
	lit.Items = []json.RawMessage{}
	for name, tc := range map[string]struct {
		step models.NewStep
		want string
	}{
		"item outside a fan-out":  {argStep("f", `{"x":"${item}"}`, "a"), "the step has no for_each"},
		"a step not depended on":  {argStep("f", `{"x":"${steps.b.result}"}`, "a"), `"b" is not one of the steps it depends on`},
		"a bad template":          {argStep("f", `{"x":"${steps.a.output}"}`, "a"), "is not a template"},
		"for_each not a template": {fan("files"), "for_each is a list, or one template"},
		"for_each of another":     {fan("${steps.b.result}"), `uses the result of "b"`},
		"an empty list":           {lit, "for_each has 0 items"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := models.CheckWorkflow("w", []models.NewStep{step("a"), step("b"), tc.step})
			require.True(t, models.ErrorCode(err) == models.EINVALID, "%v", err)
			require.Contains(t, err.Error(), tc.want)
			var me *models.Error
			require.ErrorAs(t, err, &me)
			require.Contains(t, me.Fields, "steps.f")
		})
	}
}

// A path goes into a string that holds JSON, as an http.request's result keeps a body.
func TestWorkflowTemplatePathIntoAJSONString(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		fan := argStep("put", `{"url":"https://store.example.com/${item}","n":"${steps.dump.result.body.count}"}`, "dump")
		fan.ForEach = "${steps.dump.result.body.parts}"
		wf := workflow(t, s, step("dump"), fan)
		runAll(t, s, wf.ID, "dump", func(*models.Job) string {
			return `{"status":200,"body":"{\"parts\":[\"p1\",\"p2\"],\"count\":2}","body_bytes":31}`
		})
		jobs := stepJobsOf(t, s, wf.ID, "put")
		require.Len(t, jobs, 2)
		require.JSONEq(t, `{"url":"https://store.example.com/p2","n":2}`, jobs[1].Args)
	})
}

// Retrying a run makes an expanded fan-out's items that run again wait, as the step did, for
// its dependencies that run again.
func TestWorkflowRetriedItemsWaitAsTheirStep(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		fan := argStep("each", `{"x":"${item}"}`, "a", "b")
		fan.Items = items(t, `[1,2,3]`)
		fan.Job.ContinueOn = models.ContinueOnFinish
		wf := workflow(t, s, step("a"), step("b"), fan)
		runAll(t, s, wf.ID, "a", func(*models.Job) string { return "!" })
		runAll(t, s, wf.ID, "b", noResult)
		require.Len(t, stepJobsOf(t, s, wf.ID, "each"), 3, "expanded: it runs whatever a and b did")
		runAll(t, s, wf.ID, "each", func(*models.Job) string { return "!" })
		got, err := s.Workflows.GetWorkflow(ctx, wf.ID)
		require.NoError(t, err)
		require.Equal(t, models.WorkflowFailed, got.State)

		require.NoError(t, retryRun(s, wf.ID))
		for _, j := range stepJobsOf(t, s, wf.ID, "each") {
			require.Equal(t, models.JobAwaiting, j.State, "job %d waits for a again", j.ID)
		}
		runAll(t, s, wf.ID, "a", noResult)
		for _, j := range stepJobsOf(t, s, wf.ID, "each") {
			require.Equal(t, models.JobEnqueued, j.State)
		}
		runAll(t, s, wf.ID, "each", noResult)
		got, err = s.Workflows.GetWorkflow(ctx, wf.ID)
		require.NoError(t, err)
		require.Equal(t, models.WorkflowSucceeded, got.State)
	})
}

// drain runs every job the claim gives until none is left, finishing each claim's jobs in one
// batch as the completer does; it returns how many it ran.
func drain(t *testing.T, s *models.Store) int {
	t.Helper()
	ran := 0
	for {
		jobs := claim(t, s, "n1", 700)
		if len(jobs) == 0 {
			return ran
		}
		batch := make([]models.JobFinish, len(jobs))
		for i, j := range jobs {
			batch[i] = models.JobFinish{JobID: j.ID, ServerID: j.ServerID, Attempt: j.Attempt, Run: j.Runs, State: models.JobSucceeded, Result: j.Args, At: time.Now()}
		}
		applied, _, err := s.Jobs.FinishJobs(ctx, batch)
		require.NoError(t, err)
		require.Equal(t, len(jobs), applied)
		ran += len(jobs)
		storeOn(t, s, false)
	}
}

// storeOn stores on the fan-outs being stored, as the engine does once a finish that saw them
// commits (or, with all, as every engine does now and then): a chunk a call, until none is
// left. It returns the chunks stored.
func storeOn(t *testing.T, s *models.Store, all bool) int {
	t.Helper()
	select {
	case <-s.Workflows.FanOutsToStore():
	default:
	}
	calls := 0
	for more := true; more; all = false {
		queues, again, err := s.Workflows.StoreFanOuts(ctx, all)
		require.NoError(t, err)
		if len(queues) > 0 {
			calls++
		}
		more = again
	}
	return calls
}

// woken reports whether the store told its engine to store on fan-outs.
func woken(s *models.Store) bool {
	select {
	case <-s.Workflows.FanOutsToStore():
		return true
	default:
		return false
	}
}

// A fan-out bigger than a chunk is stored a chunk at a time: 250 at its release, then 1,000 a
// transaction by the engine's StoreFanOuts, woken once the release commits; each item is stored
// once, with its own index and arguments, and the step after waits for the last. A run
// cancelled while its fan-out is being stored stores no more; retried, it stores the rest.
func TestWorkflowBigFanOutIsStoredAsItGoes(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		const n = 2500
		list := make([]string, n)
		for i := range list {
			list[i] = fmt.Sprint(i)
		}
		bigRun := func() *models.Workflow {
			fan := argStep("each", `{"n":"${item}"}`, "start")
			fan.Items = items(t, "["+strings.Join(list, ",")+"]")
			return workflow(t, s, step("start"), fan, argStep("zip", `{"all":"${steps.each.result}"}`, "each"))
		}
		wf := bigRun()
		require.Equal(t, n+2, wf.StepsTotal)
		runAll(t, s, wf.ID, "start", noResult)
		require.Len(t, stepJobsOf(t, s, wf.ID, "each"), 250, "the first chunk")
		require.True(t, woken(s), "the release's commit wakes the engine to store on")
		nodes, err := s.Workflows.WorkflowGraph(ctx, wf.ID)
		require.NoError(t, err)
		require.Equal(t, n, nodes[1].Jobs, "the graph counts them all")
		steps, err := s.Workflows.WorkflowSteps(ctx, wf.ID)
		require.NoError(t, err)
		require.Equal(t, n-250, steps[1].ItemsToCome())

		queues, more, err := s.Workflows.StoreFanOuts(ctx, false)
		require.NoError(t, err)
		require.Equal(t, []string{models.DefaultQueue}, queues)
		require.True(t, more)
		require.Len(t, stepJobsOf(t, s, wf.ID, "each"), 1250, "a chunk a call")
		require.Equal(t, 2, storeOn(t, s, false), "the last two chunks")
		require.Len(t, stepJobsOf(t, s, wf.ID, "each"), n)

		require.Equal(t, n+1, drain(t, s), "every item once, then zip")
		got, err := s.Workflows.GetWorkflow(ctx, wf.ID)
		require.NoError(t, err)
		require.Equal(t, models.WorkflowSucceeded, got.State)
		jobs := stepJobsOf(t, s, wf.ID, "each")
		require.Len(t, jobs, n)
		for i, j := range jobs {
			require.JSONEq(t, fmt.Sprintf(`{"n":%d}`, i), j.Args, "item %d", i)
		}
		zip := stepJobsOf(t, s, wf.ID, "zip")[0]
		require.True(t, strings.HasPrefix(zip.Args, `{"all":[{"n":0},{"n":1},`), "zip ran last, with every result in order")

		wf = bigRun()
		runAll(t, s, wf.ID, "start", noResult)
		_, err = s.Workflows.CancelWorkflow(ctx, wf.ID, "stop")
		require.NoError(t, err)
		require.Zero(t, storeOn(t, s, true), "a cancelled run stores no more")
		require.Len(t, stepJobsOf(t, s, wf.ID, "each"), 250)
		require.Empty(t, claim(t, s, "n1", 10))
		require.NoError(t, retryRun(s, wf.ID))
		require.True(t, woken(s), "the retry's commit wakes the engine to store on")
		require.Equal(t, n+1, drain(t, s))
		got, err = s.Workflows.GetWorkflow(ctx, wf.ID)
		require.NoError(t, err)
		require.Equal(t, models.WorkflowSucceeded, got.State)
		require.Len(t, stepJobsOf(t, s, wf.ID, "each"), n)
	})
}

// A node that dies while it stores a fan-out leaves the rest on the first item's row: any
// node's look at every running run (StoreFanOuts with all, at its engine's start and now and
// then) stores it, though that node finished none of its items.
func TestWorkflowFanOutLeftHalfStoredIsStoredByAnotherNode(t *testing.T) {
	for _, d := range modeltest.Dialects {
		t.Run(d.Name, func(t *testing.T) {
			dsn := d.DSN(t)
			died, other := modeltest.Open(t, dsn), modeltest.Open(t, dsn)
			fan := argStep("each", `{"n":"${item}"}`, "start")
			list := make([]string, 1500)
			for i := range list {
				list[i] = fmt.Sprint(i)
			}
			fan.Items = items(t, "["+strings.Join(list, ",")+"]")
			wf := workflow(t, died, step("start"), fan, step("end", "each"))
			runAll(t, died, wf.ID, "start", noResult) // released: 250 stored, then the node dies
			require.Len(t, stepJobsOf(t, other, wf.ID, "each"), 250)

			require.Zero(t, storeOn(t, other, false), "the other node saw none of it finish")
			require.Equal(t, 2, storeOn(t, other, true), "its look at every run stores the rest")
			require.Len(t, stepJobsOf(t, other, wf.ID, "each"), 1500)
			require.Equal(t, 1501, drain(t, other))
			got, err := other.Workflows.GetWorkflow(ctx, wf.ID)
			require.NoError(t, err)
			require.Equal(t, models.WorkflowSucceeded, got.State)
		})
	}
}
