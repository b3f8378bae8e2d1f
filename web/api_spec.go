package web

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/models"
)

// What the API's document says beyond its types: the groups of operations, whom to contact,
// and which refusals each operation can give. Outside linters (Redocly, Spectral) read it as a
// client generator does; TestOpenAPIDocumentLintsClean keeps it clean for them.

// The tags group the operations, in the document and on /api/docs.
const (
	tagJobs      = "Jobs"
	tagRecurring = "Recurring"
	tagQueues    = "Queues"
	tagServers   = "Servers"
	tagStats     = "Stats"
	tagTasks     = "Tasks"
	tagSecrets   = "Secrets"
	tagAlerts    = "Alerts"
)

// apiTags describes each tag, for the document's top level.
var apiTags = []*huma.Tag{
	{Name: tagWorkflows, Description: "Runs of steps, each a job that waits for the steps it depends on and runs on their success, their failure or whatever they did."},
	{Name: tagJobs, Description: "Enqueue jobs, follow them (state, history, log) and steer them: cancel, requeue, run now, delete. The kinds this server works, with their counts and limits."},
	{Name: tagRecurring, Description: "Jobs enqueued on a cron schedule in a time zone: create, reschedule, pause, resume, trigger now, delete."},
	{Name: tagQueues, Description: "The queues jobs wait in, with their counts; a paused queue's jobs are taken by no server."},
	{Name: tagServers, Description: "The Kiln processes that work jobs, with their queues, workers and heartbeats."},
	{Name: tagStats, Description: "The dashboard overview's counts."},
	{Name: tagTasks, Description: "Tasks with due dates, as on the Tasks page: create, change, complete, reopen, delete."},
	{Name: tagSecrets, Description: "Values that http.request and exec jobs refer to as ${secret:NAME}: saved and deleted here, never read back."},
	{Name: tagAudit, Description: "The audit trail: every change made by a person or a token, and every login, chained by hashes so that a change or removal shows (kiln audit verify). Admin tokens only."},
	{Name: tagAlerts, Description: "Alerts: rules that watch failures, schedules, stuck work, backlogs and queues nobody works; the alerts they open, acknowledged or silenced; and the channels their messages go to (webhooks, Slack, Mattermost, Discord, Teams, ntfy, email), with a test that sends a sample message."},
}

// apiContact is the project's home, from its module path (go.mod). The document names no
// licence: the repository has no LICENSE to name (TestOpenAPIDocumentLintsClean says when one
// must be named).
var apiContact = &huma.Contact{Name: "Kiln", URL: "https://github.com/kilnhq/kiln"}

// register is huma.Register with the refusals the operation can give declared, the ones that
// come from rules over every request worked out here rather than listed again on each
// operation: a request without a usable token (401, identifyAPI and authorize); a change with a
// token whose role may not take the operation's action, or made through local access from a
// page of another origin (403, authorize and protectCSRF), or whose body is not UTF-8 (400, jsonBodyIsUTF8); a body that doesn't parse
// (400), is too large (413) or isn't JSON (415). op.Errors holds what the handler itself gives
// (codeStatuses of the codes its calls return, or its own refusal). huma adds 422 to an
// operation with parameters or a body (every EINVALID a handler returns is of such an
// operation) and 500; the default answer covers the other failures of the server.
//
// a is what the operation needs from authz's table; the operation's description says which role
// that is, and declareAPI makes authorize enforce it.
func register[I, O any](hapi huma.API, a authz.Action, op huma.Operation, handler func(context.Context, *I) (*O, error)) {
	registerNeed(hapi, need{action: a}, op, handler)
}

// registerByParam is register for an operation whose path parameter param names what it does
// (POST /v1/jobs/{id}/{action}), with the action each of its values needs.
func registerByParam[I, O any](hapi huma.API, param string, byParam map[string]authz.Action, op huma.Operation, handler func(context.Context, *I) (*O, error)) {
	registerNeed(hapi, need{param: param, byParam: byParam}, op, handler)
}

// needKey holds an operation's need in its Metadata, for declareAPI.
const needKey = "kiln.need"

func registerNeed[I, O any](hapi huma.API, n need, op huma.Operation, handler func(context.Context, *I) (*O, error)) {
	if op.Metadata == nil {
		op.Metadata = map[string]any{}
	}
	op.Metadata[needKey] = n
	op.Description = strings.TrimSpace(op.Description + " " + n.describe())
	op.Errors = append(op.Errors, http.StatusUnauthorized)
	if op.Method != http.MethodGet {
		op.Errors = append(op.Errors, http.StatusBadRequest)
	}
	if op.Method != http.MethodGet || n.action != authz.Read {
		op.Errors = append(op.Errors, http.StatusForbidden)
	}
	if _, body := reflect.TypeFor[I]().FieldByName("Body"); body {
		op.Errors = append(op.Errors, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
	}
	slices.Sort(op.Errors)
	op.Errors = slices.Compact(op.Errors)
	if op.Responses == nil {
		op.Responses = map[string]*huma.Response{}
	}
	problem := hapi.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[huma.ErrorModel](), true, "Error")
	op.Responses["default"] = &huma.Response{
		Description: "Another failure of the server: 503 while the database doesn't answer (with Retry-After), 507 when its disk is full.",
		Content:     map[string]*huma.MediaType{"application/problem+json": {Schema: problem}},
	}
	huma.Register(hapi, op, handler)
}

// describe says, for an operation's description, which role its need asks of the token.
func (n need) describe() string {
	if n.param == "" {
		if n.action == authz.Read {
			return "Any token may call it."
		}
		least, _ := authz.Least(n.action)
		return fmt.Sprintf("Needs a token of the %s role (action %s).", roleAndAbove(least), n.action)
	}
	var parts []string
	for _, v := range slices.Sorted(maps.Keys(n.byParam)) {
		a := n.byParam[v]
		least, _ := authz.Least(a)
		parts = append(parts, fmt.Sprintf("%s needs the %s role (%s)", v, roleAndAbove(least), a))
	}
	return strings.Join(parts, "; ") + "."
}

// roleAndAbove names a role and those above it: "operator or admin".
func roleAndAbove(r authz.Role) string {
	i := slices.Index(authz.Roles, r)
	names := make([]string, 0, len(authz.Roles))
	for _, x := range authz.Roles[i:] {
		names = append(names, string(x))
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// declareAPI declares the route of every operation of the API's document with the need
// register gave it; an operation registered some other way gets none, and New refuses it.
func (s *Server) declareAPI() {
	for _, item := range s.api.OpenAPI().Paths {
		for _, op := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete, item.Patch, item.Head, item.Options} {
			if op == nil {
				continue
			}
			if n, ok := op.Metadata[needKey].(need); ok {
				method, path := apiRouteKey(*op)
				s.declare(method, path, n)
			}
		}
	}
}

// codeStatuses are the statuses of application error codes, as models.HTTPStatus maps them:
// for an operation's Errors, the codes its handler's calls may return.
func codeStatuses(codes ...string) []int {
	out := make([]int, 0, len(codes))
	for _, c := range codes {
		out = append(out, models.HTTPStatus(c))
	}
	return out
}
