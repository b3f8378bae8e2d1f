// Package authz is Kiln's one permission table: the roles, the actions a request can take, and
// the least role each action needs. Pages, the API (and so the CLI, which calls it) and the
// buttons the views show all ask it, so that a role's boundary is drawn in one place.
//
// It is a leaf package of its own rather than part of models because the views decide which
// buttons to show from it and must not import models; models imports it to accept only its
// roles.
package authz

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Role is what a user or an API token may do, by rank: each role may do what the one below it
// may, and more.
type Role string

// The roles, lowest first.
const (
	// Viewer sees everything and changes nothing.
	Viewer Role = "viewer"
	// Operator keeps the jobs moving: retries, cancels, deletes and runs jobs now, acts on many
	// at once, pauses and resumes queues and recurring jobs, acknowledges and silences alerts.
	// It may not run code of its choosing on the server (exec, http.request), nor change what
	// runs on a schedule, secrets, tokens, channels, rules or limits.
	Operator Role = "operator"
	// Admin may see and do everything.
	Admin Role = "admin"
)

// Roles are the roles, lowest first.
var Roles = []Role{Viewer, Operator, Admin}

// rank orders the roles; a role that is not one of Roles ranks below them all.
func (r Role) rank() int { return slices.Index(Roles, r) }

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return r.rank() >= 0 }

// Outranks reports whether r is a stronger role than o (any role outranks "" or an unknown one).
func (r Role) Outranks(o Role) bool { return r.rank() > o.rank() }

// Lesser returns the weaker of r and o: what a token may do when it is r and its owner is o.
// An unknown role (or "") is weaker than every role, so that it wins and may do nothing.
func Lesser(r, o Role) Role {
	if r.rank() <= o.rank() {
		return r
	}
	return o
}

// ParseRole reads a role's name, with an error that lists the roles when it is none of them.
func ParseRole(name string) (Role, error) {
	r := Role(name)
	if !r.Valid() {
		return "", fmt.Errorf("the role is %s, not %q", RoleList(), name)
	}
	return r, nil
}

// RoleList names the roles for a message or a flag's help: "viewer, operator or admin".
func RoleList() string {
	names := make([]string, len(Roles))
	for i, r := range Roles {
		names[i] = string(r)
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// May reports whether r may take action a. An unknown role may do nothing; an unknown action is
// refused to every role, so that a name missing from the table fails closed.
func (r Role) May(a Action) bool {
	if a == Public || a == Self {
		return true
	}
	least, ok := table[a]
	return ok && r.Valid() && r.rank() >= least.rank()
}

// Action is something a request does, by the name the table, the routes and the README give it.
type Action string

// What a route needs when it is no action on Kiln's data.
const (
	// Public needs nobody: the login page, health checks, assets, the API's reference.
	Public Action = "public"
	// Self is what anyone does to their own session, logged in or not: logging out.
	Self Action = "self"
	// Read is looking: every page and GET of the API, for any role.
	Read Action = "read"
)

// The actions that change something.
const (
	// JobsEnqueue enqueues a job of an ordinary kind: the API, the New job form, Duplicate.
	JobsEnqueue Action = "jobs.enqueue"
	// JobsEnqueueCode enqueues a job that runs what its arguments say on the server or from it
	// (an exec or an http.request job: CodeKinds), or a job of Kiln's own that acts with the
	// server's authority (ServerKinds).
	JobsEnqueueCode Action = "jobs.enqueue_code"
	// JobsRetry requeues a finished job, from its first attempt.
	JobsRetry Action = "jobs.retry"
	// JobsCancel cancels a job, stopping it when it runs.
	JobsCancel Action = "jobs.cancel"
	// JobsDelete deletes a job.
	JobsDelete Action = "jobs.delete"
	// JobsRunNow runs a scheduled or waiting job now.
	JobsRunNow Action = "jobs.run_now"
	// JobsBulk requeues, cancels or deletes many jobs at once from the jobs list.
	JobsBulk Action = "jobs.bulk"
	// QueuesPause pauses and resumes a queue.
	QueuesPause Action = "queues.pause"
	// RecurringPause pauses and resumes a recurring job.
	RecurringPause Action = "recurring.pause"
	// RecurringTrigger enqueues a recurring job's job now, outside its schedule.
	RecurringTrigger Action = "recurring.trigger"
	// RecurringEdit creates a recurring job, changes its schedule or job, and deletes it.
	RecurringEdit Action = "recurring.edit"
	// AlertsAck acknowledges, silences and unsilences alerts.
	AlertsAck Action = "alerts.ack"
	// AlertRulesEdit creates, changes, enables, disables and deletes alert rules.
	AlertRulesEdit Action = "alert_rules.edit"
	// ChannelsEdit creates, changes, tests and deletes alert channels, and sees their URLs
	// unredacted.
	ChannelsEdit Action = "channels.edit"
	// SecretsManage lists, saves and deletes secrets.
	SecretsManage Action = "secrets.manage"
	// TokensOwn lists, creates and revokes one's own API tokens, whose role is at most one's own.
	TokensOwn Action = "tokens.own"
	// TokensManage lists and revokes everyone's API tokens, and those made before tokens had
	// owners.
	TokensManage Action = "tokens.manage"
	// LimitsManage sets a kind's cap on running jobs and its rate.
	LimitsManage Action = "limits.manage"
	// TasksEdit creates, changes, completes, reopens and deletes tasks.
	TasksEdit Action = "tasks.edit"
	// AuditRead reads the audit trail: who changed what, from where.
	AuditRead Action = "audit.read"
)

// table is the one permission table: each action and the least role that may take it.
var table = map[Action]Role{
	Read: Viewer,

	JobsEnqueue:      Operator,
	JobsEnqueueCode:  Admin,
	JobsRetry:        Operator,
	JobsCancel:       Operator,
	JobsDelete:       Operator,
	JobsRunNow:       Operator,
	JobsBulk:         Operator,
	QueuesPause:      Operator,
	RecurringPause:   Operator,
	RecurringTrigger: Operator,
	RecurringEdit:    Admin,
	AlertsAck:        Operator,
	AlertRulesEdit:   Admin,
	ChannelsEdit:     Admin,
	SecretsManage:    Admin,
	TokensOwn:        Viewer,
	TokensManage:     Admin,
	LimitsManage:     Admin,
	TasksEdit:        Operator,
	AuditRead:        Admin,
}

// Least returns the least role that may take a, and false for Public, Self and an action the
// table doesn't hold.
func Least(a Action) (Role, bool) {
	r, ok := table[a]
	return r, ok
}

// Actions lists the table's actions, by name, for the README's table and the tests.
func Actions() []Action {
	out := make([]Action, 0, len(table))
	for a := range table {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// Known reports whether a route may declare a: an action of the table, Public or Self.
func Known(a Action) bool {
	_, ok := table[a]
	return ok || a == Public || a == Self
}

// CodeKinds are the built-in kinds whose arguments say what runs: a command on the server
// (exec) or a request from it (http.request). Enqueueing one is JobsEnqueueCode.
var CodeKinds = []string{"exec", "http.request"}

// ServerKinds are Kiln's own kinds that act with the server's authority whatever their
// arguments: a message through the channels an admin set up (alerts.deliver), retention
// deleting history (jobs.cleanup). Enqueueing one by hand is JobsEnqueueCode.
var ServerKinds = []string{"alerts.deliver", "jobs.cleanup"}

// WorkflowKind is the built-in kind whose job starts a workflow: its arguments are the run's
// steps, as POST /v1/workflows takes them, so what it runs is what its steps run.
const WorkflowKind = "workflow.start"

// EnqueueAction is the action of enqueueing a job of kind with args (its JSON arguments; nil
// when they are not known yet, as when a form lists the kinds to choose from). A WorkflowKind
// job needs the strongest action any of its steps needs, steps that start workflows included:
// a schedule of a workflow may run only what its author could enqueue by hand.
func EnqueueAction(kind string, args []byte) Action {
	switch {
	case slices.Contains(CodeKinds, kind) || slices.Contains(ServerKinds, kind):
		return JobsEnqueueCode
	case kind == WorkflowKind && len(args) > 0:
		return workflowAction(args)
	}
	return JobsEnqueue
}

// workflowAction is the strongest EnqueueAction of the steps of a WorkflowKind job's
// arguments. Arguments that don't decode need JobsEnqueueCode, so that a spec read one way here
// and another by the kind fails closed; the kind refuses them anyway.
func workflowAction(args []byte) Action {
	var spec struct {
		Steps []struct {
			Kind string          `json:"kind"`
			Args json.RawMessage `json:"args"`
		} `json:"steps"`
	}
	if string(args) == "null" {
		return JobsEnqueue
	}
	if err := json.Unmarshal(args, &spec); err != nil {
		return JobsEnqueueCode
	}
	need := JobsEnqueue
	for _, st := range spec.Steps {
		if a := EnqueueAction(st.Kind, st.Args); table[a].rank() > table[need].rank() {
			need = a
		}
	}
	return need
}
