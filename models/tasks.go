package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Limits on task input, in characters (runes).
const (
	TaskTitleMax       = 200
	TaskDescriptionMax = 5000
)

// Who completed a task.
const (
	CompletedByUser    = "user"
	CompletedBySweeper = "sweeper"
)

// earliestDue and latestDue bound due dates to what every dialect and the datetime-local input
// represent the same way.
var (
	earliestDue = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	latestDue   = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// Task is a to-do item with a due date. Times are stored in UTC.
type Task struct {
	ID          int64 `gorm:"primaryKey"`
	Title       string
	Description string
	DueAt       time.Time
	Completed   bool
	// CompletedAt is the "action date": when the task was completed, by a user or the sweeper.
	CompletedAt *time.Time
	// CompletedBy is CompletedByUser or CompletedBySweeper; empty while the task is open.
	CompletedBy string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TaskStatus is where a task stands; also the filters of the task list.
type TaskStatus string

// Task statuses. TaskAll is only a filter.
const (
	TaskAll       TaskStatus = "all"
	TaskPending   TaskStatus = "pending"
	TaskOverdue   TaskStatus = "overdue"
	TaskCompleted TaskStatus = "completed"
)

// TaskStatuses lists the task list filters in display order.
var TaskStatuses = []TaskStatus{TaskAll, TaskPending, TaskOverdue, TaskCompleted}

// ParseTaskStatus returns the status named s; "" means TaskAll.
func ParseTaskStatus(s string) (TaskStatus, error) {
	if s == "" {
		return TaskAll, nil
	}
	for _, st := range TaskStatuses {
		if string(st) == s {
			return st, nil
		}
	}
	return "", Errorf(EINVALID, "unknown task filter %q: use all, pending, overdue or completed", s)
}

// Status reports whether the task is completed, overdue (open and due at or before now) or pending.
func (t *Task) Status(now time.Time) TaskStatus {
	switch {
	case t.Completed:
		return TaskCompleted
	case !t.DueAt.After(now):
		return TaskOverdue
	default:
		return TaskPending
	}
}

// TaskInput is what a user may set on a task.
type TaskInput struct {
	Title       string
	Description string
	DueAt       time.Time
}

// Normalize trims the text fields and puts the due date in UTC, at whole seconds.
func (in *TaskInput) Normalize() {
	in.Title = strings.TrimSpace(in.Title)
	in.Description = strings.TrimSpace(strings.ReplaceAll(in.Description, "\r\n", "\n"))
	if !in.DueAt.IsZero() {
		in.DueAt = in.DueAt.UTC().Truncate(time.Second)
	}
}

// Validate checks a normalized input and returns an EINVALID *Error with a message per field
// (keys "title", "description", "due_at"), or nil.
func (in *TaskInput) Validate() error {
	fields := map[string]string{}
	switch {
	case in.Title == "":
		fields["title"] = "Title is required."
	case !utf8.ValidString(in.Title) || strings.IndexFunc(in.Title, unicode.IsControl) >= 0:
		fields["title"] = "Title can't contain control characters."
	case utf8.RuneCountInString(in.Title) > TaskTitleMax:
		fields["title"] = fmt.Sprintf("Title must be at most %d characters (it has %d).", TaskTitleMax, utf8.RuneCountInString(in.Title))
	}
	switch {
	case !utf8.ValidString(in.Description) || strings.ContainsRune(in.Description, 0):
		fields["description"] = "Description contains characters that can't be stored."
	case utf8.RuneCountInString(in.Description) > TaskDescriptionMax:
		fields["description"] = fmt.Sprintf("Description must be at most %d characters (it has %d).", TaskDescriptionMax, utf8.RuneCountInString(in.Description))
	}
	switch {
	case in.DueAt.IsZero():
		fields["due_at"] = "Due date is required."
	case in.DueAt.Before(earliestDue) || in.DueAt.After(latestDue):
		fields["due_at"] = "Due date must be between the years 1900 and 9999."
	}
	if len(fields) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "The task has errors; fix them and submit again.", Fields: fields}
}

// CreateTask validates in and inserts a new open task.
func (s taskStore) CreateTask(ctx context.Context, in TaskInput) (*Task, error) {
	in.Normalize()
	if err := in.Validate(); err != nil {
		return nil, err
	}
	t := &Task{Title: in.Title, Description: in.Description, DueAt: in.DueAt}
	if err := s.db.WithContext(ctx).Create(t).Error; err != nil {
		return nil, fmt.Errorf("models: create task: %w", err)
	}
	return t, nil
}

// GetTask returns the task with the given id, or an ENOTFOUND error.
func (s taskStore) GetTask(ctx context.Context, id int64) (*Task, error) {
	return getTask(s.rdb.WithContext(ctx), id)
}

func getTask(db *gorm.DB, id int64) (*Task, error) {
	var t Task
	err := db.Take(&t, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENOTFOUND, "Task %d does not exist (it may have been deleted).", id)
	}
	if err != nil {
		return nil, fmt.Errorf("models: get task %d: %w", id, err)
	}
	return &t, nil
}

// UpdateTask validates in and replaces the task's title, description and due date. Completion is
// left as it is: reopen a task to make it open again.
func (s taskStore) UpdateTask(ctx context.Context, id int64, in TaskInput) (*Task, error) {
	in.Normalize()
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return s.changeTask(ctx, id, func(t *Task) bool {
		t.Title, t.Description, t.DueAt = in.Title, in.Description, in.DueAt
		return true
	})
}

// CompleteTask marks the task completed at `at` by `by` (CompletedByUser or CompletedBySweeper).
// Completing a completed task changes nothing, so a double-submitted form is harmless.
func (s taskStore) CompleteTask(ctx context.Context, id int64, by string, at time.Time) (*Task, error) {
	if by != CompletedByUser && by != CompletedBySweeper {
		return nil, Errorf(EINVALID, "unknown completer %q", by)
	}
	at = at.UTC().Truncate(time.Microsecond)
	return s.changeTask(ctx, id, func(t *Task) bool {
		if t.Completed {
			return false
		}
		t.Completed, t.CompletedAt, t.CompletedBy = true, &at, by
		return true
	})
}

// ReopenTask makes a completed task open again, clearing when and by whom it was completed.
func (s taskStore) ReopenTask(ctx context.Context, id int64) (*Task, error) {
	return s.changeTask(ctx, id, func(t *Task) bool {
		if !t.Completed {
			return false
		}
		t.Completed, t.CompletedAt, t.CompletedBy = false, nil, ""
		return true
	})
}

// changeTask loads the task, lets change modify it, and saves it when change reports a change,
// all in one transaction.
func (s *conn) changeTask(ctx context.Context, id int64, change func(*Task) bool) (*Task, error) {
	var out *Task
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t, err := getTask(tx, id)
		if err != nil {
			return err
		}
		if change(t) {
			if err := tx.Save(t).Error; err != nil {
				return fmt.Errorf("models: update task %d: %w", id, err)
			}
		}
		out = t
		return nil
	})
	return out, err
}

// DeleteTask deletes the task for good.
func (s taskStore) DeleteTask(ctx context.Context, id int64) error {
	res := s.db.WithContext(ctx).Delete(&Task{}, id)
	if res.Error != nil {
		return fmt.Errorf("models: delete task %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return Errorf(ENOTFOUND, "Task %d does not exist (it may have been deleted).", id)
	}
	return nil
}

// CompleteOverdueTasks completes every open task due at or before now, in one set-based
// UPDATE, recording now as when and the sweeper as by what. It returns how many it completed.
func (s taskStore) CompleteOverdueTasks(ctx context.Context, now time.Time) (int64, error) {
	now = now.UTC().Truncate(time.Microsecond)
	res := s.db.WithContext(ctx).Model(&Task{}).Where("completed = ? AND due_at <= ?", false, now).
		Updates(map[string]any{"completed": true, "completed_at": now, "completed_by": CompletedBySweeper, "updated_at": now})
	if res.Error != nil {
		return 0, fmt.Errorf("models: complete overdue tasks: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// TaskFilter selects a page of tasks.
type TaskFilter struct {
	Status TaskStatus
	Now    time.Time // the instant that separates pending from overdue
	Limit  int       // at most this many; 0 means 50
	Offset int
}

// ListTasks returns the tasks matching f: open tasks by due date (soonest first), completed
// tasks by completion (latest first), and all tasks by due date.
func (s taskStore) ListTasks(ctx context.Context, f TaskFilter) ([]Task, error) {
	q := s.taskScope(s.rdb.WithContext(ctx), f.Status, f.Now)
	if f.Status == TaskCompleted {
		q = q.Order("completed_at DESC").Order("id DESC")
	} else {
		q = q.Order("due_at ASC").Order("id ASC")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	var tasks []Task
	if err := q.Limit(limit).Offset(max(f.Offset, 0)).Find(&tasks).Error; err != nil {
		return nil, fmt.Errorf("models: list tasks: %w", err)
	}
	return tasks, nil
}

func (s *conn) taskScope(db *gorm.DB, status TaskStatus, now time.Time) *gorm.DB {
	q := db.Model(&Task{})
	switch status {
	case TaskPending:
		q = q.Where("completed = ? AND due_at > ?", false, now.UTC())
	case TaskOverdue:
		q = q.Where("completed = ? AND due_at <= ?", false, now.UTC())
	case TaskCompleted:
		q = q.Where("completed = ?", true)
	}
	return q
}

// TaskCounts is how many tasks each filter of the task list shows.
type TaskCounts struct {
	All, Pending, Overdue, Completed int64
}

// Of returns the count for one status.
func (c TaskCounts) Of(status TaskStatus) int64 {
	switch status {
	case TaskPending:
		return c.Pending
	case TaskOverdue:
		return c.Overdue
	case TaskCompleted:
		return c.Completed
	default:
		return c.All
	}
}

// CountTasks counts the tasks in every filter. Each count is a range of the (completed, due_at)
// index, so no count reads the table itself.
func (s taskStore) CountTasks(ctx context.Context, now time.Time) (TaskCounts, error) {
	var c TaskCounts
	db := s.rdb.WithContext(ctx)
	for _, q := range []struct {
		into   *int64
		status TaskStatus
	}{{&c.All, TaskAll}, {&c.Completed, TaskCompleted}, {&c.Overdue, TaskOverdue}} {
		if err := s.taskScope(db, q.status, now).Count(q.into).Error; err != nil {
			return TaskCounts{}, fmt.Errorf("models: count %s tasks: %w", q.status, err)
		}
	}
	c.Pending = c.All - c.Completed - c.Overdue
	return c, nil
}

// SeedDemoTasks creates n open tasks due every `every` from now on (the first due after one
// interval), so the overdue sweep has something to complete while someone watches.
func (s taskStore) SeedDemoTasks(ctx context.Context, n int, every time.Duration, now time.Time) ([]Task, error) {
	tasks := make([]Task, 0, n)
	for i := 1; i <= n; i++ {
		due := now.Add(time.Duration(i) * every)
		tasks = append(tasks, Task{
			Title:       fmt.Sprintf("Demo task %d", i),
			Description: fmt.Sprintf("Created by kiln --demo; due %d minutes after it started.", int((time.Duration(i) * every).Minutes())),
			DueAt:       due.UTC().Truncate(time.Second),
		})
	}
	if err := s.db.WithContext(ctx).Create(&tasks).Error; err != nil {
		return nil, fmt.Errorf("models: seed demo tasks: %w", err)
	}
	return tasks, nil
}
