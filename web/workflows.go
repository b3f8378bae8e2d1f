package web

import (
	"fmt"
	"net/http"
	"strconv"
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

// The dashboard's workflow pages: /dashboard/workflows lists the runs newest first, in keyset
// pages; /dashboard/workflows/{id} shows a run as a graph, live while it runs, with cancel and
// retry.

// workflowPageSize is how many runs a page of the list shows.
const workflowPageSize = 50

// handleWorkflows lists the runs.
func (s *Server) handleWorkflows(c echo.Context) error {
	v := pages.WorkflowsView{Layout: s.layoutProps(c, "Workflows", layout.SectionJobs),
		Filter: pages.WorkflowsFilter{State: c.QueryParam("state"), Name: c.QueryParam("name")}}
	var before int64
	if raw := c.QueryParam("before"); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 1 {
			return models.Errorf(models.EINVALID, "\"before\" must be a run's number, not %q.", raw)
		}
		before = n
	}
	page, err := s.store.Workflows.ListWorkflows(c.Request().Context(),
		models.WorkflowFilter{State: models.WorkflowState(v.Filter.State), NamePrefix: v.Filter.Name}, before, workflowPageSize)
	if fields := models.FieldErrors(err); fields != nil {
		v.Errors = fields
		return render(c, http.StatusUnprocessableEntity, pages.WorkflowsPage(v))
	}
	if err != nil {
		return err
	}
	for i := range page.Runs {
		v.Rows = append(v.Rows, s.workflowRow(c, &page.Runs[i]))
	}
	if before > 0 {
		nf := v.Filter
		nf.Before = 0
		v.NewestURL = nf.URL()
	}
	if page.HasOlder {
		of := v.Filter
		of.Before = page.Runs[len(page.Runs)-1].ID
		v.OlderURL = of.URL()
	}
	return render(c, http.StatusOK, pages.WorkflowsPage(v))
}

// workflowRow is a run as the list and its page head show it.
func (s *Server) workflowRow(c echo.Context, wf *models.Workflow) pages.WorkflowRow {
	end := s.cfg.Now()
	if wf.FinishedAt != nil {
		end = *wf.FinishedAt
	}
	return pages.WorkflowRow{ID: wf.ID, Name: wf.Name, State: string(wf.State), StepsDone: wf.StepsTotal - wf.StepsLeft, StepsTotal: wf.StepsTotal,
		StepsFailed: wf.StepsFailed, CreatedBy: wf.CreatedBy, Started: s.moment(c, wf.CreatedAt),
		Duration: components.FormatDuration(max(end.Sub(wf.CreatedAt), 0)), Final: wf.State != models.WorkflowRunning}
}

// handleWorkflow shows a run.
func (s *Server) handleWorkflow(c echo.Context) error {
	v, err := s.workflowView(c)
	if err != nil {
		return err
	}
	v.Layout = s.layoutProps(c, fmt.Sprintf("Workflow %s #%d", v.Run.Name, v.Run.ID), layout.SectionJobs)
	return render(c, http.StatusOK, pages.WorkflowPage(v))
}

// handleWorkflowLive renders the live part of a run's page, for htmx polling.
func (s *Server) handleWorkflowLive(c echo.Context) error {
	v, err := s.workflowView(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, pages.WorkflowLive(v))
}

func (s *Server) workflowView(c echo.Context) (pages.WorkflowView, error) {
	id, err := pathID(c, "workflow")
	if err != nil {
		return pages.WorkflowView{}, err
	}
	ctx := c.Request().Context()
	wf, err := s.store.Workflows.GetWorkflow(ctx, id)
	if err != nil {
		return pages.WorkflowView{}, err
	}
	steps, err := s.store.Workflows.WorkflowGraph(ctx, id)
	if err != nil {
		return pages.WorkflowView{}, err
	}
	v := pages.WorkflowView{Run: s.workflowRow(c, wf), CSRF: csrfToken(c),
		CanCancel: wf.Cancellable() && may(c, authz.JobsCancel), CanRetry: wf.Retryable() && may(c, authz.JobsRetry)}
	nodes := make([]components.GraphNode, len(steps))
	for i, st := range steps {
		state := st.State()
		d := s.stepDuration(state, st.StartedAt, st.FinishedAt)
		counts := stepCounts(st)
		v.Steps = append(v.Steps, pages.WorkflowStepRow{Name: st.Step, JobID: st.JobID, State: string(state), DependsOn: st.DependsOn,
			Duration: d, Counts: counts})
		nodes[i] = components.GraphNode{Name: st.Step, State: string(state), Href: "/dashboard/jobs/" + strconv.FormatInt(st.JobID, 10),
			Duration: d, DependsOn: st.DependsOn, Counts: counts}
	}
	v.Graph = components.LayoutGraph(nodes)
	return v, nil
}

// stepCounts says how far a fan-out's jobs are: "3/5 done · 1 running · 1 failed"; "" for a
// step that is no fan-out.
func stepCounts(n models.StepNode) string {
	switch {
	case !n.FanOut:
		return ""
	case n.Pending:
		return "for each: waiting for its list"
	}
	parts := []string{fmt.Sprintf("%d/%d done", n.Done(), n.Jobs)}
	for _, st := range []models.JobState{models.JobProcessing, models.JobFailed, models.JobCancelled, models.JobSkipped} {
		if c := n.States[st]; c > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c, st))
		}
	}
	return strings.Join(parts, " · ")
}

// stepDuration is how long a step's job ran, or has run so far; "" when it is not running nor
// ended, though it may have started before (put back in its queue, waiting to retry).
func (s *Server) stepDuration(state models.JobState, started, finished *time.Time) string {
	if started == nil || !(state == models.JobProcessing || state.Final()) {
		return ""
	}
	end := s.cfg.Now()
	if finished != nil {
		end = *finished
	}
	return components.FormatDuration(max(end.Sub(*started), 0))
}

// handleWorkflowAction cancels a run or retries its failed steps, then goes back to its page; a
// state that does not allow it is a flash error there, as a job action's is.
func (s *Server) handleWorkflowAction(c echo.Context) error {
	id, err := pathID(c, "workflow")
	if err != nil {
		return err
	}
	ctx := actorContext(c)
	var done string
	switch c.Param("action") {
	case "cancel":
		err = s.engine.CancelWorkflow(ctx, id)
		done = fmt.Sprintf("Workflow #%d cancelled: its unfinished steps are cancelled, and none starts.", id)
	case "retry":
		err = s.engine.RetryWorkflow(ctx, id)
		done = fmt.Sprintf("Workflow #%d runs again its steps that failed, were cancelled or skipped.", id)
	default:
		return echo.ErrNotFound
	}
	switch models.ErrorCode(err) {
	case "":
		setFlash(c, "success", done)
	case models.ECONFLICT:
		auditFailed(c.Request().Context(), http.StatusConflict)
		setFlash(c, "error", models.ErrorMessage(err))
	default:
		return err
	}
	return redirect(c, "/dashboard/workflows/"+strconv.FormatInt(id, 10))
}

// jobWorkflow is the run job id is a step of, for the job page (nil: none).
func (s *Server) jobWorkflow(c echo.Context, id int64) (*pages.WorkflowLink, error) {
	wf, step, err := s.store.Workflows.WorkflowOfJob(c.Request().Context(), id)
	if err != nil || wf == nil {
		return nil, err
	}
	return &pages.WorkflowLink{ID: wf.ID, Name: wf.Name, Step: step.Step, Item: step.Item, State: string(wf.State)}, nil
}

// startedWorkflow is the run j started, when j is a workflow.start job that did, for the job
// page (nil: none). Only that kind asks the store.
func (s *Server) startedWorkflow(c echo.Context, j *models.Job) (*pages.WorkflowLink, error) {
	if j.Kind != builtin.KindWorkflowStart {
		return nil, nil
	}
	wf, err := s.store.Workflows.WorkflowStartedBy(c.Request().Context(), j.ID)
	if err != nil || wf == nil {
		return nil, err
	}
	return &pages.WorkflowLink{ID: wf.ID, Name: wf.Name, State: string(wf.State)}, nil
}
