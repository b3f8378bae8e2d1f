package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kilnhq/kiln/api"
	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/jobs/builtin"
	"github.com/kilnhq/kiln/models"
)

func jobOut(j *models.Job) api.Job {
	out := api.Job{
		ID: j.ID, Kind: j.Kind, Queue: j.Queue, State: string(j.State), Priority: j.Priority, Args: json.RawMessage(j.Args),
		Attempt: j.Attempt, MaxAttempts: j.MaxAttempts, RunAt: j.RunAt.UTC(), CreatedAt: j.CreatedAt.UTC(),
		StartedAt: j.StartedAt, FinishedAt: j.FinishedAt, ServerID: j.ServerID, LastError: j.LastError,
		UniqueKey: j.UniqueKey, ParentID: j.ParentID, RecurringID: j.RecurringID, Progress: j.Progress, Rescues: j.Rescues,
		Tags: j.TagList(),
	}
	if j.TraceParent != nil {
		out.TraceParent = *j.TraceParent
	}
	if j.Timeout > 0 {
		out.Timeout = j.Timeout.String()
	}
	if j.Result != "" && json.Valid([]byte(j.Result)) {
		out.Result = json.RawMessage(j.Result)
	}
	if !json.Valid(out.Args) {
		out.Args = json.RawMessage("null")
	}
	return out
}

// EnqueueInput is a job to enqueue.
type EnqueueInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Retrying a POST with the same key returns the first job (200) instead of making another. Keys are the caller's own: another token's same key is another job. Kept as the job's unique key, idempotency:<caller>:<key>, for as long as the job is. Text without control, invisible (format) or bidi characters."`
	Body           api.JobSpec
}

// BatchInput is many jobs to enqueue at once.
type BatchInput struct {
	Body api.Batch
}

// BatchOutput is the jobs a batch made.
type BatchOutput struct {
	Body api.BatchResult
}

// JobOutput is one job.
type JobOutput struct {
	Body api.Job
}

// EnqueueOutput is the job a POST made (201), or the one its Idempotency-Key found (200).
type EnqueueOutput struct {
	Status int `json:"-"`
	Body   api.Job
}

// JobDetailOutput is one job with its history.
type JobDetailOutput struct {
	Body api.JobDetail
}

// JobIDInput names one job.
type JobIDInput struct {
	ID int64 `path:"id" minimum:"1" doc:"The job's id."`
}

// ListJobsInput filters and pages the job list.
type ListJobsInput struct {
	State string `query:"state" enum:"scheduled,awaiting,enqueued,processing,succeeded,failed,cancelled,deleted,skipped" doc:"Only jobs in this state."`
	Kind  string `query:"kind" maxLength:"100"`
	Queue string `query:"queue" maxLength:"100"`
	Q     string `query:"q" maxLength:"200" doc:"Text found in the arguments or the last error."`
	Tag   string `query:"tag" maxLength:"50" doc:"Only jobs with this tag."`
	After string `query:"after" doc:"The next cursor of the previous page."`
	Limit int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
}

// ListJobsOutput is a page of jobs.
type ListJobsOutput struct {
	Body api.JobPage
}

// StatsOutput is what the overview counts.
type StatsOutput struct {
	Body api.Stats
}

// KindsOutput lists the registered kinds.
type KindsOutput struct {
	Body api.KindList
}

// apiIdentity is who an API handler acts for: the user (a token's, or the local admin) and
// the caller (apiCaller). newAPI's middleware puts it in the handler's context, once.
type apiIdentity struct {
	user   *models.User
	caller string
}

type apiIdentityKey struct{}

// apiUser is who an API handler acts for.
func apiUser(ctx context.Context) *models.User {
	id, _ := ctx.Value(apiIdentityKey{}).(apiIdentity)
	return id.user
}

func (s *Server) registerJobAPI(api huma.API) {
	register(api, authz.JobsEnqueue, huma.Operation{
		OperationID: "enqueue-job", Method: http.MethodPost, Path: "/v1/jobs", DefaultStatus: http.StatusCreated,
		Summary: "Enqueue a job", Tags: []string{tagJobs},
		Description: "Stores a job to run as soon as a worker is free, at run_at, or after delay. An exec or http.request job needs the admin role (action jobs.enqueue_code), as does a workflow.start job with such a step. " +
			"With a unique_key that another job already has, that job is returned and none is made; " +
			"a retry with the same Idempotency-Key returns the first POST's job with 200.",
		Responses: okToo[apiJob](api, "A POST with this Idempotency-Key made the job before"),
	}, s.apiEnqueue)
	register(api, authz.JobsEnqueue, huma.Operation{
		OperationID: "enqueue-jobs", Method: http.MethodPost, Path: "/v1/jobs/batch", DefaultStatus: http.StatusCreated,
		Summary: "Enqueue many jobs", Tags: []string{tagJobs},
		Description: "Up to 1,000 jobs in one transaction: all are stored, or none (a refused job names its place, body.jobs[i]). " +
			"A batch holding an exec or http.request job, or a workflow.start job with such a step, needs the admin role (action jobs.enqueue_code).",
	}, s.apiEnqueueBatch)
	register(api, authz.Read, huma.Operation{
		OperationID: "list-jobs", Method: http.MethodGet, Path: "/v1/jobs", Summary: "List jobs", Tags: []string{tagJobs},
		Description: "Jobs matching the filters, newest first, a page at a time: pass the response's next as after= for the next page. " +
			"Every kind is listed, the housekeeping kinds (such as tasks.sweep_overdue and jobs.cleanup) that the dashboard hides by default included: a program gets every job it asks for.",
	}, s.apiListJobs)
	register(api, authz.Read, huma.Operation{
		OperationID: "get-job", Method: http.MethodGet, Path: "/v1/jobs/{id}", Summary: "Get a job and its history", Tags: []string{tagJobs},
		Description: "The job, every change of its state (when, why, on which server, how long the attempt ran), " +
			"and for an enqueued job that waits, why: its kind's cap on running jobs or its rate.",
		Errors: codeStatuses(models.ENOTFOUND),
	}, s.apiGetJob)
	register(api, authz.Read, huma.Operation{
		OperationID: "get-stats", Method: http.MethodGet, Path: "/v1/stats", Summary: "The overview's counts", Tags: []string{tagStats},
		Description: "Jobs by state, failed attempts waiting to run again, recurring jobs and servers: the cards of the dashboard's overview.",
	}, s.apiStats)
	register(api, authz.Read, huma.Operation{
		OperationID: "list-kinds", Method: http.MethodGet, Path: "/v1/kinds", Summary: "The kinds this server works", Tags: []string{tagJobs},
		Description: "Each registered kind with its defaults, and a JSON Schema of its arguments where the kind declares their type.",
	}, s.apiKinds)
}

// jobOptions reads a JobSpec into the engine's options (builtin.JobOptions); refusals name
// their field under at.
func jobOptions(b api.JobSpec, at string) ([]jobs.Option, []error) {
	opts, bad := builtin.JobOptions(b)
	return opts, fieldDetails(bad, at)
}

// fieldDetails are the problem's details of refusals whose fields are under at.
func fieldDetails(bad []*jobs.FieldError, at string) []error {
	var details []error
	for _, fe := range bad {
		details = append(details, &huma.ErrorDetail{Location: at + fe.Field, Message: fe.Message})
	}
	return details
}

func (s *Server) apiEnqueue(ctx context.Context, in *EnqueueInput) (*EnqueueOutput, error) {
	opts, details := jobOptions(in.Body, "body.")
	if in.IdempotencyKey != "" { // with a unique_key too, the engine refuses both
		if err := models.IdempotencyKeyText.Check(in.IdempotencyKey); err != nil {
			details = append(details, &huma.ErrorDetail{Location: "header.Idempotency-Key", Message: models.ErrorMessage(err)})
		}
		id, _ := ctx.Value(apiIdentityKey{}).(apiIdentity)
		caller := id.caller
		opts = append(opts, jobs.IdempotencyKey(caller, in.IdempotencyKey))
	}
	if len(details) > 0 {
		return nil, huma.Error422UnprocessableEntity("The job was not enqueued.", details...)
	}
	if err := mustAllow(ctx, authz.EnqueueAction(in.Body.Kind, in.Body.Args)); err != nil {
		return nil, err
	}
	if err := s.checkKind(ctx, in.Body.Kind, in.Body.AllowUnknownKind); err != nil {
		return nil, s.apiErr(err)
	}
	res, err := s.engine.EnqueueResults(actor(ctx), []jobs.EnqueueParams{{Kind: in.Body.Kind, Args: builtin.JobArgs(in.Body), Opts: opts}})
	if err != nil {
		return nil, s.apiErr(err)
	}
	out := &EnqueueOutput{Status: http.StatusCreated, Body: jobOut(res[0].Job)}
	if res[0].Duplicate {
		out.Status, out.Body.Duplicate = http.StatusOK, true // the job that was there first
	}
	return out, nil
}

func (s *Server) apiEnqueueBatch(ctx context.Context, in *BatchInput) (*BatchOutput, error) {
	batch := make([]jobs.EnqueueParams, len(in.Body.Jobs))
	var details []error
	for i, spec := range in.Body.Jobs {
		opts, bad := jobOptions(spec, "body.jobs["+strconv.Itoa(i)+"].")
		details = append(details, bad...)
		batch[i] = jobs.EnqueueParams{Kind: spec.Kind, Args: builtin.JobArgs(spec), Opts: opts}
	}
	if len(details) > 0 {
		return nil, huma.Error422UnprocessableEntity("No job was enqueued.", details...)
	}
	for i, spec := range in.Body.Jobs {
		if err := mustAllow(ctx, authz.EnqueueAction(spec.Kind, spec.Args)); err != nil {
			return nil, err
		}
		err := s.checkKind(ctx, spec.Kind, spec.AllowUnknownKind)
		if models.ErrorCode(err) == models.EINVALID {
			err = &jobs.BatchError{Index: i, Err: err}
		}
		if err != nil {
			return nil, s.apiErr(err)
		}
	}
	res, err := s.engine.EnqueueResults(actor(ctx), batch)
	if len(batch) == 1 && models.ErrorCode(err) == models.EINVALID {
		// The engine names the job refused only in a batch of several: name it here too.
		err = &jobs.BatchError{Index: 0, Err: err}
	}
	if err != nil {
		return nil, s.apiErr(err)
	}
	out := &BatchOutput{}
	out.Body.Jobs = make([]api.Job, len(res))
	for i, r := range res {
		out.Body.Jobs[i] = jobOut(r.Job)
		out.Body.Jobs[i].Duplicate = r.Duplicate
	}
	return out, nil
}

func (s *Server) apiGetJob(ctx context.Context, in *JobIDInput) (*JobDetailOutput, error) {
	d, err := s.jobDetail(ctx, in.ID)
	if err != nil {
		return nil, s.apiErr(err)
	}
	out := &JobDetailOutput{}
	out.Body.Job, out.Body.WaitingForSlot = jobOut(d.Job), d.WaitingForSlot
	out.Body.Events = make([]api.Event, 0, len(d.Events))
	for _, e := range d.Events {
		ev := api.Event{From: string(e.From), To: string(e.To), At: e.At.UTC(), Attempt: e.Attempt, Reason: e.Reason, Error: e.Error, ServerID: e.ServerID}
		if e.Duration > 0 {
			ev.Duration = e.Duration.String()
		}
		out.Body.Events = append(out.Body.Events, ev)
	}
	return out, nil
}

func (s *Server) apiListJobs(ctx context.Context, in *ListJobsInput) (*ListJobsOutput, error) {
	f := models.JobFilter{State: models.JobState(in.State), Kind: in.Kind, Queue: in.Queue, Search: in.Q, Tag: in.Tag}
	if err := f.Validate(); err != nil {
		return nil, s.apiErr(err)
	}
	var before int64
	if in.After != "" {
		n, err := strconv.ParseInt(in.After, 10, 64)
		if err != nil || n < 1 {
			return nil, huma.Error422UnprocessableEntity("Bad cursor.", &huma.ErrorDetail{Location: "query.after", Message: "Pass the next value of the previous page, as it came.", Value: in.After})
		}
		before = n
	}
	page, err := s.store.JobQueries.ListJobs(ctx, f, before, 0, in.Limit)
	if err != nil {
		return nil, s.apiErr(err)
	}
	out := &ListJobsOutput{}
	out.Body.Jobs = make([]api.Job, 0, len(page.Jobs))
	for i := range page.Jobs {
		out.Body.Jobs = append(out.Body.Jobs, jobOut(&page.Jobs[i]))
	}
	switch {
	case page.HasOlder && len(page.Jobs) > 0:
		out.Body.Next = strconv.FormatInt(page.Jobs[len(page.Jobs)-1].ID, 10)
	case page.SearchedFrom > 0: // a text search stopped at its window: go on below it
		out.Body.Next = strconv.FormatInt(page.SearchedFrom, 10)
	}
	return out, nil
}

func (s *Server) apiStats(ctx context.Context, _ *struct{}) (*StatsOutput, error) {
	counts, err := s.store.JobQueries.CountJobsByState(ctx)
	if err != nil {
		return nil, s.apiErr(err)
	}
	out := &StatsOutput{}
	out.Body.Jobs = map[string]int64{}
	for _, st := range models.JobStates {
		out.Body.Jobs[string(st)] = counts[st]
	}
	if out.Body.RetriesPending, err = s.store.JobQueries.RetriesPending(ctx); err != nil {
		return nil, s.apiErr(err)
	}
	if out.Body.Recurring, err = s.store.Recurring.CountRecurring(ctx); err != nil {
		return nil, s.apiErr(err)
	}
	servers, err := s.store.Servers.Servers(ctx)
	if err != nil {
		return nil, s.apiErr(err)
	}
	out.Body.Servers = len(servers)
	return out, nil
}

func (s *Server) apiKinds(ctx context.Context, _ *struct{}) (*KindsOutput, error) {
	out := &KindsOutput{}
	out.Body.Kinds = []api.Kind{}
	for _, k := range s.engine.Kinds() {
		ko := api.Kind{Name: k.Name, Queue: k.Queue, Priority: k.Priority, MaxAttempts: k.MaxAttempts}
		if k.Timeout > 0 {
			ko.Timeout = k.Timeout.String()
		}
		if k.Args != nil {
			if b, err := json.Marshal(huma.SchemaFromType(s.argsRegistry, k.Args)); err == nil {
				ko.ArgsSchema = b
			}
		}
		out.Body.Kinds = append(out.Body.Kinds, ko)
	}
	return out, nil
}

// apiJob names api.Job where a parameter called api hides the package.
type apiJob = api.Job
