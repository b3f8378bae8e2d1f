package web

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/jobs"
	"github.com/kilnhq/kiln/models"
	"github.com/kilnhq/kiln/views/pages"
)

// jobAction is one thing a person may do to a job. jobActions is the only list of them: the job
// page's buttons, the jobs list's bulk actions, POST /dashboard/jobs/{id}/{name}, and the API's
// POST /api/v1/jobs/{id}/{name} and DELETE /api/v1/jobs/{id} all go through it.
type jobAction struct {
	// name is the action's one name: in URLs, form values, the API and the CLI.
	name string
	// label is its button; past ends its flash ("Job #4 requeued.").
	label, past string
	// style is how its button looks (pages.JobAction.Style).
	style string
	// allowed says which states the action is offered from. The store checks the same rule
	// (a models.JobState method) under the job's lock and refuses with a conflict otherwise.
	allowed func(models.JobState) bool
	// bulk offers it on the jobs list, for many jobs at once.
	bulk bool
	// action is what it needs from authz's table.
	action authz.Action
	// do calls the engine; ctx carries who acts, for the job's history.
	do func(e *jobs.Engine, ctx context.Context, id int64) error
}

// jobActions are the job actions, in the order of their buttons.
var jobActions = []jobAction{
	{name: "run", label: "Run now", past: "triggered to run now", style: "primary", allowed: models.JobState.Runnable, action: authz.JobsRunNow, do: (*jobs.Engine).TriggerNow},
	{name: "requeue", label: "Requeue", past: "requeued", style: "primary", allowed: models.JobState.Requeueable, bulk: true, action: authz.JobsRetry, do: (*jobs.Engine).Requeue},
	{name: "cancel", label: "Cancel", past: "cancelled", allowed: models.JobState.Cancellable, bulk: true, action: authz.JobsCancel, do: (*jobs.Engine).Cancel},
	{name: "delete", label: "Delete", past: "deleted", style: "danger", allowed: models.JobState.Deletable, bulk: true, action: authz.JobsDelete, do: (*jobs.Engine).Delete},
}

// jobActionAliases are old names a page route still accepts: the job page's "Run now" posted to
// /dashboard/jobs/{id}/trigger before the action had one name, and a test still does.
var jobActionAliases = map[string]string{"trigger": "run"}

// jobActionNamed finds an action by its name.
func jobActionNamed(name string) (jobAction, bool) {
	for _, a := range jobActions {
		if a.name == name {
			return a, true
		}
	}
	return jobAction{}, false
}

// jobActionNeeds maps each action's name (and old name) to what it needs, for the routes whose
// path names the action; only those of names when given (the API's path takes fewer).
func jobActionNeeds(names ...string) map[string]authz.Action {
	out := map[string]authz.Action{}
	for _, a := range jobActions {
		out[a.name] = a.action
	}
	for old, name := range jobActionAliases {
		out[old] = out[name]
	}
	if len(names) > 0 {
		maps.DeleteFunc(out, func(name string, _ authz.Action) bool { return !slices.Contains(names, name) })
	}
	return out
}

// doJobAction does a to job id, for the user ctx carries.
func (s *Server) doJobAction(ctx context.Context, a jobAction, id int64) error {
	return a.do(s.engine, ctx, id)
}

// jobActionButtons are the buttons of the actions a job in state st allows and role may take.
func jobActionButtons(st models.JobState, role authz.Role) []pages.JobAction {
	var out []pages.JobAction
	for _, a := range jobActions {
		if a.allowed(st) && role.May(a.action) {
			out = append(out, pages.JobAction{Name: a.name, Label: a.label, Style: a.style})
		}
	}
	return out
}

// bulkJobActions are the buttons of the actions the jobs list offers for many jobs.
func bulkJobActions() []pages.JobAction {
	var out []pages.JobAction
	for _, a := range jobActions {
		if a.bulk {
			out = append(out, pages.JobAction{Name: a.name, Label: a.label, Style: a.style})
		}
	}
	return out
}

// bulkJobActionNames lists the bulk actions for a message: "requeue, cancel or delete".
func bulkJobActionNames() string {
	var names []string
	for _, a := range bulkJobActions() {
		names = append(names, a.Name)
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
