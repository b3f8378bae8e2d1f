package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// JobOut is a job as the API shows it.
type JobOut struct {
	ID          int64           `json:"id"`
	Kind        string          `json:"kind"`
	Queue       string          `json:"queue"`
	State       string          `json:"state" enum:"scheduled,awaiting,enqueued,processing,succeeded,failed,cancelled,deleted"`
	Priority    int             `json:"priority"`
	Args        json.RawMessage `json:"args" doc:"The job's arguments, as given."`
	Attempt     int             `json:"attempt" doc:"Attempts used so far."`
	MaxAttempts int             `json:"max_attempts"`
	RunAt       time.Time       `json:"run_at" doc:"When the job may run (a delayed or retried job waits for it)."`
	CreatedAt   time.Time       `json:"created_at"`
	StartedAt   *time.Time      `json:"started_at,omitempty"`
	FinishedAt  *time.Time      `json:"finished_at,omitempty"`
	ServerID    string          `json:"server_id,omitempty" doc:"The Kiln process that ran it last."`
	LastError   string          `json:"last_error,omitempty"`
	UniqueKey   *string         `json:"unique_key,omitempty"`
	ParentID    *int64          `json:"parent_id,omitempty" doc:"The job this one continues."`
	RecurringID *int64          `json:"recurring_id,omitempty"`
	Progress    int             `json:"progress" minimum:"0" maximum:"100"`
	Timeout     string          `json:"timeout,omitempty" doc:"How long one attempt may run, as a Go duration."`
	Result      json.RawMessage `json:"result,omitempty" doc:"What a succeeded job returned."`
	Rescues     int             `json:"rescues" doc:"Times the job went back to its queue because its server died."`
}

func jobOut(j *models.Job) JobOut {
	out := JobOut{
		ID: j.ID, Kind: j.Kind, Queue: j.Queue, State: string(j.State), Priority: j.Priority, Args: json.RawMessage(j.Args),
		Attempt: j.Attempt, MaxAttempts: j.MaxAttempts, RunAt: j.RunAt.UTC(), CreatedAt: j.CreatedAt.UTC(),
		StartedAt: j.StartedAt, FinishedAt: j.FinishedAt, ServerID: j.ServerID, LastError: j.LastError,
		UniqueKey: j.UniqueKey, ParentID: j.ParentID, RecurringID: j.RecurringID, Progress: j.Progress, Rescues: j.Rescues,
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

// EventOut is one state change of a job.
type EventOut struct {
	From     string    `json:"from,omitempty"`
	To       string    `json:"to"`
	At       time.Time `json:"at"`
	Attempt  int       `json:"attempt"`
	Reason   string    `json:"reason,omitempty"`
	Error    string    `json:"error,omitempty"`
	ServerID string    `json:"server_id,omitempty"`
	Duration string    `json:"duration,omitempty" doc:"How long the attempt ran, as a Go duration."`
}

// JobSpec is a job to enqueue.
type JobSpec struct {
	Kind        string          `json:"kind" minLength:"1" maxLength:"100" doc:"The job's kind, e.g. email.send."`
	Args        json.RawMessage `json:"args,omitempty" doc:"The job's arguments: any JSON value (an object, usually)."`
	Queue       string          `json:"queue,omitempty" maxLength:"100" doc:"Default: the kind's queue, else default."`
	Priority    *int            `json:"priority,omitempty" doc:"Higher runs first within a queue."`
	MaxAttempts *int            `json:"max_attempts,omitempty" minimum:"1" maximum:"1000"`
	Timeout     string          `json:"timeout,omitempty" doc:"How long one attempt may run, as a Go duration (30s, 5m)."`
	RunAt       *time.Time      `json:"run_at,omitempty" doc:"Run at this time (RFC 3339) rather than at once."`
	Delay       string          `json:"delay,omitempty" doc:"Run after this Go duration rather than at once."`
	UniqueKey   string          `json:"unique_key,omitempty" maxLength:"255" doc:"At most one job with this key exists: enqueueing it again returns the first."`
}

// EnqueueInput is a job to enqueue.
type EnqueueInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Retrying a POST with the same key returns the first job (200) instead of making another. Kept as the job's unique key, idempotency:<key>, for as long as the job is."`
	Body           JobSpec
}

// BatchInput is many jobs to enqueue at once.
type BatchInput struct {
	Body struct {
		Jobs []JobSpec `json:"jobs" minItems:"1" maxItems:"1000"`
	}
}

// BatchOutput is the jobs a batch made, in order.
type BatchOutput struct {
	Body struct {
		Jobs []JobOut `json:"jobs" doc:"In the order given; a job whose unique_key was taken is the job that holds it."`
	}
}

// JobOutput is one job.
type JobOutput struct {
	Body JobOut
}

// EnqueueOutput is the job a POST made (201), or the one its Idempotency-Key found (200).
type EnqueueOutput struct {
	Status int `json:"-"`
	Body   JobOut
}

// JobDetailOutput is one job with its history.
type JobDetailOutput struct {
	Body struct {
		JobOut
		Events []EventOut `json:"events"`
	}
}

// JobIDInput names one job.
type JobIDInput struct {
	ID int64 `path:"id" minimum:"1" doc:"The job's id."`
}

// ListJobsInput filters and pages the job list.
type ListJobsInput struct {
	State string `query:"state" enum:"scheduled,awaiting,enqueued,processing,succeeded,failed,cancelled,deleted" doc:"Only jobs in this state."`
	Kind  string `query:"kind" maxLength:"100"`
	Queue string `query:"queue" maxLength:"100"`
	Q     string `query:"q" maxLength:"200" doc:"Text found in the arguments or the last error."`
	After string `query:"after" doc:"The next cursor of the previous page."`
	Limit int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
}

// ListJobsOutput is a page of jobs, newest first.
type ListJobsOutput struct {
	Body struct {
		Jobs []JobOut `json:"jobs"`
		Next string   `json:"next,omitempty" doc:"Pass as after= for the next (older) page; absent on the last page."`
	}
}

// StatsOutput is what the overview counts.
type StatsOutput struct {
	Body struct {
		Jobs           map[string]int64 `json:"jobs" doc:"Jobs by state."`
		RetriesPending int64            `json:"retries_pending" doc:"Failed attempts waiting to run again."`
		Recurring      int64            `json:"recurring"`
		Servers        int              `json:"servers"`
	}
}

// KindOut is a registered kind.
type KindOut struct {
	Name        string       `json:"name"`
	Queue       string       `json:"queue"`
	Priority    int          `json:"priority"`
	MaxAttempts int          `json:"max_attempts"`
	Timeout     string       `json:"timeout,omitempty"`
	Args        *huma.Schema `json:"args_schema,omitempty" doc:"A JSON Schema of the arguments, when the kind declares their type."`
}

// KindsOutput lists the registered kinds.
type KindsOutput struct {
	Body struct {
		Kinds []KindOut `json:"kinds"`
	}
}

// apiUser is who an API handler acts for (set by newAPI's middleware).
func apiUser(ctx context.Context) *models.User {
	u, _ := ctx.Value(apiUserKey{}).(*models.User)
	return u
}

type apiUserKey struct{}

// mustAdmin refuses a change to a caller who may only read.
func mustAdmin(ctx context.Context) error {
	if !apiUser(ctx).CanAct() {
		return huma.Error403Forbidden("This token may read but not change anything: it has the viewer role.")
	}
	return nil
}

func (s *Server) registerJobAPI(api huma.API) {
	huma.Register(api, huma.Operation{
		OperationID: "enqueue-job", Method: http.MethodPost, Path: "/v1/jobs", DefaultStatus: http.StatusCreated,
		Summary: "Enqueue a job", Tags: []string{"Jobs"},
		Description: "Stores a job to run as soon as a worker is free, at run_at, or after delay. Needs an admin token. " +
			"With a unique_key that another job already has, that job is returned and none is made; " +
			"a retry with the same Idempotency-Key returns the first POST's job with 200.",
	}, s.apiEnqueue)
	huma.Register(api, huma.Operation{
		OperationID: "enqueue-jobs", Method: http.MethodPost, Path: "/v1/jobs/batch", DefaultStatus: http.StatusCreated,
		Summary: "Enqueue many jobs", Tags: []string{"Jobs"},
		Description: "Up to 1,000 jobs in one transaction: all are stored, or none (a refused job names its place, body.jobs[i]).",
	}, s.apiEnqueueBatch)
	huma.Register(api, huma.Operation{
		OperationID: "list-jobs", Method: http.MethodGet, Path: "/v1/jobs", Summary: "List jobs", Tags: []string{"Jobs"},
		Description: "Jobs matching the filters, newest first, a page at a time: pass the response's next as after= for the next page.",
	}, s.apiListJobs)
	huma.Register(api, huma.Operation{
		OperationID: "get-job", Method: http.MethodGet, Path: "/v1/jobs/{id}", Summary: "Get a job and its history", Tags: []string{"Jobs"},
	}, s.apiGetJob)
	huma.Register(api, huma.Operation{
		OperationID: "get-stats", Method: http.MethodGet, Path: "/v1/stats", Summary: "The overview's counts", Tags: []string{"Stats"},
	}, s.apiStats)
	huma.Register(api, huma.Operation{
		OperationID: "list-kinds", Method: http.MethodGet, Path: "/v1/kinds", Summary: "The kinds this server works", Tags: []string{"Jobs"},
		Description: "Each registered kind with its defaults, and a JSON Schema of its arguments where the kind declares their type.",
	}, s.apiKinds)
}

// jobOptions reads a JobSpec into the engine's options; refusals name their field under at.
func jobOptions(b JobSpec, at string) ([]jobs.Option, []error) {
	var opts []jobs.Option
	var details []error
	bad := func(field, msg string) {
		details = append(details, &huma.ErrorDetail{Location: at + field, Message: msg})
	}
	if b.Queue != "" {
		opts = append(opts, jobs.Queue(b.Queue))
	}
	if b.Priority != nil {
		opts = append(opts, jobs.Priority(*b.Priority))
	}
	if b.MaxAttempts != nil {
		opts = append(opts, jobs.MaxAttempts(*b.MaxAttempts))
	}
	if b.Timeout != "" {
		if d, err := time.ParseDuration(b.Timeout); err != nil || d <= 0 {
			bad("timeout", "A positive Go duration, such as 30s or 5m.")
		} else {
			opts = append(opts, jobs.Timeout(d))
		}
	}
	switch {
	case b.RunAt != nil && b.Delay != "":
		bad("delay", "Give run_at or delay, not both.")
	case b.RunAt != nil:
		opts = append(opts, jobs.RunAt(*b.RunAt))
	case b.Delay != "":
		if d, err := time.ParseDuration(b.Delay); err != nil || d < 0 {
			bad("delay", "A Go duration that isn't negative, such as 90s or 2h.")
		} else {
			opts = append(opts, jobs.RunAt(time.Now().Add(d)))
		}
	}
	if b.UniqueKey != "" {
		opts = append(opts, jobs.UniqueKey(b.UniqueKey))
	}
	return opts, details
}

func specArgs(b JobSpec) any {
	if len(b.Args) == 0 {
		return nil
	}
	return b.Args
}

func (s *Server) apiEnqueue(ctx context.Context, in *EnqueueInput) (*EnqueueOutput, error) {
	if err := mustAdmin(ctx); err != nil {
		return nil, err
	}
	opts, details := jobOptions(in.Body, "body.")
	if in.IdempotencyKey != "" {
		if in.Body.UniqueKey != "" {
			details = append(details, &huma.ErrorDetail{Location: "header.Idempotency-Key", Message: "Give an Idempotency-Key or a unique_key, not both."})
		}
		opts = append(opts, jobs.UniqueKey("idempotency:"+in.IdempotencyKey))
	}
	if len(details) > 0 {
		return nil, huma.Error422UnprocessableEntity("The job was not enqueued.", details...)
	}
	res, err := s.engine.EnqueueResults(actor(ctx), []jobs.EnqueueParams{{Kind: in.Body.Kind, Args: specArgs(in.Body), Opts: opts}})
	if err != nil {
		return nil, s.apiErr(err)
	}
	out := &EnqueueOutput{Status: http.StatusCreated, Body: jobOut(res[0].Job)}
	if res[0].Duplicate && in.IdempotencyKey != "" {
		out.Status = http.StatusOK // the first POST's job
	}
	return out, nil
}

func (s *Server) apiEnqueueBatch(ctx context.Context, in *BatchInput) (*BatchOutput, error) {
	if err := mustAdmin(ctx); err != nil {
		return nil, err
	}
	batch := make([]jobs.EnqueueParams, len(in.Body.Jobs))
	var details []error
	for i, spec := range in.Body.Jobs {
		opts, bad := jobOptions(spec, "body.jobs["+strconv.Itoa(i)+"].")
		details = append(details, bad...)
		batch[i] = jobs.EnqueueParams{Kind: spec.Kind, Args: specArgs(spec), Opts: opts}
	}
	if len(details) > 0 {
		return nil, huma.Error422UnprocessableEntity("No job was enqueued.", details...)
	}
	res, err := s.engine.EnqueueResults(actor(ctx), batch)
	if err != nil {
		return nil, s.apiErr(err)
	}
	out := &BatchOutput{}
	out.Body.Jobs = make([]JobOut, len(res))
	for i, r := range res {
		out.Body.Jobs[i] = jobOut(r.Job)
	}
	return out, nil
}

func (s *Server) apiGetJob(ctx context.Context, in *JobIDInput) (*JobDetailOutput, error) {
	j, err := s.store.GetJob(ctx, in.ID)
	if err != nil {
		return nil, s.apiErr(err)
	}
	events, err := s.store.JobEvents(ctx, in.ID)
	if err != nil {
		return nil, s.apiErr(err)
	}
	out := &JobDetailOutput{}
	out.Body.JobOut = jobOut(j)
	out.Body.Events = make([]EventOut, 0, len(events))
	for _, e := range events {
		ev := EventOut{From: string(e.From), To: string(e.To), At: e.At.UTC(), Attempt: e.Attempt, Reason: e.Reason, Error: e.Error, ServerID: e.ServerID}
		if e.Duration > 0 {
			ev.Duration = e.Duration.String()
		}
		out.Body.Events = append(out.Body.Events, ev)
	}
	return out, nil
}

func (s *Server) apiListJobs(ctx context.Context, in *ListJobsInput) (*ListJobsOutput, error) {
	f := models.JobFilter{State: models.JobState(in.State), Kind: in.Kind, Queue: in.Queue, Search: in.Q}
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
	page, err := s.store.ListJobs(ctx, f, before, 0, in.Limit)
	if err != nil {
		return nil, s.apiErr(err)
	}
	out := &ListJobsOutput{}
	out.Body.Jobs = make([]JobOut, 0, len(page.Jobs))
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
	counts, err := s.store.CountJobsByState(ctx)
	if err != nil {
		return nil, s.apiErr(err)
	}
	out := &StatsOutput{}
	out.Body.Jobs = map[string]int64{}
	for _, st := range models.JobStates {
		out.Body.Jobs[string(st)] = counts[st]
	}
	if out.Body.RetriesPending, err = s.store.RetriesPending(ctx); err != nil {
		return nil, s.apiErr(err)
	}
	if out.Body.Recurring, err = s.store.CountRecurring(ctx); err != nil {
		return nil, s.apiErr(err)
	}
	servers, err := s.store.Servers(ctx)
	if err != nil {
		return nil, s.apiErr(err)
	}
	out.Body.Servers = len(servers)
	return out, nil
}

func (s *Server) apiKinds(ctx context.Context, _ *struct{}) (*KindsOutput, error) {
	out := &KindsOutput{}
	out.Body.Kinds = []KindOut{}
	for _, k := range s.engine.Kinds() {
		ko := KindOut{Name: k.Name, Queue: k.Queue, Priority: k.Priority, MaxAttempts: k.MaxAttempts}
		if k.Timeout > 0 {
			ko.Timeout = k.Timeout.String()
		}
		if k.Args != nil {
			ko.Args = huma.SchemaFromType(s.argsRegistry, k.Args)
		}
		out.Body.Kinds = append(out.Body.Kinds, ko)
	}
	return out, nil
}
