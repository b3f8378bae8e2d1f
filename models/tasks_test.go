package models_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/models/modeltest"
)

var ctx = context.Background()

func validInput() models.TaskInput {
	return models.TaskInput{Title: "Water the plants", Description: "Both balconies.", DueAt: time.Now().Add(time.Hour)}
}

func TestTaskInputValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*models.TaskInput)
		field string // "" means valid
		msg   string
	}{
		{"valid", func(*models.TaskInput) {}, "", ""},
		{"empty title", func(in *models.TaskInput) { in.Title = "" }, "title", "Title is required."},
		{"blank title", func(in *models.TaskInput) { in.Title = " \t\n " }, "title", "Title is required."},
		{"title of 200", func(in *models.TaskInput) { in.Title = strings.Repeat("é", 200) }, "", ""},
		{"title of 201", func(in *models.TaskInput) { in.Title = strings.Repeat("é", 201) }, "title", "at most 200 characters (it has 201)"},
		{"title with NUL", func(in *models.TaskInput) { in.Title = "a\x00b" }, "title", "control characters"},
		{"title invalid UTF-8", func(in *models.TaskInput) { in.Title = "a\xffb" }, "title", "control characters"},
		{"description of 5000", func(in *models.TaskInput) { in.Description = strings.Repeat("x", 5000) }, "", ""},
		{"description of 5001", func(in *models.TaskInput) { in.Description = strings.Repeat("x", 5001) }, "description", "at most 5000 characters"},
		{"description with NUL", func(in *models.TaskInput) { in.Description = "a\x00" }, "description", "can't be stored"},
		{"no due date", func(in *models.TaskInput) { in.DueAt = time.Time{} }, "due_at", "Due date is required."},
		{"due before 1900", func(in *models.TaskInput) { in.DueAt = time.Date(1899, 12, 31, 0, 0, 0, 0, time.UTC) }, "due_at", "between the years 1900 and 9999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validInput()
			tt.edit(&in)
			in.Normalize()
			err := in.Validate()
			if tt.field == "" {
				require.NoError(t, err)
				return
			}
			require.Equal(t, models.EINVALID, models.ErrorCode(err))
			require.Contains(t, models.FieldErrors(err)[tt.field], tt.msg)
			require.Len(t, models.FieldErrors(err), 1, "only %s is wrong: %v", tt.field, models.FieldErrors(err))
		})
	}
}

func TestParseTaskStatus(t *testing.T) {
	for in, want := range map[string]models.TaskStatus{"": models.TaskAll, "all": models.TaskAll, "pending": models.TaskPending, "overdue": models.TaskOverdue, "completed": models.TaskCompleted} {
		got, err := models.ParseTaskStatus(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	_, err := models.ParseTaskStatus("done")
	require.Equal(t, models.EINVALID, models.ErrorCode(err))
}

func TestTaskLifecycle(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		in := validInput()
		in.Title = "  Water the plants  "
		created, err := s.Tasks.CreateTask(ctx, in)
		require.NoError(t, err)
		require.NotZero(t, created.ID)
		require.Equal(t, "Water the plants", created.Title, "title is trimmed")
		require.False(t, created.Completed)

		got, err := s.Tasks.GetTask(ctx, created.ID)
		require.NoError(t, err)
		require.Equal(t, created.Title, got.Title)
		require.Equal(t, "Both balconies.", got.Description)
		require.True(t, got.DueAt.Equal(created.DueAt))
		require.Nil(t, got.CompletedAt)

		// Update.
		newDue := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
		updated, err := s.Tasks.UpdateTask(ctx, created.ID, models.TaskInput{Title: "Water the garden", DueAt: newDue})
		require.NoError(t, err)
		require.Equal(t, "Water the garden", updated.Title)
		got, err = s.Tasks.GetTask(ctx, created.ID)
		require.NoError(t, err)
		require.Equal(t, "Water the garden", got.Title)
		require.Equal(t, "", got.Description)
		require.True(t, got.DueAt.Equal(newDue), "due %v, want %v", got.DueAt, newDue)
		require.True(t, got.CreatedAt.Equal(created.CreatedAt), "update keeps created_at")

		// Complete, twice: the second changes nothing.
		at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		done, err := s.Tasks.CompleteTask(ctx, created.ID, models.CompletedByUser, at)
		require.NoError(t, err)
		require.True(t, done.Completed)
		_, err = s.Tasks.CompleteTask(ctx, created.ID, models.CompletedBySweeper, at.Add(time.Hour))
		require.NoError(t, err)
		got, err = s.Tasks.GetTask(ctx, created.ID)
		require.NoError(t, err)
		require.True(t, got.Completed)
		require.Equal(t, models.CompletedByUser, got.CompletedBy)
		require.NotNil(t, got.CompletedAt)
		require.True(t, got.CompletedAt.Equal(at), "completed at %v, want %v", got.CompletedAt, at)
		require.Equal(t, models.TaskCompleted, got.Status(time.Now()))

		// Reopen clears the action date and who.
		_, err = s.Tasks.ReopenTask(ctx, created.ID)
		require.NoError(t, err)
		got, err = s.Tasks.GetTask(ctx, created.ID)
		require.NoError(t, err)
		require.False(t, got.Completed)
		require.Nil(t, got.CompletedAt)
		require.Equal(t, "", got.CompletedBy)

		// Delete, then it is gone.
		require.NoError(t, s.Tasks.DeleteTask(ctx, created.ID))
		_, err = s.Tasks.GetTask(ctx, created.ID)
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(s.Tasks.DeleteTask(ctx, created.ID)))
	})
}

func TestTaskInvalidWritesNothing(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		_, err := s.Tasks.CreateTask(ctx, models.TaskInput{Title: "", DueAt: time.Now()})
		require.Equal(t, models.EINVALID, models.ErrorCode(err))
		task, err := s.Tasks.CreateTask(ctx, validInput())
		require.NoError(t, err)
		_, err = s.Tasks.UpdateTask(ctx, task.ID, models.TaskInput{Title: strings.Repeat("x", 201), DueAt: time.Now()})
		require.Equal(t, models.EINVALID, models.ErrorCode(err))
		got, err := s.Tasks.GetTask(ctx, task.ID)
		require.NoError(t, err)
		require.Equal(t, "Water the plants", got.Title, "a rejected update leaves the row as it was")
		counts, err := s.Tasks.CountTasks(ctx, time.Now())
		require.NoError(t, err)
		require.EqualValues(t, 1, counts.All)
		_, err = s.Tasks.UpdateTask(ctx, 9999, validInput())
		require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))
		_, err = s.Tasks.CompleteTask(ctx, task.ID, "robot", time.Now())
		require.Equal(t, models.EINVALID, models.ErrorCode(err))
	})
}

func TestTaskTimeZoneRoundTrip(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		for _, zone := range []string{"America/New_York", "Asia/Kolkata", "Pacific/Chatham", "UTC"} {
			loc, err := time.LoadLocation(zone)
			require.NoError(t, err)
			// 09:30 local on a summer day, and one in winter (DST differs in both hemispheres).
			for _, local := range []time.Time{
				time.Date(2027, 7, 1, 9, 30, 0, 0, loc),
				time.Date(2027, 1, 15, 9, 30, 0, 0, loc),
			} {
				task, err := s.Tasks.CreateTask(ctx, models.TaskInput{Title: zone, DueAt: local})
				require.NoError(t, err)
				got, err := s.Tasks.GetTask(ctx, task.ID)
				require.NoError(t, err)
				require.True(t, got.DueAt.Equal(local), "%s: stored %v, want %v", zone, got.DueAt, local)
				require.Equal(t, local.UTC().Format(time.RFC3339), got.DueAt.UTC().Format(time.RFC3339))
				require.Equal(t, "09:30", got.DueAt.In(loc).Format("15:04"), "%s: local wall time survives", zone)
			}
		}
	})
}

func TestListAndCountTasks(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		now := time.Now().UTC()
		mk := func(title string, due time.Time) *models.Task {
			task, err := s.Tasks.CreateTask(ctx, models.TaskInput{Title: title, DueAt: due})
			require.NoError(t, err)
			return task
		}
		mk("later", now.Add(2*time.Hour))
		mk("soon", now.Add(time.Hour))
		mk("late", now.Add(-time.Hour))
		mk("very late", now.Add(-48*time.Hour))
		done := mk("done", now.Add(-time.Minute))
		_, err := s.Tasks.CompleteTask(ctx, done.ID, models.CompletedBySweeper, now)
		require.NoError(t, err)

		counts, err := s.Tasks.CountTasks(ctx, now)
		require.NoError(t, err)
		require.Equal(t, models.TaskCounts{All: 5, Pending: 2, Overdue: 2, Completed: 1}, counts)

		titles := func(status models.TaskStatus, limit, offset int) []string {
			tasks, err := s.Tasks.ListTasks(ctx, models.TaskFilter{Status: status, Now: now, Limit: limit, Offset: offset})
			require.NoError(t, err)
			var out []string
			for _, task := range tasks {
				out = append(out, task.Title)
			}
			return out
		}
		require.Equal(t, []string{"soon", "later"}, titles(models.TaskPending, 0, 0))
		require.Equal(t, []string{"very late", "late"}, titles(models.TaskOverdue, 0, 0))
		require.Equal(t, []string{"done"}, titles(models.TaskCompleted, 0, 0))
		require.Equal(t, []string{"very late", "late", "done", "soon", "later"}, titles(models.TaskAll, 0, 0))
		require.Equal(t, []string{"done", "soon"}, titles(models.TaskAll, 2, 2))
	})
}

func TestSeedDemoTasks(t *testing.T) {
	modeltest.ForEachDialect(t, func(t *testing.T, s *models.Store) {
		now := time.Now().UTC()
		tasks, err := s.Tasks.SeedDemoTasks(ctx, 10, 5*time.Minute, now)
		require.NoError(t, err)
		require.Len(t, tasks, 10)
		listed, err := s.Tasks.ListTasks(ctx, models.TaskFilter{Status: models.TaskPending, Now: now})
		require.NoError(t, err)
		require.Len(t, listed, 10)
		for i, task := range listed {
			want := now.Add(time.Duration(i+1) * 5 * time.Minute).Truncate(time.Second)
			require.True(t, task.DueAt.Equal(want), "task %d due %v, want %v", i, task.DueAt, want)
		}
	})
}

func TestOpenSQLiteUsesWAL(t *testing.T) {
	s := modeltest.Open(t, modeltest.SQLiteDSN(t))
	var mode string
	require.NoError(t, modeltest.DB(s).Raw("PRAGMA journal_mode").Scan(&mode).Error)
	require.Equal(t, "wal", mode)
	var fk int
	require.NoError(t, modeltest.DB(s).Raw("PRAGMA foreign_keys").Scan(&fk).Error)
	require.Equal(t, 1, fk)
}

func TestCompleteOverdueTasks(t *testing.T) {
	forEachJobStore(t, func(t *testing.T, s *models.Store) {
		now := time.Now().UTC()
		const total = 2000
		tasks := make([]models.Task, total)
		for i := range tasks {
			// Even tasks are overdue (one exactly due now), odd ones are due later.
			due := now.Add(time.Duration(-i) * time.Minute)
			if i%2 == 1 {
				due = now.Add(time.Duration(i) * time.Minute)
			}
			tasks[i] = models.Task{Title: fmt.Sprintf("t%d", i), DueAt: due.Truncate(time.Microsecond)}
		}
		require.NoError(t, modeltest.DB(s).CreateInBatches(&tasks, 500).Error)
		done, err := s.Tasks.CompleteTask(ctx, tasks[2].ID, models.CompletedByUser, now.Add(-time.Hour))
		require.NoError(t, err)

		n, err := s.Tasks.CompleteOverdueTasks(ctx, now)
		require.NoError(t, err)
		require.EqualValues(t, total/2-1, n, "every overdue open task but the one a user completed")
		counts, err := s.Tasks.CountTasks(ctx, now)
		require.NoError(t, err)
		require.Equal(t, models.TaskCounts{All: total, Pending: total / 2, Completed: total / 2}, counts)
		got, err := s.Tasks.GetTask(ctx, tasks[4].ID)
		require.NoError(t, err)
		require.Equal(t, models.CompletedBySweeper, got.CompletedBy)
		require.True(t, got.CompletedAt.Equal(now.Truncate(time.Microsecond)))
		got, err = s.Tasks.GetTask(ctx, done.ID)
		require.NoError(t, err)
		require.Equal(t, models.CompletedByUser, got.CompletedBy, "already completed tasks keep who completed them")
		n, err = s.Tasks.CompleteOverdueTasks(ctx, now)
		require.NoError(t, err)
		require.Zero(t, n)
	})
}
