package builtin_test

import (
	"context"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

// A step's result fills an http.request step's arguments: the URL, a header beside a secret,
// and the body, typed; a fan-out over a list in it sends one request per item, and the step
// after reads their responses typed.
func TestWorkflowResultsFillHTTPRequests(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		rec := newRecorder(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) })
		e := httpEngine(t, s)
		require.NoError(t, e.Register("wf.dump", func(ctx context.Context, _ *models.Job) error {
			return jobs.SetResult(ctx, map[string]any{"path": "/backups/2026-12-05.sql.gz", "parts": []int{7, 8}, "bytes": 4096})
		}))
		var mu sync.Mutex
		var statuses []int
		require.NoError(t, e.Register("wf.tell", func(ctx context.Context, j *models.Job) error {
			got, err := jobs.StepResult[[]builtin.HTTPResponse](ctx, j, "upload")
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for _, r := range got {
				statuses = append(statuses, r.Status)
			}
			return nil
		}))
		start(t, e)
		run, err := e.StartWorkflow(ctx, jobs.NewWorkflow("backup").Add(
			jobs.Step{Name: "dump", Kind: "wf.dump"},
			jobs.Step{Name: "upload", Kind: builtin.KindHTTPRequest, DependsOn: []string{"dump"}, ForEach: "${steps.dump.result.parts}",
				Args: map[string]any{
					"method":  "PUT",
					"url":     rec.srv.URL + "${steps.dump.result.path}?part=${item}",
					"headers": map[string]string{"Authorization": "Bearer ${secret:api}", "X-Bytes": "size=${steps.dump.result.bytes}"},
					"body":    map[string]any{"part": "${item}", "size": "${steps.dump.result.bytes}", "of": "${steps.dump.result.parts}"},
				}},
			jobs.Step{Name: "tell", Kind: "wf.tell", DependsOn: []string{"upload"}},
		))
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			wf, err := s.Workflows.GetWorkflow(ctx, run.ID)
			require.NoError(t, err)
			return wf.State != models.WorkflowRunning
		}, 20*time.Second, 10*time.Millisecond)
		wf, err := s.Workflows.GetWorkflow(ctx, run.ID)
		require.NoError(t, err)
		require.Equal(t, models.WorkflowSucceeded, wf.State)

		require.Equal(t, 2, rec.count())
		hits := []hit{rec.hit(0), rec.hit(1)}
		sort.Slice(hits, func(i, j int) bool { return hits[i].query < hits[j].query })
		for i, h := range hits {
			part := []string{"7", "8"}[i]
			require.Equal(t, "PUT", h.method)
			require.Equal(t, "/backups/2026-12-05.sql.gz", h.path)
			require.Equal(t, "part="+part, h.query)
			require.Equal(t, "Bearer "+apiKey, h.auth, "a secret beside a result")
			require.JSONEq(t, `{"part":`+part+`,"size":4096,"of":[7,8]}`, h.body, "values keep their types")
		}
		require.Equal(t, []int{202, 202}, statuses)

		steps, err := s.Workflows.WorkflowSteps(ctx, run.ID)
		require.NoError(t, err)
		for _, st := range steps {
			if st.Step != "upload" {
				continue
			}
			j, err := s.JobQueries.GetJob(ctx, st.JobID)
			require.NoError(t, err)
			require.Contains(t, j.Args, "${secret:api}", "the row keeps the secret's reference")
			require.NotContains(t, j.Args, apiKey)
			require.Contains(t, j.Args, `"X-Bytes":"size=4096"`, "a template inside a string: its text")
			require.NotContains(t, j.Args, "${steps.", "results are filled in the row: the job page shows what was sent")
		}
	})
}

// Each item of a fan-out over a list is checked as an enqueue of its kind would be, and the
// refusal names the step and the item.
func TestWorkflowFanOutItemsAreChecked(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		e := httpEngine(t, s)
		_, err := e.StartWorkflow(ctx, jobs.NewWorkflow("hooks").Add(
			jobs.Step{Name: "ping", Kind: builtin.KindHTTPRequest, ForEach: []string{"https://a.example.com", "ftp://b.example.com"},
				Args: map[string]any{"url": "${item}"}}))
		require.Equal(t, models.EINVALID, models.ErrorCode(err), "%v", err)
		require.Contains(t, err.Error(), "Step ping: item 1")
		wfs, err := s.Workflows.ListWorkflows(ctx, models.WorkflowFilter{}, 0, 10)
		require.NoError(t, err)
		require.Empty(t, wfs.Runs, "nothing stored")
	})
}
