package web

import (
	"net/http"

	"github.com/kilnhq/kiln/internal/authz"
	"github.com/kilnhq/kiln/static"
	"github.com/labstack/echo/v4"
)

// routes declares every route of pages and the API, each with what it needs from the
// permission table (authorize.go).
func (s *Server) routes() {
	const get, post = http.MethodGet, http.MethodPost
	s.route(get, static.Prefix+"*", authz.Public, serveStatic)
	s.route(get, "/healthz", authz.Public, s.handleHealthz)
	s.route(get, "/readyz", authz.Public, s.handleReadyz)
	s.route(get, "/robots.txt", authz.Public, handleRobots)

	s.route(get, "/login", authz.Public, s.handleLoginPage)
	s.route(post, "/login", authz.Public, s.handleLogin, s.loginRateLimit())
	s.route(post, "/logout", authz.Self, s.handleLogout)
	if s.sso != nil {
		s.route(get, "/auth/login", authz.Public, s.handleSSOStart)
		s.route(get, ssoCallback, authz.Public, s.handleSSOCallback)
	}

	s.route(get, "/", authz.Read, s.handleTaskList)
	s.route(get, "/tasks", authz.Read, func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/") })
	s.route(get, "/tasks/new", authz.TasksEdit, s.handleTaskNew)
	s.route(get, "/tasks/live", authz.Read, s.handleTaskListLive)
	s.route(post, "/tasks", authz.TasksEdit, s.handleTaskCreate)
	s.route(get, "/tasks/:id", authz.Read, s.handleTaskShow)
	s.route(get, "/tasks/:id/edit", authz.TasksEdit, s.handleTaskEdit)
	s.route(post, "/tasks/:id", authz.TasksEdit, s.handleTaskUpdate)
	s.route(post, "/tasks/:id/complete", authz.TasksEdit, s.handleTaskComplete)
	s.route(post, "/tasks/:id/reopen", authz.TasksEdit, s.handleTaskReopen)
	s.route(get, "/tasks/:id/delete", authz.TasksEdit, s.handleTaskDeleteConfirm)
	s.route(post, "/tasks/:id/delete", authz.TasksEdit, s.handleTaskDelete)
	s.route(post, "/work-items", authz.JobsEnqueue, s.handleWorkItemCreate)

	s.route(get, "/dashboard", authz.Read, s.handleOverview)
	s.route(get, "/dashboard/live", authz.Read, s.handleOverviewLive)
	s.route(get, "/dashboard/jobs", authz.Read, s.handleJobs)
	s.route(post, "/dashboard/jobs/bulk", authz.JobsBulk, s.handleJobsBulk)
	s.route(get, "/dashboard/jobs/new", authz.JobsEnqueue, s.handleJobNew)
	s.route(get, "/dashboard/jobs/new/fields", authz.Read, s.handleJobNewFields)
	s.route(get, "/dashboard/jobs/new/row", authz.Read, s.handleJobNewRow)
	s.route(get, "/dashboard/jobs/new/when", authz.Read, s.handleJobNewWhen)
	s.route(post, "/dashboard/jobs/new", authz.JobsEnqueue, s.handleJobCreate) // and JobsEnqueueCode for exec, http.request
	s.route(get, "/dashboard/jobs/:id", authz.Read, s.handleJob)
	s.route(get, "/dashboard/jobs/:id/live", authz.Read, s.handleJobLive)
	for name := range jobFiles { // args.json, log.txt...: a value whole, as a download
		s.route(get, "/dashboard/jobs/:id/"+name, authz.Read, s.handleJobFile(name))
	}
	s.routeByParam(post, "/dashboard/jobs/:id/:action", "action", jobActionNeeds(), s.handleJobAction)
	s.route(get, "/dashboard/workflows", authz.Read, s.handleWorkflows)
	s.route(get, "/dashboard/workflows/:id", authz.Read, s.handleWorkflow)
	s.route(get, "/dashboard/workflows/:id/live", authz.Read, s.handleWorkflowLive)
	s.routeByParam(post, "/dashboard/workflows/:id/:action", "action", map[string]authz.Action{
		"cancel": authz.JobsCancel, "retry": authz.JobsRetry,
	}, s.handleWorkflowAction)
	s.route(get, "/dashboard/secrets", authz.SecretsManage, s.handleSecrets)
	s.route(post, "/dashboard/secrets", authz.SecretsManage, s.handleSecretSave)
	s.route(post, "/dashboard/secrets/:name/delete", authz.SecretsManage, s.handleSecretDelete)
	// Everyone has their own tokens; the handlers show and revoke others' to tokens.manage only.
	s.route(get, "/dashboard/tokens", authz.TokensOwn, s.handleTokens)
	s.route(post, "/dashboard/tokens", authz.TokensOwn, s.handleTokenCreate)
	s.route(post, "/dashboard/tokens/:name/revoke", authz.TokensOwn, s.handleTokenRevoke)
	s.route(get, "/dashboard/alerts", authz.Read, s.handleAlerts)
	s.route(get, "/dashboard/alerts/live", authz.Read, s.handleAlertsLive)
	s.route(post, "/dashboard/alerts/:id/acknowledge", authz.AlertsAck, s.handleAlertAcknowledge)
	s.route(post, "/dashboard/alerts/:id/silence", authz.AlertsAck, s.handleAlertSilence)
	s.route(post, "/dashboard/alerts/:id/unsilence", authz.AlertsAck, s.handleAlertUnsilence)
	s.route(get, "/dashboard/alerts/rules/new", authz.AlertRulesEdit, s.handleRuleNew)
	s.route(post, "/dashboard/alerts/rules/new", authz.AlertRulesEdit, s.handleRuleCreate)
	s.route(get, "/dashboard/alerts/rules/:name/edit", authz.AlertRulesEdit, s.handleRuleEdit)
	s.route(post, "/dashboard/alerts/rules/:name/edit", authz.AlertRulesEdit, s.handleRuleSave)
	s.route(post, "/dashboard/alerts/rules/:name/delete", authz.AlertRulesEdit, s.handleRuleDelete)
	s.route(get, "/dashboard/alerts/channels", authz.Read, s.handleChannels)
	s.route(get, "/dashboard/alerts/channels/new", authz.ChannelsEdit, s.handleChannelNew)
	s.route(post, "/dashboard/alerts/channels/new", authz.ChannelsEdit, s.handleChannelCreate)
	s.route(get, "/dashboard/alerts/channels/:name", authz.Read, s.handleChannel)
	s.route(post, "/dashboard/alerts/channels/:name", authz.ChannelsEdit, s.handleChannelSave)
	s.route(post, "/dashboard/alerts/channels/:name/test", authz.ChannelsEdit, s.handleChannelTest)
	s.route(post, "/dashboard/alerts/channels/:name/delete", authz.ChannelsEdit, s.handleChannelDelete)
	s.route(get, "/dashboard/audit", authz.AuditRead, s.handleAudit)
	s.route(get, "/dashboard/recurring", authz.Read, s.handleRecurring)
	s.route(get, "/dashboard/recurring/preview", authz.Read, s.handleSchedulePreview)
	s.route(get, "/dashboard/recurring/new", authz.RecurringEdit, s.handleRecurringNew)
	s.route(post, "/dashboard/recurring/new", authz.RecurringEdit, s.handleRecurringCreate)
	s.route(get, "/dashboard/recurring/:id/edit", authz.RecurringEdit, s.handleRecurringEdit)
	s.route(get, "/dashboard/recurring/:id/args.json", authz.Read, s.handleRecurringArgs)
	s.route(post, "/dashboard/recurring/:id/edit", authz.RecurringEdit, s.handleRecurringSave)
	s.routeByParam(post, "/dashboard/recurring/:id/:action", "action", map[string]authz.Action{
		"pause": authz.RecurringPause, "resume": authz.RecurringPause, "trigger": authz.RecurringTrigger, "delete": authz.RecurringEdit,
	}, s.handleRecurringAction)
	s.route(get, "/dashboard/servers", authz.Read, s.handleServers)
	s.route(get, "/dashboard/queues", authz.Read, s.handleQueues)
	s.routeByParam(post, "/dashboard/queues/:name/:action", "action", map[string]authz.Action{
		"pause": authz.QueuesPause, "resume": authz.QueuesPause,
	}, s.handleQueueAction)
	s.route(get, "/dashboard/kinds", authz.Read, s.handleKinds)
	s.route(get, "/dashboard/kinds/:kind", authz.Read, s.handleKind)
	s.route(post, "/dashboard/kinds/:kind/limits", authz.LimitsManage, s.handleKindLimits)
}
