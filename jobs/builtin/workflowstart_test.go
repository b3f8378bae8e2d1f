package builtin_test

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
)

// backupSpec is a workflow.start job's arguments: dump, then upload, as POST /v1/workflows
// takes them.
const backupSpec = `{"name": "nightly backup", "steps": [
	{"name": "dump", "kind": "db.dump", "args": {"db": "main"}},
	{"name": "upload", "kind": "s3.upload", "depends_on": ["dump"], "queue": "default"}]}`

// setupWorkflowStart registers the built-in kinds and two steps' kinds on e, which record the
// steps they ran, and starts e.
func setupWorkflowStart(t *testing.T, e *jobs.Engine, s *models.Store) func() []string {
	t.Helper()
	require.NoError(t, builtin.Register(e, s.Jobs, builtin.Config{}))
	var mu sync.Mutex
	var ran []string
	for _, kind := range []string{"db.dump", "s3.upload"} {
		require.NoError(t, e.Register(kind, func(context.Context, *models.Job) error {
			mu.Lock()
			defer mu.Unlock()
			ran = append(ran, kind)
			return nil
		}))
	}
	start(t, e)
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), ran...)
	}
}

// startedRun reads the run a succeeded workflow.start job's result names.
func startedRun(t *testing.T, s *models.Store, j *models.Job) *models.Workflow {
	t.Helper()
	var res builtin.WorkflowStarted
	require.NoError(t, json.Unmarshal([]byte(j.Result), &res), j.Result)
	require.NotZero(t, res.WorkflowID, j.Result)
	run, err := s.Workflows.GetWorkflow(ctx, res.WorkflowID)
	require.NoError(t, err)
	return run
}

// A recurring entry of kind workflow.start, triggered, starts a run of its workflow, whose steps
// run in order; the job's result names the run, and the run names the job that started it.
func TestWorkflowStartFromRecurring(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		ran := setupWorkflowStart(t, e, s)
		rj, err := e.CreateRecurring(jobs.WithActor(ctx, "ada"), "nightly-backup", "0 2 * * *", builtin.KindWorkflowStart,
			json.RawMessage(backupSpec), jobs.TimeZone("Europe/Berlin"))
		require.NoError(t, err)
		require.Equal(t, builtin.KindWorkflowStart, rj.Kind)

		j, err := e.TriggerRecurring(ctx, "nightly-backup")
		require.NoError(t, err)
		done := waitState(t, s, j.ID, models.JobSucceeded)
		run := startedRun(t, s, done)
		require.Equal(t, "nightly backup", run.Name)
		require.Equal(t, j.ID, *run.StartJobID)
		require.Equal(t, "job "+strconv.FormatInt(j.ID, 10), run.CreatedBy)
		require.Eventually(t, func() bool {
			got, err := s.Workflows.GetWorkflow(ctx, run.ID)
			require.NoError(t, err)
			return got.State == models.WorkflowSucceeded
		}, 20*time.Second, 10*time.Millisecond, "the run never succeeded")
		require.Equal(t, []string{"db.dump", "s3.upload"}, ran())
	})
}

// A workflow.start job that runs again (rescued after its server died mid-run, or requeued)
// finds the run it started: its result is the same run, and no second run is stored.
func TestWorkflowStartRunAgainStartsNoSecondRun(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		setupWorkflowStart(t, e, s)
		j, err := e.Enqueue(ctx, builtin.KindWorkflowStart, json.RawMessage(backupSpec))
		require.NoError(t, err)
		first := startedRun(t, s, waitState(t, s, j.ID, models.JobSucceeded))

		require.NoError(t, e.Requeue(ctx, j.ID))
		again := waitState(t, s, j.ID, models.JobSucceeded)
		require.Equal(t, first.ID, startedRun(t, s, again).ID, "the run it started the first time")
		page, err := s.Workflows.ListWorkflows(ctx, models.WorkflowFilter{}, 0, 10)
		require.NoError(t, err)
		require.Len(t, page.Runs, 1, "the job's second run found the first's workflow run")
		steps, err := s.Workflows.WorkflowSteps(ctx, first.ID)
		require.NoError(t, err)
		require.Len(t, steps, 2)
	})
}

// A workflow.start job or recurring entry whose spec POST /v1/workflows would refuse is refused
// when it is made, the field naming the step's place under args and the message the step.
func TestWorkflowStartRefusesBadSpec(t *testing.T) {
	forEachDialect(t, fast(), func(t *testing.T, e *jobs.Engine, s *models.Store) {
		setupWorkflowStart(t, e, s)
		for _, tc := range []struct {
			spec, field, says string
		}{
			{`{"name": "n", "steps": [{"name": "a", "kind": "db.dump", "depends_on": ["b"]}, {"name": "b", "kind": "db.dump", "depends_on": ["a"]}]}`,
				"args.steps[0]", `step "a" is part of a cycle`},
			{`{"name": "n", "steps": [{"name": "a", "kind": "db.dump"}, {"name": "b", "kind": "db.dump", "depends_on": ["nope"]}]}`,
				"args.steps[1]", `step "b" depends on "nope"`},
			{`{"name": "n", "steps": [{"name": "a", "kind": "db.dump", "timeout": "soon"}]}`, "args.steps[0].timeout", "Step a: A positive Go duration"},
			{`{"name": "n", "steps": [{"name": "a", "kind": "no.such.kind"}]}`, "args.steps[0].kind", `Step a: No server has registered the kind "no.such.kind"`},
			{`{"name": "n", "steps": [{"name": "run", "kind": "exec", "args": {"command": ["/bin/true"]}}]}`, "args.steps[0].args.command", "Step run: "},
			{`{"name": "n", "steps": [{"name": "inner", "kind": "workflow.start", "args": {"name": "m", "steps": [{"name": "x", "kind": "db.dump", "depends_on": ["x"]}]}}]}`,
				"args.steps[0].args.steps[0]", `step "x" depends on itself`},
			{`{"name": "", "steps": [{"name": "a", "kind": "db.dump"}]}`, "args.name", "name of 1 to 200"},
			{`{"name": "n", "steps": "dump"}`, "args", "don't fit"},
		} {
			_, err := e.Enqueue(ctx, builtin.KindWorkflowStart, json.RawMessage(tc.spec))
			require.Equal(t, models.EINVALID, models.ErrorCode(err), "%s: %v", tc.spec, err)
			require.Contains(t, models.FieldErrors(err)[tc.field], tc.says, "%s: %v", tc.spec, models.FieldErrors(err))
			_, err = e.CreateRecurring(ctx, "bad", "@hourly", builtin.KindWorkflowStart, json.RawMessage(tc.spec))
			require.Contains(t, models.FieldErrors(err)[tc.field], tc.says, tc.spec)
		}
		all, err := s.Recurring.ListRecurring(ctx)
		require.NoError(t, err)
		for _, rj := range all {
			require.NotEqual(t, "bad", rj.Name, "nothing stored")
		}
		_, err = e.Enqueue(ctx, builtin.KindWorkflowStart, json.RawMessage(`{"name": "n", "steps": [{"name": "a", "kind": "later.kind", "allow_unknown_kind": true}]}`))
		require.NoError(t, err, "a step may allow a kind no server knows yet")
	})
}
