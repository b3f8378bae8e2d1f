package web

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kilnhq/kiln/api"
	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
)

// The API's job actions and logs, recurring jobs, queues and servers.

// LogsOutput is a job's log.
type LogsOutput struct {
	Body api.Logs
}

// JobActionInput names a job and what to do to it: one of jobActions but delete, which is
// DELETE /v1/jobs/{id}.
type JobActionInput struct {
	ID     int64  `path:"id" minimum:"1"`
	Action string `path:"action" enum:"cancel,requeue,run" doc:"cancel: stop it (a running job's context is cancelled); requeue: run a finished job again from its first attempt; run: run a scheduled or waiting job now."`
}

func recurringOut(rj *models.RecurringJob) api.Recurring {
	out := api.Recurring{
		Name: rj.Name, Spec: rj.Spec, TimeZone: rj.TimeZone, Kind: rj.Kind, Args: json.RawMessage(rj.Args), Queue: rj.Queue,
		Misfire: rj.Misfire, Overlap: rj.Overlap, Skipped: rj.Skipped, LastSkipped: rj.LastSkippedAt, Paused: rj.Paused, Overridden: rj.Overridden, Edited: rj.Overridden, CreatedBy: rj.CreatedBy, NextRunAt: rj.NextRunAt, LastRunAt: rj.LastRunAt, LastJobID: rj.LastJobID,
	}
	if !json.Valid(out.Args) {
		out.Args = json.RawMessage("null")
	}
	if sched, err := jobs.ParseSchedule(rj.Spec, rj.TimeZone); err == nil {
		out.Description = sched.Describe()
		if rj.NextRunAt != nil && !rj.Paused {
			for _, o := range sched.Upcoming(*rj.NextRunAt, 3) {
				out.NextRuns = append(out.NextRuns, o.At.UTC())
				if o.Note != "" {
					out.ClockNotes = append(out.ClockNotes, o.Note)
				}
			}
		}
	}
	return out
}

// RecurringOutput is one recurring job.
type RecurringOutput struct {
	Body api.Recurring
}

// RecurringListOutput lists the recurring jobs.
type RecurringListOutput struct {
	Body api.RecurringList
}

// RecurringNameInput names a recurring job.
type RecurringNameInput struct {
	Name string `path:"name" maxLength:"200"`
}

// RecurringActionInput names a recurring job and what to do to it.
type RecurringActionInput struct {
	Name   string `path:"name" maxLength:"200"`
	Action string `path:"action" enum:"pause,resume,trigger" doc:"pause: enqueue nothing until resumed (survives restarts); resume: from its next occurrence on; trigger: enqueue one job now, outside the schedule."`
}

// RecurringActionOutput is the recurring job after the action, and the job a trigger made.
type RecurringActionOutput struct {
	Body api.RecurringAction
}

// RecurringScheduleInput changes a recurring job's schedule.
type RecurringScheduleInput struct {
	Name string `path:"name" maxLength:"200"`
	Body api.Schedule
}

// QueuesOutput lists the queues.
type QueuesOutput struct {
	Body api.QueueList
}

// QueueActionInput names a queue and whether to pause or resume it.
type QueueActionInput struct {
	Name   string `path:"name" maxLength:"100"`
	Action string `path:"action" enum:"pause,resume" doc:"pause: no server takes its jobs until resumed."`
}

// ServersOutput lists the servers.
type ServersOutput struct {
	Body api.ServerList
}

func (s *Server) registerOpsAPI(api huma.API) {
	registerByParam(api, "action", jobActionNeeds("cancel", "requeue", "run"), huma.Operation{
		OperationID: "job-action", Method: http.MethodPost, Path: "/v1/jobs/{id}/{action}", Summary: "Cancel, requeue or run a job now",
		Tags: []string{tagJobs}, Description: "Recorded in the job's history with the token's name. " +
			"An action the job's state doesn't allow (cancelling a finished job) is a 409.",
		Errors: codeStatuses(models.ENOTFOUND, models.ECONFLICT),
	}, s.apiJobAction)
	register(api, authz.JobsDelete, huma.Operation{
		OperationID: "delete-job", Method: http.MethodDelete, Path: "/v1/jobs/{id}", DefaultStatus: http.StatusNoContent,
		Summary: "Delete a job", Tags: []string{tagJobs}, Description: "A running job is stopped first. Retention removes it later.",
		Errors: codeStatuses(models.ENOTFOUND, models.ECONFLICT),
	}, s.apiDeleteJob)
	register(api, authz.Read, huma.Operation{
		OperationID: "job-logs", Method: http.MethodGet, Path: "/v1/jobs/{id}/logs", Summary: "A job's log", Tags: []string{tagJobs},
		Description: "Every line the job logged, oldest first, each with the attempt that wrote it.",
		Errors:      codeStatuses(models.ENOTFOUND),
	}, s.apiJobLogs)
	register(api, authz.Read, huma.Operation{
		OperationID: "list-recurring", Method: http.MethodGet, Path: "/v1/recurring", Summary: "List recurring jobs", Tags: []string{tagRecurring},
		Description: "Every recurring job, with its schedule in words, its next runs and its last run.",
	}, s.apiListRecurring)
	register(api, authz.Read, huma.Operation{
		OperationID: "get-recurring", Method: http.MethodGet, Path: "/v1/recurring/{name}", Summary: "Get a recurring job", Tags: []string{tagRecurring},
		Description: "One recurring job by its name, as the list shows it.",
		Errors:      codeStatuses(models.ENOTFOUND),
	}, s.apiGetRecurring)
	register(api, authz.RecurringEdit, huma.Operation{
		OperationID: "update-recurring", Method: http.MethodPut, Path: "/v1/recurring/{name}", Summary: "Change a recurring job's schedule",
		Tags: []string{tagRecurring}, Description: "The change outlives restarts: the code's schedule no longer applies.",
		Errors: codeStatuses(models.ENOTFOUND),
	}, s.apiUpdateRecurring)
	register(api, authz.RecurringEdit, huma.Operation{
		OperationID: "create-recurring", Method: http.MethodPost, Path: "/v1/recurring", DefaultStatus: http.StatusCreated,
		Summary: "Create a recurring job", Tags: []string{tagRecurring},
		Description: "Every server arms its timer within 15 seconds (this one at once). A name that is taken is a 409.",
		Errors:      codeStatuses(models.ECONFLICT),
	}, s.apiCreateRecurring)
	register(api, authz.RecurringEdit, huma.Operation{
		OperationID: "delete-recurring", Method: http.MethodDelete, Path: "/v1/recurring/{name}", DefaultStatus: http.StatusNoContent,
		Summary: "Delete a recurring job", Tags: []string{tagRecurring},
		Description: "The jobs it made stay. An entry a server's code defines is refused with 409, as on the dashboard: " +
			"it would come back when that server next starts; pause it instead, or remove it from the code.",
		Errors: codeStatuses(models.ENOTFOUND, models.ECONFLICT),
	}, s.apiDeleteRecurring)
	registerByParam(api, "action", map[string]authz.Action{"pause": authz.RecurringPause, "resume": authz.RecurringPause, "trigger": authz.RecurringTrigger}, huma.Operation{
		OperationID: "recurring-action", Method: http.MethodPost, Path: "/v1/recurring/{name}/{action}", Summary: "Pause, resume or trigger a recurring job",
		Tags: []string{tagRecurring}, Description: "A pause lasts across restarts, for every server; " +
			"a trigger's job is in the answer beside the recurring job.",
		Errors: codeStatuses(models.ENOTFOUND),
	}, s.apiRecurringAction)
	register(api, authz.Read, huma.Operation{
		OperationID: "list-queues", Method: http.MethodGet, Path: "/v1/queues", Summary: "List queues", Tags: []string{tagQueues},
		Description: "Each queue with its jobs by state, its oldest enqueued job, and whether it is paused and by whom.",
	}, s.apiListQueues)
	registerByParam(api, "action", map[string]authz.Action{"pause": authz.QueuesPause, "resume": authz.QueuesPause}, huma.Operation{
		OperationID: "queue-action", Method: http.MethodPost, Path: "/v1/queues/{name}/{action}", Summary: "Pause or resume a queue",
		Tags: []string{tagQueues}, DefaultStatus: http.StatusNoContent,
		Description: "For every server: a paused queue's jobs wait until it is resumed.",
	}, s.apiQueueAction)
	register(api, authz.Read, huma.Operation{
		OperationID: "list-servers", Method: http.MethodGet, Path: "/v1/servers", Summary: "List the running Kiln processes", Tags: []string{tagServers},
		Description: "Each registered Kiln process, oldest first: its host and pid, when it started and last sent a heartbeat, its queues, and how many of its workers are busy.",
	}, s.apiListServers)
}

// actor is the caller, for the history of what it does.
func actor(ctx context.Context) context.Context { return jobs.WithActor(ctx, apiUser(ctx).Username) }

func (s *Server) apiJobAction(ctx context.Context, in *JobActionInput) (*JobOutput, error) {
	action, ok := jobActionNamed(in.Action)
	if !ok { // the path's enum, checked against jobActions by a test, lets only theirs through
		return nil, huma.Error422UnprocessableEntity("Unknown action " + in.Action + ".")
	}
	if err := s.doJobAction(actor(ctx), action, in.ID); err != nil {
		return nil, s.apiErr(err)
	}
	j, err := s.store.JobQueries.GetJob(ctx, in.ID)
	if err != nil {
		return nil, s.apiErr(err)
	}
	return &JobOutput{Body: jobOut(j)}, nil
}

func (s *Server) apiDeleteJob(ctx context.Context, in *JobIDInput) (*struct{}, error) {
	action, _ := jobActionNamed("delete")
	if err := s.doJobAction(actor(ctx), action, in.ID); err != nil {
		return nil, s.apiErr(err)
	}
	return nil, nil
}

func (s *Server) apiJobLogs(ctx context.Context, in *JobIDInput) (*LogsOutput, error) {
	if _, err := s.store.JobQueries.GetJob(ctx, in.ID); err != nil {
		return nil, s.apiErr(err)
	}
	logs, err := s.store.JobQueries.JobLogs(ctx, in.ID)
	if err != nil {
		return nil, s.apiErr(err)
	}
	out := &LogsOutput{}
	out.Body.Logs = make([]api.LogLine, 0, len(logs))
	for _, l := range logs {
		out.Body.Logs = append(out.Body.Logs, api.LogLine{Attempt: l.Attempt, At: l.At.UTC(), Message: l.Message})
	}
	return out, nil
}

func (s *Server) apiListRecurring(ctx context.Context, _ *struct{}) (*RecurringListOutput, error) {
	rows, err := s.store.Recurring.ListRecurring(ctx)
	if err != nil {
		return nil, s.apiErr(err)
	}
	out := &RecurringListOutput{}
	out.Body.Recurring = make([]api.Recurring, 0, len(rows))
	for i := range rows {
		out.Body.Recurring = append(out.Body.Recurring, recurringOut(&rows[i]))
	}
	return out, nil
}

func (s *Server) apiGetRecurring(ctx context.Context, in *RecurringNameInput) (*RecurringOutput, error) {
	rj, err := s.store.Recurring.GetRecurring(ctx, in.Name)
	if err != nil {
		return nil, s.apiErr(err)
	}
	return &RecurringOutput{Body: recurringOut(rj)}, nil
}

func (s *Server) apiUpdateRecurring(ctx context.Context, in *RecurringScheduleInput) (*RecurringOutput, error) {
	rj, err := s.store.Recurring.GetRecurring(ctx, in.Name)
	if err != nil {
		return nil, s.apiErr(err)
	}
	var opts []jobs.Option
	if in.Body.Overlap != "" {
		opts = append(opts, jobs.Overlap(in.Body.Overlap))
	}
	rj, err = s.engine.UpdateRecurringSchedule(actor(ctx), rj.ID, in.Body.Spec, in.Body.TimeZone, opts...) // one change: one audit entry
	if fields := scheduleFieldErrors(err, in.Body.TimeZone); fields != nil {
		var details []error
		for field, msg := range fields {
			name := map[string]string{"spec": "spec", "tz": "time_zone"}[field]
			details = append(details, &huma.ErrorDetail{Location: "body." + name, Message: msg})
		}
		return nil, huma.Error422UnprocessableEntity("The schedule was not saved.", details...)
	}
	if err != nil {
		return nil, s.apiErr(err)
	}
	return &RecurringOutput{Body: recurringOut(rj)}, nil
}

func (s *Server) apiRecurringAction(ctx context.Context, in *RecurringActionInput) (*RecurringActionOutput, error) {
	out := &RecurringActionOutput{}
	var err error
	switch in.Action { // the store's change records paused before and after
	case "pause":
		err = s.engine.PauseRecurring(actor(ctx), in.Name)
	case "resume":
		err = s.engine.ResumeRecurring(actor(ctx), in.Name)
	default: // trigger
		var j *models.Job
		if j, err = s.engine.TriggerRecurring(actor(ctx), in.Name); err == nil {
			jo := jobOut(j)
			out.Body.Job = &jo
		}
	}
	if err != nil {
		return nil, s.apiErr(err)
	}
	rj, err := s.store.Recurring.GetRecurring(ctx, in.Name)
	if err != nil {
		return nil, s.apiErr(err)
	}
	out.Body.Recurring = recurringOut(rj)
	return out, nil
}

func (s *Server) apiListQueues(ctx context.Context, _ *struct{}) (*QueuesOutput, error) {
	stats, err := s.store.Queues.QueueStats(ctx)
	if err != nil {
		return nil, s.apiErr(err)
	}
	out := &QueuesOutput{}
	out.Body.Queues = make([]api.Queue, 0, len(stats))
	for _, q := range stats {
		out.Body.Queues = append(out.Body.Queues, api.Queue{Name: q.Name, Enqueued: q.Enqueued, Scheduled: q.Scheduled,
			Processing: q.Processing, Failed: q.Failed, Oldest: q.OldestEnqueued, Paused: q.Paused, PausedBy: q.PausedBy})
	}
	return out, nil
}

func (s *Server) apiQueueAction(ctx context.Context, in *QueueActionInput) (*struct{}, error) {
	var err error
	if in.Action == "pause" {
		err = s.engine.PauseQueue(actor(ctx), in.Name)
	} else {
		err = s.engine.ResumeQueue(actor(ctx), in.Name)
	}
	if err != nil {
		return nil, s.apiErr(err)
	}
	return nil, nil
}

func (s *Server) apiListServers(ctx context.Context, _ *struct{}) (*ServersOutput, error) {
	servers, err := s.store.Servers.Servers(ctx)
	if err != nil {
		return nil, s.apiErr(err)
	}
	out := &ServersOutput{}
	out.Body.Servers = make([]api.Server, 0, len(servers))
	for _, v := range servers {
		out.Body.Servers = append(out.Body.Servers, api.Server{ID: v.ID, Host: v.Host, PID: v.PID, StartedAt: v.StartedAt.UTC(),
			HeartbeatAt: v.HeartbeatAt.UTC(), Queues: v.Queues, Workers: v.Workers, Busy: v.Busy})
	}
	return out, nil
}

// CreateRecurringInput is a recurring job to create.
type CreateRecurringInput struct {
	Body api.RecurringSpec
}

func (s *Server) apiCreateRecurring(ctx context.Context, in *CreateRecurringInput) (*RecurringOutput, error) {
	b := in.Body
	opts, details := jobOptions(api.JobSpec{Queue: b.Queue, Priority: b.Priority, MaxAttempts: b.MaxAttempts, Timeout: b.Timeout}, "body.")
	if b.TimeZone != "" {
		opts = append(opts, jobs.TimeZone(b.TimeZone))
	}
	if b.Misfire != "" {
		opts = append(opts, jobs.Misfire(b.Misfire))
	}
	if b.Overlap != "" {
		opts = append(opts, jobs.Overlap(b.Overlap))
	}
	if len(details) > 0 {
		return nil, huma.Error422UnprocessableEntity("The recurring job was not created.", details...)
	}
	if err := mustAllow(ctx, authz.EnqueueAction(b.Kind, b.Args)); err != nil {
		return nil, err // its jobs run what their kind and arguments say, as one enqueued by hand would
	}
	if err := s.checkKind(ctx, b.Kind, b.AllowUnknownKind); err != nil {
		return nil, s.apiErr(err)
	}
	var args any
	if len(b.Args) > 0 {
		args = b.Args
	}
	rj, err := s.engine.CreateRecurring(actor(ctx), b.Name, b.Spec, b.Kind, args, opts...)
	if fields := scheduleFieldErrors(err, b.TimeZone); fields != nil {
		var d []error
		for field, msg := range fields {
			d = append(d, &huma.ErrorDetail{Location: "body." + map[string]string{"spec": "spec", "tz": "time_zone"}[field], Message: msg})
		}
		return nil, huma.Error422UnprocessableEntity("The recurring job was not created.", d...)
	}
	if err != nil {
		return nil, s.apiErr(err)
	}
	return &RecurringOutput{Body: recurringOut(rj)}, nil
}

func (s *Server) apiDeleteRecurring(ctx context.Context, in *RecurringNameInput) (*struct{}, error) {
	rj, err := s.store.Recurring.GetRecurring(ctx, in.Name)
	if err == nil {
		err = s.deleteRecurring(actor(ctx), rj)
	}
	if err != nil {
		return nil, s.apiErr(err)
	}
	return nil, nil
}
