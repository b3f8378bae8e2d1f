package web

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kilnhq/kiln/api"
	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/models"
)

// The API's tasks: the same store calls and validation as the forms.

func taskOut(t *models.Task, now time.Time) api.Task {
	status := models.TaskPending
	switch {
	case t.Completed:
		status = models.TaskCompleted
	case !t.DueAt.After(now):
		status = models.TaskOverdue
	}
	return api.Task{ID: t.ID, Title: t.Title, Description: t.Description, DueAt: t.DueAt.UTC(), Status: string(status),
		CompletedAt: t.CompletedAt, CompletedBy: t.CompletedBy, CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC()}
}

// TaskInput is a task to create.
type TaskInput struct {
	Body api.TaskSpec
}

// TaskUpdateInput replaces a task's fields.
type TaskUpdateInput struct {
	ID   int64 `path:"id" minimum:"1"`
	Body api.TaskSpec
}

// TaskIDInput names a task.
type TaskIDInput struct {
	ID int64 `path:"id" minimum:"1"`
}

// TaskActionInput names a task and whether to complete or reopen it.
type TaskActionInput struct {
	ID     int64  `path:"id" minimum:"1"`
	Action string `path:"action" enum:"complete,reopen"`
}

// TaskOutput is one task.
type TaskOutput struct {
	Body api.Task
}

// ListTasksInput filters and pages the tasks.
type ListTasksInput struct {
	Status string `query:"status" enum:"all,pending,overdue,completed" default:"all"`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Offset int    `query:"offset" minimum:"0" maximum:"1000000"`
}

// ListTasksOutput is a page of tasks.
type ListTasksOutput struct {
	Body api.TaskList
}

func (s *Server) registerTaskAPI(api huma.API) {
	register(api, authz.Read, huma.Operation{OperationID: "list-tasks", Method: http.MethodGet, Path: "/v1/tasks", Summary: "List tasks", Tags: []string{tagTasks},
		Description: "Tasks of one status, a page at a time (limit, offset): completed ones latest first, the others by due date, soonest first."}, s.apiListTasks)
	register(api, authz.TasksEdit, huma.Operation{OperationID: "create-task", Method: http.MethodPost, Path: "/v1/tasks", DefaultStatus: http.StatusCreated,
		Summary: "Create a task", Tags: []string{tagTasks},
		Description: "Checked as the New task form checks it; its status follows from its due date."}, s.apiCreateTask)
	register(api, authz.Read, huma.Operation{OperationID: "get-task", Method: http.MethodGet, Path: "/v1/tasks/{id}", Summary: "Get a task", Tags: []string{tagTasks},
		Description: "One task, its status worked out at the time of the request.", Errors: codeStatuses(models.ENOTFOUND)}, s.apiGetTask)
	register(api, authz.TasksEdit, huma.Operation{OperationID: "update-task", Method: http.MethodPut, Path: "/v1/tasks/{id}", Summary: "Change a task", Tags: []string{tagTasks},
		Description: "Replaces its title, description and due date with those sent: a description left out is emptied.",
		Errors:      codeStatuses(models.ENOTFOUND)}, s.apiUpdateTask)
	register(api, authz.TasksEdit, huma.Operation{OperationID: "delete-task", Method: http.MethodDelete, Path: "/v1/tasks/{id}", DefaultStatus: http.StatusNoContent,
		Summary: "Delete a task", Tags: []string{tagTasks}, Description: "The task is gone for good.",
		Errors: codeStatuses(models.ENOTFOUND)}, s.apiDeleteTask)
	registerByParam(api, "action", map[string]authz.Action{"complete": authz.TasksEdit, "reopen": authz.TasksEdit}, huma.Operation{OperationID: "task-action", Method: http.MethodPost, Path: "/v1/tasks/{id}/{action}", Summary: "Complete or reopen a task",
		Tags: []string{tagTasks}, Description: "Completing a completed task, or reopening an open one, changes nothing.",
		Errors: codeStatuses(models.ENOTFOUND)}, s.apiTaskAction)
}

func (s *Server) apiListTasks(ctx context.Context, in *ListTasksInput) (*ListTasksOutput, error) {
	status, err := models.ParseTaskStatus(in.Status)
	if err != nil {
		return nil, s.apiErr(err)
	}
	now := s.cfg.Now()
	tasks, err := s.store.Tasks.ListTasks(ctx, models.TaskFilter{Status: status, Now: now, Limit: in.Limit, Offset: in.Offset})
	if err != nil {
		return nil, s.apiErr(err)
	}
	out := &ListTasksOutput{}
	out.Body.Tasks = make([]api.Task, 0, len(tasks))
	for i := range tasks {
		out.Body.Tasks = append(out.Body.Tasks, taskOut(&tasks[i], now))
	}
	return out, nil
}

func (s *Server) apiCreateTask(ctx context.Context, in *TaskInput) (*TaskOutput, error) {
	t, err := s.store.Tasks.CreateTask(ctx, models.TaskInput{Title: in.Body.Title, Description: in.Body.Description, DueAt: in.Body.DueAt})
	if err != nil {
		return nil, s.apiErr(err)
	}
	return &TaskOutput{Body: taskOut(t, s.cfg.Now())}, nil
}

func (s *Server) apiGetTask(ctx context.Context, in *TaskIDInput) (*TaskOutput, error) {
	t, err := s.store.Tasks.GetTask(ctx, in.ID)
	if err != nil {
		return nil, s.apiErr(err)
	}
	return &TaskOutput{Body: taskOut(t, s.cfg.Now())}, nil
}

func (s *Server) apiUpdateTask(ctx context.Context, in *TaskUpdateInput) (*TaskOutput, error) {
	t, err := s.store.Tasks.UpdateTask(ctx, in.ID, models.TaskInput{Title: in.Body.Title, Description: in.Body.Description, DueAt: in.Body.DueAt})
	if err != nil {
		return nil, s.apiErr(err)
	}
	return &TaskOutput{Body: taskOut(t, s.cfg.Now())}, nil
}

func (s *Server) apiDeleteTask(ctx context.Context, in *TaskIDInput) (*struct{}, error) {
	if err := s.store.Tasks.DeleteTask(ctx, in.ID); err != nil {
		return nil, s.apiErr(err)
	}
	return nil, nil
}

func (s *Server) apiTaskAction(ctx context.Context, in *TaskActionInput) (*TaskOutput, error) {
	var t *models.Task
	var err error
	if in.Action == "complete" {
		t, err = s.store.Tasks.CompleteTask(ctx, in.ID, models.CompletedByUser, s.cfg.Now())
	} else {
		t, err = s.store.Tasks.ReopenTask(ctx, in.ID)
	}
	if err != nil {
		return nil, s.apiErr(err)
	}
	return &TaskOutput{Body: taskOut(t, s.cfg.Now())}, nil
}
